import { z } from 'zod';
import { CaptureKeyPattern, CaptureKeyPatternError } from '../results/capture-key-pattern.js';
import { canonicalTimeZone } from '../results/zoned-time.js';
import { DEFAULT_STORAGE_URL } from '../storage/open-storage.js';
import { parseS3Url } from '../storage/parse-s3-url.js';
import { storageUrlScheme } from '../storage/storage-url.js';
import { intSetting, loadSettings, type SettingSource, settingsNamedAfter } from './config-source.js';

const urlWith = (protocols: string[], what: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return protocols.includes(url.protocol) && url.hostname !== '';
        } catch {
          return false;
        }
      },
      { error: `expected ${what}` },
    );

/** The one schema of the app's settings: raw strings (env, flags, defaults) in, AppConfig out. */
export const appConfigSchema = z.object({
  /** A folder path, file:///path or s3://bucket/prefix (see openStorage). */
  storage: z
    .string()
    .trim()
    .refine(
      (value) => {
        if (value === '') return false;
        const scheme = storageUrlScheme(value);
        if (scheme === undefined || scheme === 'file') return true;
        if (scheme !== 's3') return false;
        try {
          parseS3Url(value);
          return true;
        } catch {
          return false;
        }
      },
      { error: 'expected a folder path, file:///path or s3://bucket/prefix' },
    ),
  /** redis:// or rediss:// URL. */
  redisUrl: urlWith(['redis:', 'rediss:'], 'a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
  // BullMQ itself would accept ':' in a prefix (its keys are '<prefix>:<queue>:...'), but the prefix
  // also names storage paths (run and watermark keys) and shows up in job ids, so it is kept to
  // characters that are safe in S3 keys, file names and Redis keys alike.
  /** BullMQ queue prefix; also names storage paths, hence [A-Za-z0-9_-]+. */
  queuePrefix: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]+$/, {
      error: 'expected letters, digits, "_" or "-" only ([A-Za-z0-9_-]+; it also names storage paths)',
    }),
  /** Base URL of the index service, without a trailing '/'. */
  indexUrl: urlWith(['http:', 'https:'], 'an http:// or https:// URL, e.g. http://127.0.0.1:7070').transform((value) =>
    value.replace(/\/+$/, ''),
  ),
  /** Where a snapshot's key says when it was taken, e.g. {yyyy}-{MM}-{dd}/{camera}/{HH}{mm}{ss}.jpg (capture-key-pattern.ts). */
  captureKeyPattern: z
    .string()
    .trim()
    .check((ctx) => {
      try {
        CaptureKeyPattern.parse(ctx.value);
      } catch (err) {
        const message = err instanceof CaptureKeyPatternError ? err.reason : String(err);
        ctx.issues.push({ code: 'custom', input: ctx.value, message });
      }
    })
    .optional(),
  /** IANA time zone of the cameras' clocks, for capture times written without an offset (default UTC). */
  captureTimeZone: z
    .string()
    .trim()
    .transform((value, ctx) => {
      try {
        return canonicalTimeZone(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', input: value, message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** Folder sources: follow symbolic links (default false: links are refused, SYMLINK_REFUSED). */
  followSymlinks: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .transform((value) => value === 'true')
    .optional(),
  /** Workers: how long an identify job waits for an unreachable index service before failing the attempt (default 300000). */
  indexWaitMs: intSetting(0, 'a whole number of milliseconds, e.g. 300000').optional(),
});

export type AppConfig = z.output<typeof appConfigSchema>;

type Key = keyof AppConfig;

/** App flags as commander hands them over. */
export type AppFlags = Partial<Record<Key, string>>;

/** The defaults; the capture settings have none (no key pattern; times without an offset in UTC). */
export const APP_DEFAULTS: Pick<AppConfig, 'storage' | 'redisUrl' | 'queuePrefix' | 'indexUrl'> = {
  storage: DEFAULT_STORAGE_URL,
  redisUrl: 'redis://127.0.0.1:6379',
  queuePrefix: 'facepipe',
  indexUrl: 'http://127.0.0.1:7070',
};

/**
 * Where each setting comes from: environment variable and CLI flag, by the naming rule but for
 * REDIS_URL (the variable other Redis tools read too).
 */
export const APP_SETTINGS: Record<Key, SettingSource> = settingsNamedAfter(
  Object.keys(appConfigSchema.shape) as Key[],
  {
    redisUrl: 'REDIS_URL',
  },
);

/**
 * The app's settings from the environment and CLI flags (a flag wins over its variable; an empty
 * variable counts as unset), validated once. Throws a ConfigError listing every bad value, each
 * naming its variable or flag and the allowed form.
 */
export function loadAppConfig(flags: AppFlags = {}, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return loadSettings(appConfigSchema, APP_SETTINGS, flags, env, APP_DEFAULTS);
}
