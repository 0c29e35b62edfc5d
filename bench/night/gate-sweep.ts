/**
 * The quality gates (src/identification/quality-gates.ts) measured on a scores file of a bench
 * night (`npm run bench:identify -- --parts engine --scores ...`, which records each detection's
 * detector score and quality): per candidate gate, with the model's 1:N rule, how many false
 * detections (boxes paired with no true face: background, duplicates) and strangers are named,
 * and the TPIR it leaves. Offline: the engine does not run again.
 *
 *   npx tsx bench/night/gate-sweep.ts --scores reports/night-scores.jsonl
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { FACE_MODEL } from '../../src/engine/face-model.js';
import { identifyFace, type DecisionRule } from '../../src/identification/identification-rule.js';
import { OPEN_GATES, type QualityGates } from '../../src/identification/quality-gates.js';
import { optionsOrExit, parseOptions } from '../bench-options.js';
import type { ScoredFace } from './night-metrics.js';

const options = optionsOrExit('gate-sweep', () =>
  parseOptions({ scores: { type: 'string' } }, z.object({ scores: z.string().min(1) })),
);

const faces = (await readFile(options.scores, 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as ScoredFace)
  .filter((f) => f.detectorScore !== undefined && f.quality !== undefined);

const RULE: DecisionRule = { ...FACE_MODEL.identification, maxDistance: FACE_MODEL.threshold };

interface Row {
  gates: string;
  falseDetectionsNamed: number;
  strangersNamed: number;
  identified: number;
}

function measure(label: string, gates: QualityGates): Row {
  const row: Row = { gates: label, falseDetectionsNamed: 0, strangersNamed: 0, identified: 0 };
  for (const f of faces) {
    const hits = f.matches.map((m) => ({ ...m, faceId: m.personId }));
    const { personId } = identifyFace(hits, 5, { ...RULE, gates }, { score: f.detectorScore!, quality: f.quality! });
    if (personId === null) continue;
    if (f.enrolled === null) row.falseDetectionsNamed++;
    else if (!f.enrolled) row.strangersNamed++;
    else if (personId === f.truthPersonId) row.identified++;
  }
  return row;
}

const enrolled = faces.filter((f) => f.enrolled === true).length;
const strangers = faces.filter((f) => f.enrolled === false).length;
const falseDetections = faces.filter((f) => f.enrolled === null).length;
console.log(
  `${options.scores}: ${faces.length} detections (${enrolled} of enrolled people, ${strangers} of strangers, ${falseDetections} on no true face); rule ${JSON.stringify(FACE_MODEL.identification)}`,
);
const named = faces.filter((f) => f.enrolled === null);
console.log(
  `false detections: detector scores ${named
    .map((f) => f.detectorScore!.toFixed(2))
    .sort()
    .join(' ')}`,
);
const candidates: Array<[string, QualityGates]> = [['open', OPEN_GATES]];
for (const s of [0.35, 0.4, 0.45, 0.5, 0.6]) candidates.push([`score>=${s}`, { ...OPEN_GATES, minDetectorScore: s }]);
for (const b of [0.5, 0.6, 0.7]) candidates.push([`blur<=${b}`, { ...OPEN_GATES, maxBlur: b }]);
for (const p of [0.6, 0.8]) candidates.push([`pose<=${p}`, { ...OPEN_GATES, maxPose: p }]);
for (const s of [30, 40]) candidates.push([`size>=${s}`, { ...OPEN_GATES, minSize: s }]);
console.log('gates              false detections named  strangers named (FPIR)  identified (TPIR of detected)');
for (const [label, gates] of candidates) {
  const r = measure(label, gates);
  console.log(
    `${label.padEnd(19)}${String(r.falseDetectionsNamed).padEnd(24)}${`${r.strangersNamed} (${((100 * r.strangersNamed) / strangers).toFixed(1)}%)`.padEnd(24)}${r.identified} (${((100 * r.identified) / enrolled).toFixed(1)}%)`,
  );
}
