import { z } from 'zod';
import type { EngineOptions } from '../engine/engine-types.js';
import { DETECTORS } from '../engine/face-detector.js';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/face-engine.js';
import { BACKEND_NAMES } from '../engine/tf-backend.js';
import { intSetting, loadSettings, type SettingSource, settingsNamedAfter } from './config-source.js';

/** Re-exported for existing importers of engine-config. */
export { ConfigError } from './config-source.js';

/** The one schema: raw strings (env or flags) in, typed engine settings out. */
export const engineConfigSchema = z.object({
  backend: z.enum(BACKEND_NAMES, { error: `expected one of ${BACKEND_NAMES.join(', ')}` }).optional(),
  threads: intSetting(1, 'a positive integer').optional(),
  detector: z.enum(DETECTORS, { error: `expected one of ${DETECTORS.join(', ')}` }).optional(),
  minFaceSize: intSetting(0, 'an integer >= 0 (pixels)').optional(),
  maxPixels: intSetting(1, 'a positive integer (width x height)').optional(),
  maxBatch: intSetting(1, 'a positive integer').optional(),
  maxWaitMs: intSetting(0, 'an integer >= 0 (milliseconds)').optional(),
  flipTta: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
        error: 'expected true or false (or 1/0, yes/no, on/off)',
      }),
    )
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v))
    .optional(),
  adapter: z.string().trim().min(1, { error: 'expected the folder of a trained adapter' }).optional(),
});

/** The engine settings given (env or flags), typed; unset ones keep DEFAULT_ENGINE_OPTIONS. */
export type EngineConfig = z.output<typeof engineConfigSchema>;

type Key = keyof EngineConfig;

/** Engine flags as commander hands them over: strings, or booleans for --flip-tta / --no-flip-tta. */
export type EngineFlags = { [K in Key]?: K extends 'flipTta' ? boolean | string : string };

/** Where each setting comes from: environment variable and CLI flag. */
export const ENGINE_SETTINGS: Record<Key, SettingSource> = settingsNamedAfter(
  Object.keys(engineConfigSchema.shape) as Key[],
);

/**
 * The engine's options from the environment and CLI flags (a flag wins over its variable), validated
 * once; unset settings keep DEFAULT_ENGINE_OPTIONS. Throws a ConfigError listing every bad value.
 */
export function loadEngineConfig(flags: EngineFlags = {}, env: NodeJS.ProcessEnv = process.env): EngineOptions {
  const c: EngineConfig = loadSettings(engineConfigSchema, ENGINE_SETTINGS, flags, env); // an empty variable counts as unset
  const defaults = DEFAULT_ENGINE_OPTIONS;
  return {
    backend: c.backend ?? defaults.backend,
    threads: c.threads ?? defaults.threads,
    maxBatch: c.maxBatch ?? defaults.maxBatch,
    maxWaitMs: c.maxWaitMs ?? defaults.maxWaitMs,
    maxPixels: c.maxPixels ?? defaults.maxPixels,
    ...(c.adapter === undefined ? {} : { adapter: c.adapter }),
    analyzer: {
      detector: c.detector ?? defaults.analyzer.detector,
      minFaceSize: c.minFaceSize ?? defaults.analyzer.minFaceSize,
      flipTta: c.flipTta ?? defaults.analyzer.flipTta,
    },
  };
}
