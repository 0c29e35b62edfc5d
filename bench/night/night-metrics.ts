/**
 * Metrics of one identification run over the synthetic night (bench/night/build-night.ts).
 * Pure functions: truth and detections in, numbers out.
 *
 * - A truth face is found when a detected box overlaps it with IoU >= 0.3; truth faces and
 *   detections are paired greedily, highest IoU first, one to one, within each snapshot.
 * - TPIR: enrolled-person truth faces whose paired detection was named as that person, over all
 *   enrolled-person truth faces (undetected ones are misses).
 * - FPIR: stranger truth faces whose paired detection was named as anyone, over all stranger truth
 *   faces.
 * - False detections: detections paired with no truth face; `falseDetectionsNamed` of them got a name.
 *   They are of two kinds: a box that overlaps no truth face with IoU >= 0.3 (no face: background,
 *   or a face cut in part) and a second box of a truth face another detection was paired with
 *   (a duplicate, e.g. from overlapping tiles).
 * - False alarms, what an operator would see in the morning (issue 22): strangers named + no-face
 *   boxes named + duplicate boxes named; and per enrolled person, how often they were named in one.
 */
import type { Box } from '../../src/engine/types.js';
import { identificationScore, type IdentificationRule } from '../../src/identification/identification-rule.js';
import type { NightTruth, TruthFace } from './build-night.js';

export const MIN_IOU = 0.3;

