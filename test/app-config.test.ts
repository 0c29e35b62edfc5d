import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config/app-config.js';
import { ConfigError } from '../src/config/engine-config.js';

const errorOf = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('loadAppConfig', () => {
  it('has defaults', () => {
    expect(loadAppConfig({}, {})).toEqual({
      storage: './data',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'facepipe',
      indexUrl: 'http://127.0.0.1:7070',
    });
  });

  it('reads the environment; empty variables count as unset', () => {
    expect(
      loadAppConfig(
        {},
        {
          FACEPIPE_STORAGE: 's3://bucket/some/prefix',
          REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
          FACEPIPE_QUEUE_PREFIX: 'night_run-2',
          FACEPIPE_INDEX_URL: 'https://index.example:8443/api/',
        },
      ),
    ).toEqual({
      storage: 's3://bucket/some/prefix',
      redisUrl: 'rediss://user:pw@redis.example:6380/2',
      queuePrefix: 'night_run-2',
      indexUrl: 'https://index.example:8443/api',
    });
    expect(loadAppConfig({}, { FACEPIPE_STORAGE: '', REDIS_URL: '' }).storage).toBe('./data');
  });

  it('flags win over the environment', () => {
    const env = {
      FACEPIPE_STORAGE: '/env/data',
      REDIS_URL: 'redis://env:6379',
      FACEPIPE_QUEUE_PREFIX: 'env',
      FACEPIPE_INDEX_URL: 'http://env:1',
    };
    expect(
      loadAppConfig(
        { storage: 'file:///flag/data', redisUrl: 'redis://flag:6379', queuePrefix: 'flag', indexUrl: 'http://flag:2' },
        env,
      ),
    ).toEqual({
      storage: 'file:///flag/data',
      redisUrl: 'redis://flag:6379',
      queuePrefix: 'flag',
      indexUrl: 'http://flag:2',
    });
    expect(loadAppConfig({ storage: './other' }, env)).toMatchObject({
      storage: './other',
      redisUrl: 'redis://env:6379',
    });
  });

  it('names the variable and the allowed form for each bad value', () => {
    expect(errorOf(() => loadAppConfig({}, { FACEPIPE_STORAGE: 'gs://bucket/x' })).message).toBe(
      'invalid FACEPIPE_STORAGE "gs://bucket/x": expected a folder path, file:///path or s3://bucket/prefix',
    );
    expect(errorOf(() => loadAppConfig({ storage: '' }, {})).message).toMatch(
      /^invalid --storage "": expected a folder path/,
    );
    expect(errorOf(() => loadAppConfig({}, { REDIS_URL: 'http://127.0.0.1:6379' })).message).toBe(
      'invalid REDIS_URL "http://127.0.0.1:6379": expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379',
    );
    expect(errorOf(() => loadAppConfig({}, { REDIS_URL: '127.0.0.1:6379' })).message).toMatch(
      /^invalid REDIS_URL .*redis:\/\//,
    );
    expect(errorOf(() => loadAppConfig({ queuePrefix: 'bull:facepipe' }, {})).message).toBe(
      'invalid --queue-prefix "bull:facepipe": expected letters, digits, "_" or "-" only ([A-Za-z0-9_-]+; it also names storage paths)',
    );
    expect(errorOf(() => loadAppConfig({}, { FACEPIPE_QUEUE_PREFIX: 'a/b' })).message).toMatch(
      /^invalid FACEPIPE_QUEUE_PREFIX "a\/b"/,
    );
    expect(errorOf(() => loadAppConfig({ indexUrl: 'ftp://host' }, {})).message).toBe(
      'invalid --index-url "ftp://host": expected an http:// or https:// URL, e.g. http://127.0.0.1:7070',
    );
  });

  it('capture settings: unset by default; a key pattern and an IANA zone (canonical name), each checked', () => {
    expect(loadAppConfig({}, {})).not.toHaveProperty('captureKeyPattern');
    expect(loadAppConfig({}, {})).not.toHaveProperty('captureTimeZone');
    const env = {
      FACEPIPE_CAPTURE_KEY_PATTERN: ' {yyyy}-{MM}-{dd}/cam-{camera}/{HH}{mm}{ss}.jpg ',
      FACEPIPE_CAPTURE_TIME_ZONE: 'europe/paris',
    };
    expect(loadAppConfig({}, env)).toMatchObject({
      captureKeyPattern: '{yyyy}-{MM}-{dd}/cam-{camera}/{HH}{mm}{ss}.jpg',
      captureTimeZone: 'Europe/Paris',
    });
    expect(loadAppConfig({ captureTimeZone: 'Asia/Tokyo' }, env).captureTimeZone).toBe('Asia/Tokyo');
    expect(errorOf(() => loadAppConfig({}, { FACEPIPE_CAPTURE_KEY_PATTERN: '{HH}{mm}.jpg' })).message).toBe(
      'invalid FACEPIPE_CAPTURE_KEY_PATTERN "{HH}{mm}.jpg": a time needs {yyyy} {MM} {dd} too',
    );
    expect(errorOf(() => loadAppConfig({ captureTimeZone: 'CEST' }, {})).message).toBe(
      'invalid --capture-time-zone "CEST": unknown time zone "CEST": expected an IANA name such as Europe/Paris or UTC',
    );
  });

  it('lists every bad value at once', () => {
    const error = errorOf(() =>
      loadAppConfig({ redisUrl: 'nope' }, { FACEPIPE_QUEUE_PREFIX: 'x y', FACEPIPE_INDEX_URL: 'nope' }),
    );
    expect(error.problems).toHaveLength(3);
    expect(error.problems.map((p) => p.split(' ')[1])).toEqual([
      '--redis-url',
      'FACEPIPE_QUEUE_PREFIX',
      'FACEPIPE_INDEX_URL',
    ]);
  });
});
