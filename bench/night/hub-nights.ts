/**
 * Issue 22 across two nights: which of quality gates and hub normalisation keeps false alarms off
 * an unseen night. Offline, from what `npm run bench:identify -- --parts engine --scores ...
 * --embeddings ...` wrote for each night (the engine does not run again):
 *
 *   npx tsx bench/night/hub-nights.ts --a /tmp/nights/night1 --b /tmp/nights/night2 [--target-fpir 0.01]
 *
 * where <night> is the bench's --out folder (truth.json) and <night>-scores.jsonl /
 * <night>-emb.json its --scores / --embeddings files. Both ways (calibrate on a, check on b; then
 * b, a), for each configuration:
 *   - gates: open, or the gates picked on the calibration night (fewest non-face and duplicate
 *     boxes named, then the most faces identified, at the shipped threshold);
 *   - normalisation: off, or per-person offsets (cohort-normalisation.ts) from a cohort of the
 *     calibration night's unmatched detections (the faces the plain shipped rule named nobody: what
 *     a deployment has from an earlier night, truth unknown); on the check night the offsets of its
 *     own gallery are computed from that same earlier cohort;
 *   - the threshold: shipped, or calibrated on the calibration night's strangers for the target FPIR
 *     (calibration.ts, as `facepipe calibrate` picks it), with the same gates and offsets.
 * Prints per check night what an operator sees (night-metrics.ts): non-face boxes named, duplicate
 * boxes named, FPIR, TPIR, the most false alarms on one person; the last line is one JSON object.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { FACE_MODEL } from '../../src/engine/face-model.js';
import { faceDistance } from '../../src/engine/face-distance.js';
import { calibrateThreshold, type MatedProbe, type ScoredProbe } from '../../src/identification/calibration.js';
import { entryOffsets, scoreAgainstCohort } from '../../src/identification/cohort-normalisation.js';
import {
  bestPerPerson,
  type DecisionRule,
  identificationScore,
  identifyFace,
  type PersonMatch,
} from '../../src/identification/identification-rule.js';
import { failedGates, OPEN_GATES, type QualityGates } from '../../src/identification/quality-gates.js';
import { optionsOrExit, parseOptions } from '../bench-options.js';
import { type NightTruth, withDuplicateIdentities } from './build-night.js';
import { type DetectedSnapshot, nightMetrics, type NightMetrics, type ScoredFace } from './night-metrics.js';

const options = optionsOrExit('hub-nights', () =>
  parseOptions(
    {
      a: { type: 'string' },
      b: { type: 'string' },
      'target-fpir': { type: 'string', default: '0.01' },
    },
    z.object({ a: z.string().min(1), b: z.string().min(1), 'target-fpir': z.coerce.number().gt(0).lt(1) }),
  ),
);

/** Persons kept per face: the rule's five, and room for offsets to reorder them. */
const KEPT = 30;
const RULE: DecisionRule = { ...FACE_MODEL.identification, maxDistance: FACE_MODEL.threshold };

interface Night {
  name: string;
  truth: NightTruth;
  faces: ScoredFace[];
  /** Per face: the closest KEPT persons (brute force over the night's gallery). */
  hits: PersonMatch[][];
  gallery: Array<{ personId: string; embedding: Float32Array }>;
  embeddings: Float32Array[];
}