/** What a result JSON file holds, reduced to what the metrics need. */
export interface DetectedSnapshot {
  /** The snapshot's key relative to the night folder, as in truth.json. */
  key: string;
  faces: Array<{ box: Box; personId: string | null }>;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Greedy one-to-one pairing of truth boxes and detected boxes by IoU (>= minIou), highest first.
 * Returns for each detection the index of its truth face, or -1.
 */
export function pairDetections(truth: readonly Box[], detected: readonly Box[], minIou = MIN_IOU): number[] {
  const pairs: Array<{ t: number; d: number; iou: number }> = [];
  for (let t = 0; t < truth.length; t++) {
    for (let d = 0; d < detected.length; d++) {
      const v = iou(truth[t], detected[d]);
      if (v >= minIou) pairs.push({ t, d, iou: v });
    }
  }
  pairs.sort((a, b) => b.iou - a.iou || a.t - b.t || a.d - b.d);
  const truthOf = new Array<number>(detected.length).fill(-1);
  const taken = new Set<number>();
  for (const { t, d } of pairs) {
    if (truthOf[d] !== -1 || taken.has(t)) continue;
    truthOf[d] = t;
    taken.add(t);
  }
  return truthOf;
}

/** Face-width buckets for detection recall by size. */
export const SIZE_BUCKETS: ReadonlyArray<[number, number]> = [
  [40, 59],
  [60, 79],
  [80, 99],
  [100, 119],
];

export interface NightMetrics {
  snapshots: number;
  /** Truth snapshots without a detected entry (e.g. no result file): all their faces count as missed. */
  missingSnapshots: number;
  truthFaces: number;
  enrolledFaces: number;
  strangerFaces: number;
  found: number;
  detectionRecall: number;
  /** Enrolled-person faces named as the right person. */
  identified: number;
  /** Enrolled-person faces named as someone else. */
  misidentified: number;
  tpir: number;
  /** Stranger faces named as anyone. */
  strangersNamed: number;
  fpir: number;
  detections: number;
  falseDetections: number;
  falseDetectionsNamed: number;
  /** Detections overlapping no truth face with IoU >= MIN_IOU, and those named. */
  noFaceBoxes: number;
  noFaceBoxesNamed: number;
  /** Second (third...) boxes of a truth face already paired with another detection, and those named. */
  duplicateBoxes: number;
  duplicateBoxesNamed: number;
  /** strangersNamed + noFaceBoxesNamed + duplicateBoxesNamed. */
  falseAlarms: number;
  /** Per person named in a false alarm, how often (and of which kind); most first, then by id. */
  falseAlarmsByPerson: FalseAlarmsOfPerson[];
  /** Detection recall per truth face width bucket (px, inclusive). */
  recallBySize: Array<{ width: string; faces: number; found: number; recall: number }>;
  /** Detection recall on blurred / greyscale snapshots. */
  recallBlurred: number;
  recallGrey: number;
}

export interface FalseAlarmsOfPerson {
  personId: string;
  falseAlarms: number;
  strangers: number;
  noFaceBoxes: number;
  duplicateBoxes: number;
}

export function nightMetrics(truth: NightTruth, detected: readonly DetectedSnapshot[]): NightMetrics {
  const byKey = new Map(detected.map((s) => [s.key, s]));
  let missingSnapshots = 0;
  let truthFaces = 0;
  let enrolledFaces = 0;
  let strangerFaces = 0;
  let found = 0;
  let identified = 0;
  let misidentified = 0;
  let strangersNamed = 0;
  let detections = 0;
  let falseDetections = 0;
  let falseDetectionsNamed = 0;
  let noFaceBoxes = 0;
  let noFaceBoxesNamed = 0;
  let duplicateBoxes = 0;
  let duplicateBoxesNamed = 0;
  const byPerson = new Map<string, FalseAlarmsOfPerson>();
  const falseAlarm = (personId: string, kind: 'strangers' | 'noFaceBoxes' | 'duplicateBoxes') => {
    const p = byPerson.get(personId) ?? { personId, falseAlarms: 0, strangers: 0, noFaceBoxes: 0, duplicateBoxes: 0 };
    p.falseAlarms++;
    p[kind]++;
    byPerson.set(personId, p);
  };
  const sizes = SIZE_BUCKETS.map(() => ({ faces: 0, found: 0 }));
  const blurred = { faces: 0, found: 0 };
  const grey = { faces: 0, found: 0 };

  for (const snapshot of truth.snapshots) {
    const got = byKey.get(snapshot.key);
    if (!got) missingSnapshots++;
    const faces = got?.faces ?? [];
    const truthOf = pairDetections(
      snapshot.faces.map((f) => f.box),
      faces.map((f) => f.box),
    );
    const detectionOf = new Map<number, number>();
    truthOf.forEach((t, d) => {
      if (t !== -1) detectionOf.set(t, d);
    });
    detections += faces.length;
    for (let d = 0; d < faces.length; d++) {
      if (truthOf[d] !== -1) continue;
      falseDetections++;
      const named = faces[d].personId;
      if (named !== null) falseDetectionsNamed++;
      // Unpaired: a duplicate when it overlaps some truth face enough (that face went to another box).
      const duplicate = snapshot.faces.some((t) => iou(t.box, faces[d].box) >= MIN_IOU);
      if (duplicate) duplicateBoxes++;
      else noFaceBoxes++;
      if (named === null) continue;
      if (duplicate) duplicateBoxesNamed++;
      else noFaceBoxesNamed++;
      falseAlarm(named, duplicate ? 'duplicateBoxes' : 'noFaceBoxes');
    }
    snapshot.faces.forEach((face: TruthFace, t) => {
      truthFaces++;
      const d = detectionOf.get(t);
      const hit = d !== undefined;
      if (hit) found++;
      const bucket = SIZE_BUCKETS.findIndex(
        ([lo, hi]) => Math.round(face.box.width) >= lo && Math.round(face.box.width) <= hi,
      );
      if (bucket !== -1) {
        sizes[bucket].faces++;
        if (hit) sizes[bucket].found++;
      }
      for (const [on, tally] of [
        [snapshot.blur > 0, blurred],
        [snapshot.grey, grey],
      ] as const) {
        if (!on) continue;
        tally.faces++;
        if (hit) tally.found++;
      }
      const named = hit ? faces[d].personId : null;
      if (face.enrolled) {
        enrolledFaces++;
        if (named === face.personId) identified++;
        else if (named !== null) misidentified++;
      } else {
        strangerFaces++;
        if (named !== null) {
          strangersNamed++;
          falseAlarm(named, 'strangers');
        }
      }
    });
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    snapshots: truth.snapshots.length,
    missingSnapshots,
    truthFaces,
    enrolledFaces,
    strangerFaces,
    found,
    detectionRecall: ratio(found, truthFaces),
    identified,
    misidentified,
    tpir: ratio(identified, enrolledFaces),
    strangersNamed,
    fpir: ratio(strangersNamed, strangerFaces),
    detections,
    falseDetections,
    falseDetectionsNamed,
    noFaceBoxes,
    noFaceBoxesNamed,
    duplicateBoxes,
    duplicateBoxesNamed,
    falseAlarms: strangersNamed + noFaceBoxesNamed + duplicateBoxesNamed,
    falseAlarmsByPerson: [...byPerson.values()].sort(
      (a, b) => b.falseAlarms - a.falseAlarms || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0),
    ),
    recallBySize: SIZE_BUCKETS.map(([lo, hi], i) => ({
      width: `${lo}-${hi}`,
      faces: sizes[i].faces,
      found: sizes[i].found,
      recall: ratio(sizes[i].found, sizes[i].faces),
    })),
    recallBlurred: ratio(blurred.found, blurred.faces),
    recallGrey: ratio(grey.found, grey.faces),
  };
}

