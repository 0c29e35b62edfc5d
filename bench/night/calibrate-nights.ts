/**
 * Calibration across nights: the 1:N threshold picked on one night's strangers
 * (src/identification/calibration.ts, as `facepipe calibrate` picks it), then TPIR/FPIR at that
 * threshold on that night and on another one. Reads the per-face scores `npm run bench:identify`
 * writes (--scores); rates are over the DETECTED faces of each kind (a face the detector missed is
 * neither a probe nor a stranger here).
 *
 *   npx tsx bench/night/calibrate-nights.ts --calibrate night1-scores.jsonl --check night2-scores.jsonl [--target-fpir 0.01]
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { FACE_MODEL } from '../../src/engine/face-model.js';
import {
  calibrateThreshold,
  identificationRates,
  type MatedProbe,
  type ScoredProbe,
} from '../../src/identification/calibration.js';
import { identificationScore } from '../../src/identification/identification-rule.js';
import { optionsOrExit, parseOptions } from '../bench-options.js';
import type { ScoredFace } from './night-metrics.js';

const options = optionsOrExit('calibrate-nights', () =>
  parseOptions(
    {
      calibrate: { type: 'string' },
      check: { type: 'string' },
      'target-fpir': { type: 'string', default: '0.01' },
    },
    z.object({
      calibrate: z.string().min(1),
      check: z.string().min(1),
      'target-fpir': z.coerce.number().gt(0).lt(1),
    }),
  ),
);

const rule = { ...FACE_MODEL.identification, maxDistance: FACE_MODEL.threshold };

async function probes(file: string): Promise<{ strangers: ScoredProbe[]; mated: MatedProbe[] }> {
  const faces = (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ScoredFace);
  const strangers: ScoredProbe[] = [];
  const mated: MatedProbe[] = [];
  for (const face of faces) {
    if (face.enrolled === null) continue; // a false detection
    const matches = face.matches.map((m) => ({ ...m, faceId: '' }));
    const probe = { score: identificationScore(matches, rule) ?? null, distance: matches[0]?.distance };
    if (face.enrolled) mated.push({ ...probe, rank1: matches[0]?.personId === face.truthPersonId });
    else strangers.push(probe);
  }
  return { strangers, mated };
}

const target = options['target-fpir'];
const first = await probes(options.calibrate);
const second = await probes(options.check);
const calibrated = calibrateThreshold(first.strangers, target, rule, first.mated);
const atThreshold = { ...rule, threshold: calibrated.threshold };
const shipped = { ...rule };
const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const line = (name: string, r: ReturnType<typeof identificationRates>) =>
  `${name}: TPIR ${pct(r.tpir)} (${r.mated} enrolled faces detected), FPIR ${pct(r.fpir)} (${r.strangersNamed}/${r.strangers} strangers named)`;
console.log(
  `calibrated on ${options.calibrate}: threshold ${calibrated.threshold.toFixed(4)} for FPIR <= ${pct(target)} (margin weight ${rule.marginWeight}, distance cap ${rule.maxDistance})`,
);
console.log(line('  night (calibration)', identificationRates(first.strangers, first.mated, atThreshold)));
console.log(line('  night (check)      ', identificationRates(second.strangers, second.mated, atThreshold)));
console.log(`shipped rule (threshold ${shipped.threshold}):`);
console.log(line('  night (calibration)', identificationRates(first.strangers, first.mated, shipped)));
console.log(line('  night (check)      ', identificationRates(second.strangers, second.mated, shipped)));
console.log(
  JSON.stringify({
    targetFpir: target,
    threshold: calibrated.threshold,
    calibration: identificationRates(first.strangers, first.mated, atThreshold),
    check: identificationRates(second.strangers, second.mated, atThreshold),
    shipped: {
      calibration: identificationRates(first.strangers, first.mated, shipped),
      check: identificationRates(second.strangers, second.mated, shipped),
    },
  }),
);
