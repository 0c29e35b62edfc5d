/**
 * The worker's detect/embed latency histograms (issue 20), fed by the engine's per-image stage
 * timings: an analyzer wrapped by JobMetrics.observeAnalyzer, scraped from its registry.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BASE_MODEL } from '../src/engine/embedding-model.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import type { ImageAnalysis } from '../src/engine/engine-types.js';
import { JobMetrics } from '../src/workers/job-metrics.js';
import { parsePrometheusText, sampleValue } from './support/prometheus-text.js';

const analysis = (timings?: ImageAnalysis['timings']): ImageAnalysis => ({
  width: 10,
  height: 10,
  facesDetected: 0,
  faces: [],
  ...(timings ? { timings } : {}),
});

describe('engine latency histograms', () => {
  it('observe each analyzed image: its embed stages as embed, the others as detect', async () => {
    const registry = new Registry();
    const answers = [
      analysis({
        decode: 100,
        'detect.ssd.frame': 400,
        'detect.ssd.tiles': 500,
        'embed.dlib-resnet': 250,
        'embed.human-faceres': 50,
      }),
      analysis({ decode: 20, 'detect.tiny.margin': 30 }),
      analysis(),
    ];
    const engine: FaceAnalyzer = { model: BASE_MODEL, backend: 'wasm', analyze: async () => answers.shift()! };
    const observed = new JobMetrics(registry).observeAnalyzer(engine);
    expect(observed.model).toBe(BASE_MODEL);
    // The result files name the backend: the wrapper must not hide it.
    expect(observed.backend).toBe('wasm');
    for (let i = 0; i < 3; i++) await observed.analyze('x.jpg');

    const samples = parsePrometheusText(await registry.metrics());
    // The third answer carries no timings (another analyzer): nothing observed for it.
    expect(sampleValue(samples, 'facepipe_engine_detect_seconds_count')).toBe(2);
    expect(sampleValue(samples, 'facepipe_engine_detect_seconds_sum')).toBeCloseTo(1.05, 6);
    expect(sampleValue(samples, 'facepipe_engine_detect_seconds_bucket', { le: '0.5' })).toBe(1);
    expect(sampleValue(samples, 'facepipe_engine_embed_seconds_count')).toBe(1);
    expect(sampleValue(samples, 'facepipe_engine_embed_seconds_sum')).toBeCloseTo(0.3, 6);
  });
});