/** One detected face of the night with its top per-person matches (a line of night-scores.jsonl). */
export interface ScoredFace {
  key: string;
  box: Box;
  /** The paired truth face's person; null for a stranger's face and for a false detection. */
  truthPersonId: string | null;
  /** Whether the paired truth face's person is enrolled; null for a false detection. */
  enrolled: boolean | null;
  /** Top per-person matches, ascending distance. */
  matches: Array<{ personId: string; distance: number }>;
  /** The detector's score and the face's quality (issue 22's gates are measured on them); absent in older files. */
  detectorScore?: number;
  quality?: { size: number; blur: number; pose: number };
}

export interface SweepPoint {
  marginWeight: number;
  /** Target FPIR (at most). */
  targetFpir: number;
  /** A face is named when its score is strictly below this (the lowest stranger score not allowed). */
  scoreBelow: number;
  fpir: number;
  tpir: number;
}

/**
 * For each margin weight and target FPIR: the most permissive threshold whose FPIR on this night
 * stays at or under the target, and the TPIR it gives. Denominators are all truth faces of each
 * kind (pass the metrics' enrolledFaces / strangerFaces), so undetected faces count as misses.
 * This is tuned on the night it is measured on: optimistic.
 */
export function sweepRule(
  faces: readonly ScoredFace[],
  totals: { enrolledFaces: number; strangerFaces: number },
  marginWeights: readonly number[],
  targets: readonly number[],
): SweepPoint[] {
  const out: SweepPoint[] = [];
  for (const marginWeight of marginWeights) {
    const rule: IdentificationRule = { threshold: 0, marginWeight };
    const strangerScores: number[] = [];
    const genuine: number[] = []; // scores of enrolled faces whose top person is right
    for (const face of faces) {
      const score = identificationScore(
        face.matches.map((m) => ({ ...m, faceId: '' })),
        rule,
      );
      if (score === undefined || face.enrolled === null) continue;
      if (face.enrolled) {
        if (face.matches[0]?.personId === face.truthPersonId) genuine.push(score);
      } else strangerScores.push(score);
    }
    strangerScores.sort((a, b) => a - b);
    for (const targetFpir of targets) {
      const allowed = Math.floor(targetFpir * totals.strangerFaces + 1e-9);
      const scoreBelow = allowed < strangerScores.length ? strangerScores[allowed] : Infinity;
      const named = strangerScores.filter((s) => s < scoreBelow).length;
      const hits = genuine.filter((s) => s < scoreBelow).length;
      out.push({
        marginWeight,
        targetFpir,
        scoreBelow,
        fpir: totals.strangerFaces === 0 ? 0 : named / totals.strangerFaces,
        tpir: totals.enrolledFaces === 0 ? 0 : hits / totals.enrolledFaces,
      });
    }
  }
  return out;
}
