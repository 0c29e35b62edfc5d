import { loadHubNormalisation, loadQualityGates } from '../config/identification-config.js';
import type { AnalyzedFace, ImageAnalysis } from '../engine/engine-types.js';
import { FaceError } from '../errors/face-error.js';
import type { EmbeddingModel } from '../engine/embedding-model.js';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import { fivePoints } from '../engine/face-quality.js';
import {
  identifyFace,
  personsToFetch,
  type DecisionRule,
  type IdentificationRule,
  type PersonMatch,
} from '../identification/identification-rule.js';
import type { QualityGates } from '../identification/quality-gates.js';
import { CohortOffsetsStore } from '../identification/cohort-offsets-store.js';
import { IdentificationSettingsStore } from '../identification/identification-settings-store.js';
import { LiveIdentificationRule } from '../identification/live-identification-rule.js';
import { IndexClient } from '../index/index-client.js';
import { MatchStore } from '../matches/match-store.js';
import type { IdentifyJobData, IdentifyJobResult, SnapshotItem } from '../queue/jobs.js';
import { matchKeyPrefix } from '../queue/queue-names.js';
import { captureTime, type CaptureSettings, captureSettings } from '../results/capture-time.js';
import { ResultStore } from '../results/result-store.js';
import { RESULT_SCHEMA_ID, type ResultError, type ResultFace, type ResultJson } from '../results/result-types.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import { openSourceStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import type { JobProcessor, WorkerContext } from './job-kind.js';
import { DEFAULT_INDEX_WAIT_MS, withIndexWait } from './index-wait.js';
import { JobSources } from './job-sources.js';

/** Top-k gallery persons kept per face in a result. */
export const RESULT_MATCHES = 5;

export interface IdentifyJobHandlerDeps {
  analyzer: FaceAnalyzer;
  /** The index service's person search (k persons per face): one request per job, every face of every snapshot. */
  search: (vectors: Float32Array[], k: number) => Promise<PersonMatch[][]>;
  results: ResultStore;
  storageUrl: string;
  /** The embedding model of the analyzer and of the index searched; jobs of another model are refused. */
  model: EmbeddingModel;
  /**
   * The 1:N rule, or a function giving the current one (read once per job: the deployment's
   * calibrated setting can change while the worker runs). Default: the model's. The model's 1:1
   * threshold caps the distance of a named face whatever the rule.
   */
  rule?: IdentificationRule | (() => IdentificationRule);
  /** Quality gates before the decision (FACEPIPE_GATE_*); none: every face is decided. */
  gates?: QualityGates;
  /** Hub normalisation: the per-person offsets in force (read once per job); none: plain distances. */
  entryOffsets?: () => ReadonlyMap<string, number> | undefined;
  /** Called after each result file is written (matches by person). */
  onResult?: (run: string, resultKey: string, result: ResultJson) => Promise<void>;
  openSource?: (url: string) => Storage;
  now?: () => Date;
  /** How `input.captured` and `input.camera` are read from a snapshot's key (default: EXIF or last-modified, UTC). */
  capture?: CaptureSettings;
}

type Analyzed =
  | { item: SnapshotItem; width: number; height: number; faces: AnalyzedFace[]; exifTime?: ImageAnalysis['exifTime'] }
  | { item: SnapshotItem; error: ResultError };

/**
 * One identify job: every face of every snapshot, embedded through the engine, searched against the
 * index service in one batched request, decided with the 1:N rule, written as one result file per
 * snapshot (facepipe.result/v1). A snapshot that cannot be processed gets a result with its error.
 *
 * Transient faults (storage, index service, engine) throw so that BullMQ retries the job; on the
 * job's last attempt they are written into the results instead, so every snapshot ends with a file
 * the operator can see. A result of an outage (INDEX_UNAVAILABLE, SOURCE_UNAVAILABLE) does not count
 * as done: a re-run of the run identifies the snapshot again and overwrites it (transient-error.ts).
 */
export class IdentifyJobHandler {
  private readonly sources: JobSources;
  private readonly rule: () => IdentificationRule;
  private readonly now: () => Date;

  constructor(private readonly deps: IdentifyJobHandlerDeps) {
    // The deps carry storageUrl and openSource under JobSources' own names.
    this.sources = new JobSources({ ...deps, model: deps.model.id, verb: 'identifies' });
    const rule = deps.rule ?? deps.model.identification;
    this.rule = typeof rule === 'function' ? rule : () => rule;
    this.now = deps.now ?? (() => new Date());
  }

