/**
 * A scores file (`npm run bench:identify -- --scores`) written before a correction of a night's
 * labels (bench/night/duplicate-identities.ts), relabelled without running the engine again: the
 * detections and their matches do not depend on the labels, only `truthPersonId` and `enrolled` do.
 * Each scored face is paired again with the night's truth (as the bench pairs them) and takes that
 * truth face's labels.
 *
 *   npx tsx bench/night/relabel-scores.ts --night reports/night --scores reports/night-scores.jsonl --out relabelled.jsonl
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { optionsOrExit, parseOptions } from '../bench-options.js';
import { type NightTruth, withDuplicateIdentities } from './build-night.js';
import { pairDetections, type ScoredFace } from './night-metrics.js';

const options = optionsOrExit('relabel-scores', () =>
  parseOptions(
    { night: { type: 'string' }, scores: { type: 'string' }, out: { type: 'string' } },
    z.object({ night: z.string().min(1), scores: z.string().min(1), out: z.string().min(1) }),
  ),
);

const night = path.resolve(options.night);
const truth = await withDuplicateIdentities(
  JSON.parse(await readFile(path.join(night, 'truth.json'), 'utf8')) as NightTruth,
  night,
);
const faces = (await readFile(options.scores, 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as ScoredFace);
const byKey = new Map<string, ScoredFace[]>();
for (const face of faces) byKey.set(face.key, [...(byKey.get(face.key) ?? []), face]);

let changed = 0;
for (const snapshot of truth.snapshots) {
  const got = byKey.get(snapshot.key) ?? [];
  const truthOf = pairDetections(
    snapshot.faces.map((f) => f.box),
    got.map((f) => f.box),
  );
  got.forEach((face, d) => {
    const t = truthOf[d] === -1 ? undefined : snapshot.faces[truthOf[d]];
    const truthPersonId = t?.enrolled ? t.personId : null;
    const enrolled = t === undefined ? null : t.enrolled;
    if (truthPersonId !== face.truthPersonId || enrolled !== face.enrolled) {
      changed++;
      console.log(
        `${face.key}: ${face.enrolled === false ? 'stranger' : face.truthPersonId} -> ${enrolled ? truthPersonId : 'stranger'}${t?.filedAs ? ` (filed as ${t.filedAs})` : ''}`,
      );
    }
    face.truthPersonId = truthPersonId;
    face.enrolled = enrolled;
  });
}
await writeFile(options.out, `${faces.map((f) => JSON.stringify(f)).join('\n')}\n`);
console.log(`${changed} of ${faces.length} scored faces relabelled; wrote ${options.out}`);