async function loadNight(out: string): Promise<Night> {
  const truth = await withDuplicateIdentities(
    JSON.parse(await readFile(`${out}/truth.json`, 'utf8')) as NightTruth,
    out,
  );
  const faces = (await readFile(`${out}-scores.jsonl`, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ScoredFace);
  const emb = JSON.parse(await readFile(`${out}-emb.json`, 'utf8')) as {
    gallery: Array<{ personId: string; embedding: number[] }>;
    faces: number[][];
  };
  if (emb.faces.length !== faces.length)
    throw new Error(`${out}: ${faces.length} scored faces, ${emb.faces.length} embeddings`);
  const gallery = emb.gallery.map((g) => ({ personId: g.personId, embedding: Float32Array.from(g.embedding) }));
  const embeddings = emb.faces.map((e) => Float32Array.from(e));
  const hits = embeddings.map((e) =>
    bestPerPerson(
      gallery.map((g) => ({ personId: g.personId, faceId: g.personId, distance: faceDistance(e, g.embedding) })),
      KEPT,
    ),
  );
  return { name: out, truth, faces, hits, gallery, embeddings };
}

interface Config {
  gates: QualityGates;
  offsets?: ReadonlyMap<string, number>;
  threshold: number;
}

const gated = (f: ScoredFace) => ({
  score: f.detectorScore ?? 1,
  quality: f.quality ?? { size: 1e4, blur: 0, pose: 0 },
});

function decide(night: Night, c: Config): Array<string | null> {
  const rule: DecisionRule = { ...RULE, threshold: c.threshold, gates: c.gates, entryOffsets: c.offsets };
  return night.faces.map((f, i) => identifyFace(night.hits[i], 5, rule, gated(f)).personId);
}

function metrics(night: Night, named: Array<string | null>): NightMetrics {
  const byKey = new Map<string, DetectedSnapshot>();
  night.faces.forEach((f, i) => {
    const s = byKey.get(f.key) ?? byKey.set(f.key, { key: f.key, faces: [] }).get(f.key)!;
    s.faces.push({ box: f.box, personId: named[i] });
  });
  return nightMetrics(night.truth, [...byKey.values()]);
}

/** The rule's score and closest distance of a face with offsets and gates (gated out: never named). */
function probe(night: Night, i: number, c: Omit<Config, 'threshold'>): ScoredProbe {
  if (failedGates(gated(night.faces[i]), c.gates).length > 0) return { score: null };
  const hits = c.offsets?.size
    ? night.hits[i].map((h) => ({ ...h, distance: h.distance + (c.offsets!.get(h.personId) ?? 0) }))
    : night.hits[i];
  const ranked = bestPerPerson(hits, 5);
  return { score: identificationScore(ranked, RULE) ?? null, distance: ranked[0]?.distance };
}

function calibrate(night: Night, c: Omit<Config, 'threshold'>): number {
  const strangers: ScoredProbe[] = [];
  const mated: MatedProbe[] = [];
  night.faces.forEach((f, i) => {
    if (f.enrolled === false) strangers.push(probe(night, i, c));
    else if (f.enrolled === true)
      mated.push({ ...probe(night, i, c), rank1: night.hits[i][0]?.personId === f.truthPersonId });
  });
  return calibrateThreshold(strangers, options['target-fpir'], RULE, mated).threshold;
}

/** The gates that name the fewest non-face and duplicate boxes on this night, then identify the most. */
function pickGates(night: Night): QualityGates {
  let best: { gates: QualityGates; junk: number; identified: number } | undefined;
  for (const minDetectorScore of [0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7])
    for (const minSize of [0, 40, 50])
      for (const maxBlur of [1, 0.8, 0.7, 0.6, 0.5])
        for (const maxPose of [1, 0.8, 0.6]) {
          const gates = { minDetectorScore, minSize, maxBlur, maxPose };
          const m = metrics(night, decide(night, { gates, threshold: RULE.threshold }));
          const junk = m.noFaceBoxesNamed + m.duplicateBoxesNamed;
          if (!best || junk < best.junk || (junk === best.junk && m.identified > best.identified))
            best = { gates, junk, identified: m.identified };
        }
  return best!.gates;
}

/** The calibration night's unmatched detections under the plain shipped rule: the deployment's own junk. */
function unmatched(night: Night): Float32Array[] {
  const named = decide(night, { gates: OPEN_GATES, threshold: RULE.threshold });
  return night.embeddings.filter((_, i) => named[i] === null);
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const rows: unknown[] = [];
const [n1, n2] = await Promise.all([loadNight(options.a), loadNight(options.b)]);
for (const [cal, check] of [
  [n1, n2],
  [n2, n1],
] as const) {
  const cohort = unmatched(cal);
  const offsetsCal = entryOffsets(scoreAgainstCohort(cal.gallery, cohort));
  const scoresCheck = scoreAgainstCohort(check.gallery, cohort);
  const offsetsCheck = entryOffsets(scoresCheck);
  const gates = pickGates(cal);
  console.log(
    `calibrate on ${cal.name}, check on ${check.name}: cohort ${cohort.length} unmatched detections of the calibration night; gates picked ${JSON.stringify(gates)}; hubs of the check gallery by that cohort: ${scoresCheck.hubs
      .slice(0, 5)
      .map((h) => `${h.personId} ${h.hits}`)
      .join(', ')}`,
  );
  for (const [label, g, norm] of [
    ['plain', OPEN_GATES, false],
    ['gates', gates, false],
    ['normalised', OPEN_GATES, true],
    ['gates+normalised', gates, true],
  ] as const) {
    for (const thresholdKind of ['shipped', 'calibrated'] as const) {
      const threshold =
        thresholdKind === 'shipped'
          ? RULE.threshold
          : calibrate(cal, { gates: g, offsets: norm ? offsetsCal : undefined });
      const m = metrics(check, decide(check, { gates: g, offsets: norm ? offsetsCheck : undefined, threshold }));
      const top = m.falseAlarmsByPerson[0];
      console.log(
        `  ${label.padEnd(17)} ${thresholdKind.padEnd(10)} t=${threshold.toFixed(4)}: non-face named ${m.noFaceBoxesNamed}/${m.noFaceBoxes}, duplicates named ${m.duplicateBoxesNamed}/${m.duplicateBoxes}, FPIR ${pct(m.fpir)} (${m.strangersNamed}/${m.strangerFaces}), TPIR ${pct(m.tpir)} (${m.identified}/${m.enrolledFaces}), false alarms ${m.falseAlarms}, most on one person ${top ? `${top.personId} ${top.falseAlarms}` : 0}`,
      );
      rows.push({
        calibrate: cal.name,
        check: check.name,
        config: label,
        threshold: thresholdKind,
        value: Number(threshold.toFixed(4)),
        gates: g,
        noFaceNamed: m.noFaceBoxesNamed,
        duplicatesNamed: m.duplicateBoxesNamed,
        fpir: Number(m.fpir.toFixed(4)),
        strangersNamed: m.strangersNamed,
        tpir: Number(m.tpir.toFixed(4)),
        falseAlarms: m.falseAlarms,
        maxPerPerson: top?.falseAlarms ?? 0,
      });
    }
  }
}
console.log(JSON.stringify({ targetFpir: options['target-fpir'], rows }));
