import { z } from 'zod';
import { DEFAULT_QUALITY_GATES, type QualityGates } from '../identification/quality-gates.js';
import { loadSettings, settingsNamedAfter, type SettingSource } from './config-source.js';

const decimal = (min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .regex(/^-?(?:\d+(?:\.\d*)?|\.\d+)$/, { error: `expected ${what}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `expected ${what}` })
        .max(max, { error: `expected ${what}` }),
    );

/**
 * The 1:N rule's settings (src/identification/identification-rule.ts). Unset, a process applies the
 * deployment's calibrated rule (`facepipe calibrate --apply`), else the model card's.
 */
export const identificationConfigSchema = z.object({
  /** Score threshold: a face is named when its score is at most this. */
  threshold: decimal(
    0,
    2,
    'a number from 0 to 2 (the rule score, a Euclidean distance less the weighted margin)',
  ).optional(),
  /** How much the margin to the runners-up counts; 0 is the plain distance threshold. */
  marginWeight: decimal(0, 10, 'a number from 0 to 10').optional(),
});

export type IdentificationConfig = z.output<typeof identificationConfigSchema>;

type Key = keyof IdentificationConfig;

export type IdentificationFlags = Partial<Record<Key, string | number>>;

export const IDENTIFICATION_SETTINGS: Record<Key, SettingSource> = {
  threshold: { env: 'FACEPIPE_IDENTIFICATION_THRESHOLD', flag: '--identification-threshold' },
  marginWeight: { env: 'FACEPIPE_MARGIN_WEIGHT', flag: '--margin-weight' },
};

/**
 * The rule settings given by flags (`identificationThreshold`, `marginWeight` as commander names
 * them) or the environment; unset ones stay undefined. Throws a ConfigError naming a bad value.
 */
export function loadIdentificationConfig(
  flags: { identificationThreshold?: string | number; marginWeight?: string | number } = {},
  env: NodeJS.ProcessEnv = process.env,
): IdentificationConfig {
  const given: IdentificationFlags = { threshold: flags.identificationThreshold, marginWeight: flags.marginWeight };
  return loadSettings(identificationConfigSchema, IDENTIFICATION_SETTINGS, given, env);
}

/**
 * The quality gates before the 1:N decision (src/identification/quality-gates.ts): a detection is
 * named only when its detector score and quality pass them. Unset ones take the shipped defaults.
 */
export const qualityGatesConfigSchema = z.object({
  gateMinDetectorScore: decimal(0, 1, "a number from 0 to 1 (the detector's score)"),
  gateMinSize: decimal(0, 10000, "a number of pixels (the face box's shorter side)"),
  gateMaxBlur: decimal(0, 1, 'a number from 0 (sharp) to 1 (flat)'),
  gateMaxPose: decimal(0, 1, 'a number from 0 (frontal) to 1 (profile)'),
});

type GateKey = keyof z.output<typeof qualityGatesConfigSchema>;

export const QUALITY_GATE_SETTINGS: Record<GateKey, SettingSource> = settingsNamedAfter([
  'gateMinDetectorScore',
  'gateMinSize',
  'gateMaxBlur',
  'gateMaxPose',
] as const);

/**
 * The quality gates from flags (`gateMinDetectorScore` ... as commander names them), the
 * environment (FACEPIPE_GATE_MIN_DETECTOR_SCORE ...), else the shipped defaults. Throws a
 * ConfigError naming a bad value.
 */
export function loadQualityGates(
  flags: Partial<Record<GateKey, string | number>> = {},
  env: NodeJS.ProcessEnv = process.env,
): QualityGates {
  const d = DEFAULT_QUALITY_GATES;
  const c = loadSettings(qualityGatesConfigSchema, QUALITY_GATE_SETTINGS, flags, env, {
    gateMinDetectorScore: String(d.minDetectorScore),
    gateMinSize: String(d.minSize),
    gateMaxBlur: String(d.maxBlur),
    gateMaxPose: String(d.maxPose),
  });
  return {
    minDetectorScore: c.gateMinDetectorScore,
    minSize: c.gateMinSize,
    maxBlur: c.gateMaxBlur,
    maxPose: c.gateMaxPose,
  };
}

/**
 * Hub normalisation (src/identification/cohort-normalisation.ts): add each person's cohort offset
 * (`facepipe gallery hubs --apply`) to the distances before the 1:N rule. Off: on two bench nights
 * it cost TPIR and, with a calibrated threshold, raised the unseen night's FPIR
 * (docs/experiments/2026-12-06-gates-and-hubs-two-nights.md).
 */
export const DEFAULT_HUB_NORMALISATION = false;

export const hubNormalisationConfigSchema = z.object({
  hubNormalisation: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'expected on or off (or true/false)' }),
    )
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
});

export const HUB_NORMALISATION_SETTINGS: Record<'hubNormalisation', SettingSource> = settingsNamedAfter([
  'hubNormalisation',
] as const);

/** Whether hub normalisation is on: --hub-normalisation, FACEPIPE_HUB_NORMALISATION, else the default. */
export function loadHubNormalisation(
  flags: { hubNormalisation?: string | boolean } = {},
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return loadSettings(hubNormalisationConfigSchema, HUB_NORMALISATION_SETTINGS, flags, env, {
    hubNormalisation: String(DEFAULT_HUB_NORMALISATION),
  }).hubNormalisation;
}
