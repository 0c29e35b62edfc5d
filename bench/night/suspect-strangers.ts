/**
 * Label noise among a night's strangers: "strangers" who are in fact an enrolled person (the same
 * person under two LFW names, or the same photo filed twice). No threshold can refuse such a face
 * without refusing the enrolled person too, so they make a low FPIR target unreachable; they are
 * found here, checked by eye, and listed in bench/night/duplicate-identities.ts.
 *
 *   npx tsx bench/night/suspect-strangers.ts --night reports/night --scores reports/night-scores.jsonl [--sample 30]
 *   (--sample 0: step 1 only, no engine)
 *
 * 1. The level, from the night itself: the distance of every detected enrolled face to its own
 *    person (rank 1 right), i.e. the same person in ANOTHER photo, degraded as the night degrades
 *    faces. A stranger closer to an enrolled person than the 1st percentile of those is suspect.
 * 2. For each suspect, the two LFW photos as they are (the stranger's source, the enrolled
 *    person's gallery photo), embedded whole (the face the night builder picks: the central one),
 *    next to two references measured the same way: a photo against a copy of itself degraded like
 *    the night's faces (same photo), and the enrolled faces' own source and gallery photos (same
 *    person, another photo). Prints both image paths to look at.
 * Never a rule applied to the nights: a stranger close to the gallery is what the benchmark is
 * for, only one confirmed by eye to be an enrolled person goes on the list.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { FaceEngine } from '../../src/engine/face-engine.js';
import type { ImageAnalysis } from '../../src/engine/engine-types.js';
import { prng } from '../../test/support/synthetic-embeddings.js';
import { integer, optionsOrExit, parseOptions } from '../bench-options.js';
import { LFW_DIR, type NightTruth } from './build-night.js';
import { pairDetections, type ScoredFace } from './night-metrics.js';

const options = optionsOrExit('suspect-strangers', () =>
  parseOptions(
    {
      night: { type: 'string', default: 'reports/night' },
      scores: { type: 'string', default: 'reports/night-scores.jsonl' },
      sample: { type: 'string', default: '30' },
      threads: { type: 'string', default: '2' },
    },
    z.object({ night: z.string().min(1), scores: z.string().min(1), sample: integer(0), threads: integer(1) }),
  ),
);

type Face = ImageAnalysis['faces'][number];

/** The face containing the image centre (the largest such), else the one nearest to it: as the night builder picks. */
function centralFace(faces: readonly Face[], width: number, height: number): Face | undefined {
  const cx = width / 2;
  const cy = height / 2;
  const inside = faces.filter(
    (f) => f.box.x <= cx && cx <= f.box.x + f.box.width && f.box.y <= cy && cy <= f.box.y + f.box.height,
  );
  if (inside.length > 0)
    return inside.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
  const d = (f: Face) => Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy);
  return faces.reduce<Face | undefined>((a, b) => (a === undefined || d(b) < d(a) ? b : a), undefined);
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

const quantile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(p * sorted.length)))];
const f3 = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));

