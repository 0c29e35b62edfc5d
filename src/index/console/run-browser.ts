import type { IdentifyRunRecord } from '../../producers/types.js';
import type { RunStore } from '../../producers/run-store.js';
import type { ResultStore } from '../../results/result-store.js';
import type { ResultJson } from '../../results/result-types.js';
import { InvalidStorageKeyError } from '../../storage/invalid-storage-key-error.js';
import { StorageNotFoundError } from '../../storage/storage-not-found-error.js';
import type { RunCounts, RunFilter, RunSnapshot, RunSummary } from './console-schemas.js';

/** A run's results, read once and kept while they can still change for so long (ms). */
const OPEN_RUN_TTL_MS = 3000;
/** Runs whose results are kept in memory at once. */
const CACHED_RUNS = 16;
/** Result files read at once. */
const READ_CONCURRENCY = 16;

interface RunResults {
  readAt: number;
  /** Whether the run was complete when read: its results no longer change. */
  complete: boolean;
  snapshots: RunSnapshot[];
  counts: RunCounts;
}

/**
 * Identify runs as the console shows them: the run store's records with counts from their result
 * files, a run's snapshots (filtered, paged), and the one snapshot an image route may read. Result
 * files of a completed run are read once; an open run's again after a few seconds.
 */
export class RunBrowser {
  private readonly cache = new Map<string, RunResults>();

  constructor(
    private readonly runs: RunStore,
    private readonly results: ResultStore,
  ) {}

  async list(limit: number, offset: number): Promise<{ total: number; items: RunSummary[] }> {
    const records = await this.runs.list();
    const page = records.slice(offset, offset + limit);
    const items: RunSummary[] = [];
    for (const record of page) items.push(summary(record, (await this.read(record)).counts));
    return { total: records.length, items };
  }

  /** The run with one page of its snapshots that pass `filter`, by key; undefined for no such run. */
  async run(
    run: string,
    query: { filter: RunFilter; limit: number; offset: number },
  ): Promise<(RunSummary & { total: number; items: RunSnapshot[] }) | undefined> {
    const record = await this.runs.get(run);
    if (record === undefined) return undefined;
    const { snapshots, counts } = await this.read(record);
    const kept = snapshots.filter(FILTERS[query.filter]);
    return {
      ...summary(record, counts),
      total: kept.length,
      items: kept.slice(query.offset, query.offset + query.limit),
    };
  }

  /**
   * The run's source and the result of one of its snapshots, or undefined when the run has no
   * result for that key: the only snapshots the console's image routes read.
   */
  async snapshot(run: string, key: string): Promise<{ source: string; result: ResultJson } | undefined> {
    const record = await this.runs.get(run);
    if (record === undefined) return undefined;
    let result: ResultJson;
    try {
      result = await this.results.get(this.results.keyFor(run, key));
    } catch (err) {
      // A key no result can have ('..', an absolute path) is refused by the storage: not this run's.
      if (err instanceof StorageNotFoundError || err instanceof InvalidStorageKeyError || err instanceof SyntaxError)
        return undefined;
      throw err;
    }
    // A long key's file is named by a hash: the file must be this key's.
    if (result?.input?.key !== key) return undefined;
    return { source: record.source, result };
  }

  private async read(record: IdentifyRunRecord): Promise<RunResults> {
    const cached = this.cache.get(record.run);
    if (cached !== undefined && (cached.complete || Date.now() - cached.readAt < OPEN_RUN_TTL_MS)) return cached;
    const complete = record.completedAt !== undefined;
    const readAt = Date.now();
    const snapshots: RunSnapshot[] = [];
    for (const { resultKey, result } of await this.results.readValid(record.run, READ_CONCURRENCY)) {
      if (typeof result.input?.key !== 'string' || !Array.isArray(result.faces)) continue;
      snapshots.push(snapshotOf(resultKey, result));
    }
    snapshots.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const counts: RunCounts = { results: snapshots.length, faces: 0, named: 0, unknown: 0, errors: 0 };
    for (const snapshot of snapshots) {
      if (snapshot.error !== null) counts.errors++;
      for (const face of snapshot.faces) {
        counts.faces++;
        if (face.personId === null) counts.unknown++;
        else counts.named++;
      }
    }
    const read: RunResults = { readAt, complete, snapshots, counts };
    this.cache.delete(record.run);
    this.cache.set(record.run, read);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= CACHED_RUNS) break;
      this.cache.delete(oldest);
    }
    return read;
  }
}

const FILTERS: Record<RunFilter, (snapshot: RunSnapshot) => boolean> = {
  all: () => true,
  named: (s) => s.faces.some((f) => f.personId !== null),
  unknown: (s) => s.faces.some((f) => f.personId === null),
  errors: (s) => s.error !== null,
};

function summary(record: IdentifyRunRecord, counts: RunCounts): RunSummary {
  return {
    run: record.run,
    source: record.source,
    createdAt: record.createdAt,
    ...(record.completedAt === undefined ? {} : { completedAt: record.completedAt }),
    snapshots: record.snapshots,
    counts,
  };
}

function snapshotOf(resultKey: string, result: ResultJson): RunSnapshot {
  return {
    key: result.input.key,
    resultKey,
    width: result.input.width,
    height: result.input.height,
    ...(result.input.captured === undefined ? {} : { captured: result.input.captured }),
    error: result.error ?? null,
    faces: result.faces.map((face) => ({
      box: face.box,
      score: face.score,
      personId: face.personId,
      ...(face.decision?.outcome === undefined ? {} : { outcome: face.decision.outcome }),
      ...(face.decision === undefined
        ? {}
        : { decision: { score: face.decision.score, threshold: face.decision.threshold } }),
      matches: face.matches.map(({ personId, distance }) => ({ personId, distance })),
    })),
  };
}
