import path from 'node:path';
import { faceDistance } from '../engine/face-distance.js';
import type { IdentificationRule, PersonMatch } from '../identification/identification-rule.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import { centralFace, type Analyzer } from './evaluation-runner.js';
import { openSetMetrics, type OpenSetMetrics, type OpenSetProbe } from './open-set-metrics.js';
import { openSetSplit, type OpenSetImage, type OpenSetSplit } from './open-set-protocol.js';

/** The FPIR targets an open-set report states FNIR at. */
export const FPIR_TARGETS = [0.01, 0.003];

export interface OpenSetOptions {
  root: string;
  concurrency: number;
  /** The shipped rule; the report also gives the plain distance threshold (marginWeight 0) for comparison. */
  rule: IdentificationRule;
  /** Only these people take part (e.g. those a trained adapter never saw); default: everyone. */
  people?: (personId: string) => boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface OpenSetResult {
  gallery: number;
  /** Gallery images without a face: their person cannot be found (their probes count as misses). */
  galleryNoFace: number;
  /** Under the shipped rule, and under a plain distance threshold. */
  rule: OpenSetMetrics;
  plainThreshold: OpenSetMetrics;
  /** Every probe with its top-5 persons, for offline calibration (written by --report). */
  probes: (OpenSetProbe & { key: string })[];
  seconds: number;
}

/**
 * Open-set identification on an LFW-layout folder (see openSetSplit): embed the gallery and the
 * probes (central face), rank the gallery persons for each probe by exact search, and compute
 * rank-1 and FNIR at FPIR 1% and 0.3%.
 */
export async function runOpenSetEvaluation(engine: Analyzer, options: OpenSetOptions): Promise<OpenSetResult> {
  const split = await openSetSplit(options.root, options.people);
  const images: OpenSetImage[] = [...split.gallery, ...split.genuine, ...split.impostor];
  const embeddings = new Map<string, Float32Array | null>();
  const started = performance.now();
  options.onProgress?.(0, images.length);
  await forEachConcurrent(images, options.concurrency, async ({ key }) => {
    try {
      embeddings.set(key, centralFace(await engine.analyze(path.join(options.root, key)))?.embedding ?? null);
    } catch {
      embeddings.set(key, null); // unreadable: like no face
    }
    options.onProgress?.(embeddings.size, images.length);
  });

  return { ...scoreOpenSet(split, embeddings, options.rule), seconds: (performance.now() - started) / 1000 };
}

/**
 * The open-set figures of a split whose images are embedded (null: no face): rank the gallery persons
 * for each probe by exact search, rank-1 and FNIR at FPIR 1% and 0.3%, under `rule` and a plain threshold.
 */
export function scoreOpenSet(
  split: OpenSetSplit,
  embeddings: ReadonlyMap<string, Float32Array | null>,
  rule: IdentificationRule,
): Omit<OpenSetResult, 'seconds'> {
  const gallery = split.gallery.flatMap(({ personId, key }) => {
    const embedding = embeddings.get(key);
    return embedding ? [{ personId, key, embedding }] : [];
  });
  const rank = (embedding: Float32Array | null | undefined): PersonMatch[] =>
    embedding
      ? gallery
          .map((g) => ({ personId: g.personId, faceId: g.key, distance: faceDistance(embedding, g.embedding) }))
          .sort((a, b) => a.distance - b.distance)
          .slice(0, 5)
      : [];
  const probes = [
    ...split.genuine.map((p) => ({
      key: p.key,
      personId: p.personId,
      enrolled: true,
      matches: rank(embeddings.get(p.key)),
    })),
    ...split.impostor.map((p) => ({
      key: p.key,
      personId: p.personId,
      enrolled: false,
      matches: rank(embeddings.get(p.key)),
    })),
  ];
  return {
    gallery: split.gallery.length,
    galleryNoFace: split.gallery.length - gallery.length,
    rule: openSetMetrics(probes, rule, FPIR_TARGETS),
    plainThreshold: openSetMetrics(probes, { threshold: rule.threshold, marginWeight: 0 }, FPIR_TARGETS),
    probes,
  };
}