const nightDir = path.resolve(options.night);
const truth = JSON.parse(await readFile(path.join(nightDir, 'truth.json'), 'utf8')) as NightTruth;
const scored = (await readFile(options.scores, 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as ScoredFace);

// The truth face (its LFW source) of each scored detection.
const bySnapshot = new Map(truth.snapshots.map((s) => [s.key, s]));
const scoredByKey = new Map<string, ScoredFace[]>();
for (const face of scored) scoredByKey.set(face.key, [...(scoredByKey.get(face.key) ?? []), face]);
const sourceOf = new Map<ScoredFace, string>();
for (const [key, faces] of scoredByKey) {
  const snapshot = bySnapshot.get(key);
  if (!snapshot) continue;
  const truthOf = pairDetections(
    snapshot.faces.map((f) => f.box),
    faces.map((f) => f.box),
  );
  faces.forEach((face, d) => {
    if (truthOf[d] !== -1) sourceOf.set(face, snapshot.faces[truthOf[d]].source);
  });
}

// 1. The level: enrolled faces' distance to their own person.
const mated = scored.filter((f) => f.enrolled === true && f.matches[0]?.personId === f.truthPersonId);
const ownDistances = mated.map((f) => f.matches[0].distance).sort((a, b) => a - b);
const level = quantile(ownDistances, 0.01);
const strangers = scored.filter((f) => f.enrolled === false && f.matches.length > 0);
const suspects = strangers
  .filter((f) => f.matches[0].distance < level)
  .sort((a, b) => a.matches[0].distance - b.matches[0].distance);
console.log(
  `night ${nightDir}: enrolled faces at their own person (${ownDistances.length}): p1 ${f3(level)}, p5 ${f3(quantile(ownDistances, 0.05))}, median ${f3(quantile(ownDistances, 0.5))}; strangers ${strangers.length}, closer than p1: ${suspects.length}`,
);

// 2. The raw photos.
const galleryPhoto = new Map<string, string>();
for (const person of await readdir(path.join(nightDir, 'gallery')))
  galleryPhoto.set(person, `${person}/${(await readdir(path.join(nightDir, 'gallery', person)))[0]}`);

if (options.sample === 0) {
  // Without the engine: the suspects and their photos only.
  for (const face of suspects)
    console.log(
      `  ${face.key} stranger ${sourceOf.get(face) ?? '?'} -> ${face.matches[0].personId} at ${face.matches[0].distance.toFixed(3)} (next ${f3(face.matches[1]?.distance)}): ${path.join(LFW_DIR, sourceOf.get(face) ?? '')} ${path.join(LFW_DIR, galleryPhoto.get(face.matches[0].personId) ?? '')}`,
    );
  process.exit(0);
}
const engine = await FaceEngine.start({ threads: options.threads });
try {
  const embedded = new Map<string, Float32Array | null>();
  const embed = async (rel: string, bytes?: Buffer): Promise<Float32Array | null> => {
    const cacheKey = bytes ? `${rel}#degraded` : rel;
    if (embedded.has(cacheKey)) return embedded.get(cacheKey)!;
    let v: Float32Array | null = null;
    try {
      const a = await engine.analyze(bytes ? { bytes, name: cacheKey } : path.join(LFW_DIR, rel));
      v = centralFace(a.faces, a.width, a.height)?.embedding ?? null;
    } catch {
      v = null;
    }
    embedded.set(cacheKey, v);
    return v;
  };
  /** The photo with its face scaled to 60 px wide, blurred (sigma 1) and saved at JPEG quality 60, on a grey canvas. */
  const degraded = async (rel: string): Promise<Buffer | undefined> => {
    const a = await engine.analyze(path.join(LFW_DIR, rel));
    const face = centralFace(a.faces, a.width, a.height);
    if (!face) return undefined;
    const scale = 60 / face.box.width;
    const small = await sharp(path.join(LFW_DIR, rel))
      .resize(Math.round(a.width * scale), Math.round(a.height * scale), { kernel: 'lanczos3' })
      .blur(1)
      .jpeg({ quality: 60 })
      .toBuffer();
    return sharp({ create: { width: 250, height: 250, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite([{ input: small, gravity: 'centre' }])
      .jpeg({ quality: 95 })
      .toBuffer();
  };

  const rand = prng(11);
  const pick = <T>(items: readonly T[], n: number) =>
    items.length <= n ? [...items] : Array.from({ length: n }, () => items[Math.floor(rand() * items.length)]);

  // Reference: same photo, degraded.
  const samePhoto: number[] = [];
  for (const rel of pick([...galleryPhoto.values()], options.sample)) {
    const copy = await degraded(rel);
    const [a, b] = [await embed(rel), copy ? await embed(rel, copy) : null];
    if (a && b) samePhoto.push(distance(a, b));
  }
  samePhoto.sort((a, b) => a - b);
  // Reference: same person, another photo (enrolled faces' source against their gallery photo).
  const samePerson: number[] = [];
  for (const face of pick(mated, options.sample)) {
    const source = sourceOf.get(face);
    const gallery = galleryPhoto.get(face.truthPersonId!);
    if (!source || !gallery) continue;
    const [a, b] = [await embed(source), await embed(gallery)];
    if (a && b) samePerson.push(distance(a, b));
  }
  samePerson.sort((a, b) => a - b);
  console.log(
    `raw photos: same photo degraded (${samePhoto.length}): median ${f3(quantile(samePhoto, 0.5))}, max ${f3(samePhoto.at(-1))}; same person, another photo (${samePerson.length}): min ${f3(samePerson[0])}, median ${f3(quantile(samePerson, 0.5))}`,
  );

  for (const face of suspects) {
    const source = sourceOf.get(face);
    const person = face.matches[0].personId;
    const gallery = galleryPhoto.get(person);
    const raw =
      source && gallery
        ? await Promise.all([embed(source), embed(gallery)]).then(([a, b]) => (a && b ? distance(a, b) : undefined))
        : undefined;
    console.log(
      `  ${face.key} stranger ${source ?? '?'} -> ${person} at ${face.matches[0].distance.toFixed(3)} in the night (next ${f3(face.matches[1]?.distance)}); raw photos ${f3(raw)}: ${path.join(LFW_DIR, source ?? '')} ${path.join(LFW_DIR, gallery ?? '')}`,
    );
  }
} finally {
  await engine.close();
}
