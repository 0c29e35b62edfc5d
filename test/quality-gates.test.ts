/**
 * Quality gates before the 1:N decision (issue 22), on matches and detections the test makes: a
 * box that the rule would name is reported unnamed, with the gates it failed, when the detector is
 * unsure or the face is too small, blurred or in profile; the result schema carries the reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EmbeddingModel } from '../src/engine/embedding-model.js';
import type { FaceAnalyzer } from '../src/engine/face-analyzer.js';
import { FACE_MODEL } from '../src/engine/face-model.js';
import { ResultStore } from '../src/results/result-store.js';
import { parseResultFile } from '../src/results/result-schema.js';
import { openStorage } from '../src/storage/open-storage.js';
import { IdentifyJobHandler } from '../src/workers/identify-job-handler.js';
import { ConfigError } from '../src/config/config-source.js';
import { loadQualityGates } from '../src/config/identification-config.js';
import { identifyFace, type DecisionRule } from '../src/identification/identification-rule.js';
import { DEFAULT_QUALITY_GATES, failedGates, OPEN_GATES } from '../src/identification/quality-gates.js';
import { parseResult } from '../src/results/result-schema.js';
import { assertValidResult } from './support/result-schema.js';
import { resultJson } from './support/result-json.js';

const m = (personId: string, distance: number) => ({ personId, faceId: `${personId}-1`, distance });
// A probe the rule names: 0.45 from "hub", the runners-up far.
const hits = [m('hub', 0.45), m('b', 1.1), m('c', 1.15), m('d', 1.2), m('e', 1.2)];
const gates = { minDetectorScore: 0.5, minSize: 40, maxBlur: 0.6, maxPose: 0.8 };
const rule: DecisionRule = { threshold: 0.32, marginWeight: 1.5, maxDistance: 0.6, gates };
const good = { score: 0.9, quality: { size: 80, blur: 0.2, pose: 0.1 } };

describe('quality gates', () => {
  it('lists every gate a detection fails, in order', () => {
    expect(failedGates(good, gates)).toEqual([]);
    expect(failedGates({ score: 0.35, quality: { size: 30, blur: 0.7, pose: 0.9 } }, gates)).toEqual([
      'detectorScore',
      'size',
      'blur',
      'pose',
    ]);
    expect(failedGates({ ...good, quality: { ...good.quality, blur: 0.6 } }, gates)).toEqual([]); // at the limit passes
    expect(failedGates({ score: 0, quality: { size: 0, blur: 1, pose: 1 } }, OPEN_GATES)).toEqual([]);
  });

  it('names a face that passes them, and says so', () => {
    const decided = identifyFace(hits, 5, rule, good);
    expect(decided.personId).toBe('hub');
    expect(decided.decision.outcome).toBe('named');
    expect(decided.decision.failedGates).toBeUndefined();
    expect(identifyFace([m('a', 0.62)], 5, rule, good).decision.outcome).toBe('unknown');
  });

  it('reports a face that fails one unnamed, with the matches and the reason', () => {
    const junk = { score: 0.35, quality: { size: 52, blur: 0.72, pose: 0.2 } };
    const decided = identifyFace(hits, 5, rule, junk);
    expect(decided.personId).toBeNull();
    expect(decided.matches.map((x) => x.personId)).toEqual(['hub', 'b', 'c', 'd', 'e']);
    expect(decided.decision).toMatchObject({ outcome: 'low-quality', failedGates: ['detectorScore', 'blur'] });
    // The rule's own score is still there: the operator sees it would have been named.
    expect(decided.decision.score).toBeLessThan(rule.threshold);
  });

  it('leaves the decision as it was when no detection or no gates are given', () => {
    const junk = { score: 0.35, quality: good.quality };
    expect(identifyFace(hits, 5, rule).personId).toBe('hub');
    expect(identifyFace(hits, 5, rule).decision.outcome).toBeUndefined();
    const { gates: _, ...ungated } = rule;
    expect(identifyFace(hits, 5, ungated, junk).personId).toBe('hub');
  });
});

describe('the identify job handler with gates', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('writes a sure face named and an unsure box of the same closeness unnamed, with the gate', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-gates-'));
    dirs.push(dir);
    const storage = openStorage(path.join(dir, 'data'));
    const source = openStorage(path.join(dir, 'night'));
    const { etag } = await source.put('cam/1.jpg', 'two faces');
    const model: EmbeddingModel = { ...FACE_MODEL, threshold: 0.6 };
    const face = (x: number, score: number) => ({
      box: { x, y: 0, width: 60, height: 60 },
      score,
      landmarks: Array.from({ length: 68 }, (_, j) => [j % 10, Math.floor(j / 10)] as [number, number]),
      quality: { size: 60, blur: 0.2, pose: 0.1 },
      embedding: new Float32Array(FACE_MODEL.embeddingSize),
    });
    const analyzer: FaceAnalyzer = {
      model,
      analyze: async () => ({ width: 640, height: 480, facesDetected: 2, faces: [face(0, 0.92), face(300, 0.34)] }),
    };
    const handler = new IdentifyJobHandler({
      analyzer,
      results: new ResultStore(storage),
      storageUrl: storage.url,
      model,
      rule: () => ({ threshold: 0.32, marginWeight: 1.5 }),
      gates,
      openSource: () => source,
      search: async (vectors) => vectors.map(() => hits),
    });
    const outcome = await handler.handle('job-1', {
      storageUrl: storage.url,
      sourceUrl: source.url,
      model: model.id,
      run: 'night',
      items: [{ key: 'cam/1.jpg', etag, size: 9, modified: new Date(0).toISOString() }],
    });
    expect(outcome).toMatchObject({ faces: 2, identified: 1 });
    const result = parseResultFile(await storage.get('facepipe/results/night/cam/1.jpg.json'));
    expect(result.faces.map((f) => f.personId)).toEqual(['hub', null]);
    expect(result.faces[0].decision).toMatchObject({ outcome: 'named' });
    expect(result.faces[1].decision).toMatchObject({ outcome: 'low-quality', failedGates: ['detectorScore'] });
    expect(result.faces[1].matches[0]).toMatchObject({ personId: 'hub', distance: 0.45 });
  });
});

describe('the quality gate settings', () => {
  it('take the shipped defaults, the environment, and flags over it', () => {
    expect(loadQualityGates({}, {})).toEqual(DEFAULT_QUALITY_GATES);
    const env = { FACEPIPE_GATE_MIN_DETECTOR_SCORE: '0.45', FACEPIPE_GATE_MAX_BLUR: '0.7' };
    expect(loadQualityGates({}, env)).toEqual({ ...DEFAULT_QUALITY_GATES, minDetectorScore: 0.45, maxBlur: 0.7 });
    expect(loadQualityGates({ gateMinDetectorScore: '0.6', gateMinSize: 32 }, env)).toEqual({
      ...DEFAULT_QUALITY_GATES,
      minDetectorScore: 0.6,
      minSize: 32,
      maxBlur: 0.7,
    });
  });

  it('refuse a bad value, naming where it came from', () => {
    expect(() => loadQualityGates({}, { FACEPIPE_GATE_MAX_POSE: '2' })).toThrow(ConfigError);
    expect(() => loadQualityGates({}, { FACEPIPE_GATE_MAX_POSE: '2' })).toThrow(/FACEPIPE_GATE_MAX_POSE/);
    expect(() => loadQualityGates({ gateMinDetectorScore: 'high' })).toThrow(/--gate-min-detector-score/);
  });
});

describe('the result schema of a gated decision', () => {
  const withDecision = (decision: Record<string, unknown>) => {
    const result = resultJson('cam/1.jpg', [{ personId: null }]);
    (result.faces[0] as Record<string, unknown>).decision = {
      score: 0.1,
      threshold: 0.32,
      marginWeight: 1.5,
      maxDistance: 0.6,
      ...decision,
    };
    return result;
  };

  it('accepts the outcome and the failed gates, in zod and in the JSON Schema', () => {
    const value = withDecision({ outcome: 'low-quality', failedGates: ['detectorScore', 'blur'] });
    expect(parseResult(value).faces[0].decision?.failedGates).toEqual(['detectorScore', 'blur']);
    assertValidResult(value);
    assertValidResult(withDecision({})); // older results: no outcome
  });

  it('refuses an unknown outcome or gate', () => {
    for (const bad of [{ outcome: 'maybe' }, { outcome: 'low-quality', failedGates: ['eyes'] }]) {
      expect(() => parseResult(withDecision(bad))).toThrow(/decision/);
      expect(() => assertValidResult(withDecision(bad))).toThrow();
    }
  });
});
