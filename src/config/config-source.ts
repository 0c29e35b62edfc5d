import { redactUrl } from '../util/redact-url.js';
import { z } from 'zod';

/** A setting that is not valid; the message names the variable or flag and the allowed values. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * An integer setting >= `min` given as a string (env or flag); `what` is the allowed form for the
 * message ("expected <what>"). Shared so every integer setting is read and reported alike.
 */
export const intSetting = (min: number, what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `expected ${what}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `expected ${what}` }),
    );

/** Where a setting comes from: environment variable and CLI flag. */
export interface SettingSource {
  env: string;
  flag: string;
}

/**
 * Each setting's sources by the one naming rule (`minFaceSize`: FACEPIPE_MIN_FACE_SIZE and
 * --min-face-size), so that no setting's names stray from it; `env` gives the exceptions.
 */
export function settingsNamedAfter<K extends string>(
  keys: readonly K[],
  env: Partial<Record<K, string>> = {},
): Record<K, SettingSource> {
  return Object.fromEntries(
    keys.map((key) => {
      const words = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return [key, { env: env[key] ?? `FACEPIPE_${words.replaceAll('-', '_').toUpperCase()}`, flag: `--${words}` }];
    }),
  ) as Record<K, SettingSource>;
}

/**
 * Reads every setting in `settings` from its CLI flag, else its environment variable (an empty
 * variable counts as unset), else `defaults` (if given; otherwise it stays unset), and validates
 * them all with `schema`. Throws a ConfigError listing every bad value, each naming where it came
 * from (flag, variable or "default") and the schema's message.
 */
export function loadSettings<K extends string, S extends z.ZodType>(
  schema: S,
  settings: Record<K, SettingSource>,
  flags: Partial<Record<K, unknown>>,
  env: NodeJS.ProcessEnv,
  defaults?: Partial<Record<K, string>>,
): z.output<S> {
  const raw: Partial<Record<K, string>> = { ...defaults };
  const source: Partial<Record<K, string>> = {};
  for (const key of Object.keys(settings) as K[]) {
    if (defaults) source[key] = 'default';
    const { env: name, flag } = settings[key];
    const envValue = env[name] === '' ? undefined : env[name];
    if (flags[key] !== undefined)
      [raw[key], source[key]] = [String(flags[key]), flag]; // e.g. --flip-tta gives a boolean
    else if (envValue !== undefined) [raw[key], source[key]] = [envValue, name];
  }

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path[0] as K;
        // A URL setting may carry a password (REDIS_URL): never echoed.
        return `invalid ${source[key]} ${JSON.stringify(redactUrl(raw[key] ?? ''))}: ${issue.message}`;
      }),
    );
  }
  return parsed.data;
}
