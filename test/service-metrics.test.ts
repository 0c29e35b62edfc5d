import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { IndexServiceStatus } from '../src/index/index-service.js';
import { registerServiceMetrics, snapshotTime } from '../src/index/ops/service-metrics.js';
import { parsePrometheusText, sampleValue } from './support/prometheus-text.js';

const NOW = Date.UTC(2026, 11, 6, 10, 50, 0, 0);

function scrapeWith(status: Partial<IndexServiceStatus>, lastChange: () => Promise<string | undefined>) {
  const registry = new Registry();
  registerServiceMetrics(registry, {
    queues: [],
    status: () => ({ changePosition: '0-0', ...status }) as IndexServiceStatus,
    lastChange,
    now: () => NOW,
  });
  return registry.metrics().then(parsePrometheusText);
}

describe('the index service metrics read on scrape', () => {
  it('give the change-log lag from stream ids and the age of the last snapshot from its name', async () => {
    const samples = await scrapeWith(
      { changePosition: `${NOW - 7_500}-3`, lastSnapshot: '20261206T104500250Z-0123456789abcdef' },
      async () => `${NOW - 1_000}-0`,
    );
    expect(sampleValue(samples, 'facepipe_change_log_lag_seconds')).toBe(6.5);
    expect(sampleValue(samples, 'facepipe_last_snapshot_age_seconds')).toBe(299.75);
  });

  it('say 0 when caught up or the log is empty, NaN when Redis does not answer or no snapshot exists', async () => {
    const caughtUp = await scrapeWith({ changePosition: `${NOW}-1` }, async () => `${NOW}-1`);
    expect(sampleValue(caughtUp, 'facepipe_change_log_lag_seconds')).toBe(0);
    expect(sampleValue(caughtUp, 'facepipe_last_snapshot_age_seconds')).toBeNaN();
    const empty = await scrapeWith({}, async () => undefined);
    expect(sampleValue(empty, 'facepipe_change_log_lag_seconds')).toBe(0);
    const away = await scrapeWith({}, () => Promise.reject(new Error('ECONNREFUSED')));
    expect(sampleValue(away, 'facepipe_change_log_lag_seconds')).toBeNaN();
  });

  it('read snapshot names as util/unique-name writes them', () => {
    expect(snapshotTime('20261129T021507120Z-0123456789abcdef')).toBe(Date.UTC(2026, 10, 29, 2, 15, 7, 120));
    expect(snapshotTime('not-a-snapshot')).toBeUndefined();
  });
});
