import { z } from 'zod';
import { intSetting, loadSettings, type SettingSource } from './config-source.js';

/** The index service's limits on its image routes (/v1/identify, /v1/verify) and connections. */
export const httpLimitsSchema = z.object({
  /** Images analysed at once; more wait in line (maxQueuedImages), beyond it 503 BUSY with Retry-After. */
  maxConcurrentImages: intSetting(1, 'a positive integer'),
  /**
   * Requests that wait for an image slot (first come, first served) rather than get 503 BUSY. Each
   * holds its upload in memory while it waits: at most this many times the route's body limit.
   */
  maxQueuedImages: intSetting(0, 'a whole number (0: no waiting)'),
  /** Whole request (headers and body) must arrive within this, ms: a trickled body is dropped. */
  requestTimeoutMs: intSetting(1, 'a positive integer (milliseconds)'),
  /** A connection idle this long is closed, ms. */
  connectionTimeoutMs: intSetting(1, 'a positive integer (milliseconds)'),
  /** Largest uploaded image, width x height: lower than the batch jobs' --max-pixels (an upload is anyone's). */
  maxPixels: intSetting(1, 'a positive integer (width x height)'),
});

export type HttpLimits = z.output<typeof httpLimitsSchema>;

type Key = keyof HttpLimits;

export type HttpLimitFlags = Partial<Record<Key, string | number>>;

export const HTTP_LIMIT_DEFAULTS: HttpLimits = {
  maxConcurrentImages: 4,
  // 8 clients uploading at once (the load) are all answered; 8 x 50 MB at most held waiting.
  maxQueuedImages: 8,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 120_000,
  // 16 MP (e.g. 4896x3264, a 16-megapixel camera): a 7000x7000 PNG of 6 KB would cost ~30 s of CPU and 1.2 GB.
  maxPixels: 16_000_000,
};

export const HTTP_LIMIT_SETTINGS: Record<Key, SettingSource> = {
  maxConcurrentImages: { env: 'FACEPIPE_HTTP_MAX_IMAGES', flag: '--http-max-images' },
  maxQueuedImages: { env: 'FACEPIPE_HTTP_MAX_QUEUED_IMAGES', flag: '--http-max-queued-images' },
  requestTimeoutMs: { env: 'FACEPIPE_HTTP_REQUEST_TIMEOUT_MS', flag: '--http-request-timeout-ms' },
  connectionTimeoutMs: { env: 'FACEPIPE_HTTP_CONNECTION_TIMEOUT_MS', flag: '--http-connection-timeout-ms' },
  maxPixels: { env: 'FACEPIPE_HTTP_MAX_PIXELS', flag: '--http-max-pixels' },
};

/** The limits from flags, else environment, else HTTP_LIMIT_DEFAULTS; throws a ConfigError naming bad values. */
export function loadHttpLimits(flags: HttpLimitFlags = {}, env: NodeJS.ProcessEnv = process.env): HttpLimits {
  const defaults = Object.fromEntries(Object.entries(HTTP_LIMIT_DEFAULTS).map(([k, v]) => [k, String(v)])) as Record<
    Key,
    string
  >;
  return loadSettings(httpLimitsSchema, HTTP_LIMIT_SETTINGS, flags, env, defaults);
}