  async handle(jobId: string, data: IdentifyJobData, lastAttempt = false): Promise<IdentifyJobResult> {
    const source = this.sources.open(jobId, data);
    const analyzed = await Promise.all(data.items.map((item) => this.analyzeOne(source, item, lastAttempt)));
    // The run's own settings (identify --identification-threshold ...) over the worker's rule.
    const rule: DecisionRule = {
      ...this.rule(),
      ...data.rule,
      maxDistance: this.deps.model.threshold,
      gates: this.deps.gates,
      entryOffsets: this.deps.entryOffsets?.(),
    };

    const faces = analyzed.flatMap((a) => ('faces' in a ? a.faces : []));
    let matches: PersonMatch[][] = [];
    let searchError: ResultError | undefined;
    if (faces.length > 0) {
      try {
        // As many persons as the rule compares, whatever RESULT_MATCHES: identifyFace cuts the list.
        matches = await this.deps.search(
          faces.map((f) => f.embedding),
          personsToFetch(RESULT_MATCHES, rule.entryOffsets !== undefined),
        );
      } catch (err) {
        if (!lastAttempt) throw err;
        searchError = {
          code: 'INDEX_UNAVAILABLE',
          message: `index service: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    }

    const outcome: IdentifyJobResult = { snapshots: data.items.length, failed: 0, faces: 0, identified: 0 };
    let next = 0;
    for (const a of analyzed) {
      const result = this.resultFor(a, rule, searchError, () => matches[next++] ?? []);
      if (result.error !== null) {
        outcome.failed++;
        outcome.errors = { ...outcome.errors, [result.error.code]: (outcome.errors?.[result.error.code] ?? 0) + 1 };
      }
      outcome.faces += result.faces.length;
      outcome.identified += result.faces.filter((f) => f.personId !== null).length;
      const resultKey = await this.deps.results.put(data.run, result);
      await this.deps.onResult?.(data.run, resultKey, result);
    }
    return outcome;
  }

  private async analyzeOne(source: Storage, item: SnapshotItem, lastAttempt: boolean): Promise<Analyzed> {
    try {
      const bytes = await source.get(item.key);
      const analysis = await this.deps.analyzer.analyze({ bytes, name: item.key });
      const { width, height, faces, exifTime } = analysis;
      return { item, width, height, faces, exifTime };
    } catch (err) {
      if (err instanceof StorageNotFoundError) return { item, error: { code: err.code, message: err.message } };
      if (FaceError.isFaceError(err) && err.code !== 'ENGINE_FAILURE') return { item, error: err.toJSON() };
      if (!lastAttempt) throw err;
      const code = FaceError.isFaceError(err) ? err.code : 'SOURCE_UNAVAILABLE';
      return { item, error: { code, message: err instanceof Error ? err.message : String(err) } };
    }
  }

  private resultFor(
    a: Analyzed,
    rule: DecisionRule,
    searchError: ResultError | undefined,
    nextMatches: () => PersonMatch[],
  ): ResultJson {
    const base = {
      schema: RESULT_SCHEMA_ID,
      model: {
        id: this.deps.model.id,
        detector: this.deps.model.detector,
        embedder: this.deps.model.embedder,
        threshold: rule.threshold,
        ...(this.deps.analyzer.backend === undefined ? {} : { backend: this.deps.analyzer.backend }),
      },
      processedAt: this.now().toISOString(),
    } as const;
    const input = {
      key: a.item.key,
      etag: a.item.etag,
      width: 'width' in a ? a.width : 0,
      height: 'height' in a ? a.height : 0,
      modified: a.item.modified,
      ...captureTime(
        { key: a.item.key, modified: a.item.modified, exif: 'exifTime' in a ? a.exifTime : undefined },
        this.deps.capture,
      ),
    };
    if ('error' in a) return { ...base, input, faces: [], error: a.error };
    const decided = a.faces.map((face) => identifyFace(nextMatches(), RESULT_MATCHES, rule, face));
    if (searchError !== undefined && a.faces.length > 0) return { ...base, input, faces: [], error: searchError };
    const faces: ResultFace[] = a.faces.map((face, i) => ({
      box: {
        x: round1(face.box.x),
        y: round1(face.box.y),
        width: round1(face.box.width),
        height: round1(face.box.height),
      },
      score: Math.round(face.score * 1e4) / 1e4,
      landmarks: fivePoints(face.landmarks),
      quality: face.quality,
      matches: decided[i].matches.map((m) => ({
        personId: m.personId,
        faceId: m.faceId,
        distance: Math.round(m.distance * 1e4) / 1e4,
      })),
      personId: decided[i].personId,
      decision: { ...decided[i].decision, score: round4(decided[i].decision.score) },
    }));
    return { ...base, input, faces, error: null };
  }
}

/** The identify queue's handler: the index service's person search, result files, match records. */
export function createIdentifyProcessor({
  config,
  analyzer,
  storage,
  redis,
  rule: overrides,
}: WorkerContext): JobProcessor<'identify'> {
  const { model } = analyzer;
  // The deployment's calibrated rule, followed while the worker runs (explicit settings win).
  const rule = new LiveIdentificationRule(new IdentificationSettingsStore(storage, model.id), {
    fallback: model.identification,
    overrides,
    offsets: { store: new CohortOffsetsStore(storage, model.id), enabled: loadHubNormalisation() },
  });
  const started = rule.start();
  const index = new IndexClient(config.indexUrl);
  const matches = new MatchStore(redis, matchKeyPrefix(config));
  const handler = new IdentifyJobHandler({
    analyzer,
    results: new ResultStore(storage),
    storageUrl: config.storage,
    model,
    // A restarting service is waited for (FACEPIPE_INDEX_WAIT_MS), not turned into INDEX_UNAVAILABLE.
    search: (vectors, k) =>
      withIndexWait(async () => (await index.search(vectors, k, { persons: true, model: model.id })).results, {
        waitMs: config.indexWaitMs ?? DEFAULT_INDEX_WAIT_MS,
        what: 'identify search',
      }),
    openSource: (url) => openSourceStorage(url, config.followSymlinks),
    capture: captureSettings({ keyPattern: config.captureKeyPattern, timeZone: config.captureTimeZone }),
    rule: () => rule.current(),
    gates: loadQualityGates(),
    entryOffsets: () => rule.entryOffsets(),
    onResult: async (run, resultKey, result) => {
      await matches.recordResult(run, resultKey, result);
    },
  });
  // On the last attempt, faults end up in the result files instead of failing the job.
  return async (job) => {
    await started;
    return handler.handle(job.id!, job.data, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  };
}

function round4<T extends number | null>(value: T): T {
  return (value === null ? null : Math.round(value * 1e4) / 1e4) as T;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
