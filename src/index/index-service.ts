import type { GalleryRecord, Tombstone } from '../gallery/gallery-record.js';
import type { GalleryStore } from '../gallery/gallery-store.js';
import { logger } from '../logger.js';
import { compareStreamIds, LOG_START, type ChangeLog, type GalleryChange } from '../queue/change-log.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import { buildIndexInWorker } from './build-index-in-worker.js';
import { DEFAULT_M, FaceIndex, efConstructionFor } from './face-index.js';
import type { IndexServiceStatus, RebuildStatus } from './index-api-schemas.js';
import type { IndexSnapshotStore } from './index-snapshot-store.js';
import { PersonDirectory } from './person-directory.js';
import type { DirectoryFace } from './person-directory-types.js';
import { removeStaleIndexTemp } from './stale-index-temp.js';

export interface IndexServiceOptions {
  /** Embedding dimension of the model. */
  dim: number;
  /** Query-time ef; default the index's. */
  ef?: number;
  /** HNSW parameters of indexes built from the gallery (a restored snapshot keeps its own). */
  m?: number;
  /** Default: follows the gallery's size (efConstructionFor). */
  efConstruction?: number;
  /** A snapshot is written after this many applied changes... */
  snapshotEveryChanges?: number;
  /** ...or this long after the first change not in a snapshot. */
  snapshotEveryMs?: number;
  /** Longest blocking read of the change log (also bounds how long stop() waits). */
  readBlockMs?: number;
}

/** Their schemas are the API's (GET /v1/index answers the status). */
export type { IndexServiceStatus, RebuildStatus } from './index-api-schemas.js';

interface PendingSwap {
  index: FaceIndex;
  position: string;
  deletions: Map<string, number>;
  directory: PersonDirectory;
}

/**
 * The index service's state: the FaceIndex in memory, kept consistent with the gallery.
 *
 * - start(): restore the newest snapshot and replay the change log after its position; when the
 *   log cannot cover the gap (trimmed past it, or gone because Redis restarted), build from the
 *   gallery instead, which is always right, just slower.
 * - A loop applies new changes (segments by face id, deletions), all idempotent, so an entry
 *   applied twice (replay after a crash, after a rebuild) changes nothing.
 * - Snapshots are written every N changes or T ms, and on stop().
 * - rebuild(): a new index from the gallery alone, built in a worker thread while this one keeps
 *   answering, swapped in between two change batches, then brought up to date from the log.
 */
export class IndexService {
  private index: FaceIndex;
  /** Who is enrolled (records without embeddings), kept with the index from the same changes. */
  private persons = new PersonDirectory();
  private position = LOG_START;
  /** personId -> time (ms) of their latest whole-person deletion: older records must not come back. */
  private deletions = new Map<string, number>();
  private ready = false;
  private loaded = false;
  /** Why the last turn of the follow loop failed; undefined while it works. */
  private loopError?: string;
  /** Deletions applied to the index whose gallery compaction and snapshot are still to do. */
  private erasurePending = false;
  private lastErasure?: { at: string; snapshot: string; records: number };
  private recovery: NonNullable<IndexServiceStatus['recovery']> = { from: 'empty', skipped: [] };
  private quarantinedAtStart = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private loadedFrom = 'empty';
  private lastSnapshot?: string;
  private changesSinceSnapshot = 0;
  private firstUnsavedChangeAt = 0;
  private pendingSwap?: PendingSwap;
  private rebuildStatus: RebuildStatus = { state: 'idle' };
  private deletionLog: ChangeLog;
  private readonly opts: Required<Omit<IndexServiceOptions, 'ef' | 'efConstruction'>> & {
    ef?: number;
    efConstruction?: number;
  };

  constructor(
    private readonly gallery: GalleryStore,
    private readonly snapshots: IndexSnapshotStore,
    /** Give it its own Redis connection: the loop blocks on it. */
    private readonly changeLog: ChangeLog,
    options: IndexServiceOptions,
  ) {
    this.opts = {
      m: DEFAULT_M,
      snapshotEveryChanges: 1000,
      snapshotEveryMs: 60_000,
      readBlockMs: 1000,
      ...options,
    };
    this.deletionLog = changeLog;
    this.index = new FaceIndex({
      dim: options.dim,
      m: this.opts.m,
      efConstruction: this.opts.efConstruction,
      ef: options.ef,
    });
  }

  /** The index to query now (a rebuild replaces it: do not keep the reference across awaits). */
  get current(): FaceIndex {
    return this.index;
  }

  /** The person directory now (a rebuild replaces it, like the index). */
  get directory(): PersonDirectory {
    return this.persons;
  }

  /** One live face's gallery record (source, sourceKey, box...) without its embedding; undefined when unknown. */
  faceRecord(faceId: string): DirectoryFace | undefined {
    return this.persons.faceRecord(faceId);
  }

  /**
   * Ready to be relied on (/readyz): loaded, caught up with the change log once, and its last
   * follow turn worked (a corrupt object or an outage that stops it is not "ok").
   */
  get isReady(): boolean {
    return this.ready && this.loopError === undefined;
  }

  /** The index is loaded (a snapshot or the gallery): searches can be answered. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  status(): IndexServiceStatus {
    return {
      model: this.gallery.model,
      ready: this.isReady,
      loaded: this.loaded,
      faces: this.index.size,
      persons: this.index.persons().length,
      m: this.index.m,
      efConstruction: this.index.efConstruction,
      ef: this.index.ef,
      changePosition: this.position,
      loadedFrom: this.loadedFrom,
      lastSnapshot: this.lastSnapshot,
      rebuild: { ...this.rebuildStatus },
      recovery: { from: this.recovery.from, skipped: [...this.recovery.skipped] },
      quarantined: this.quarantinedAtStart + this.gallery.quarantinedHere,
      erasure: { pending: this.erasurePending, ...this.lastErasure },
      ...(this.loopError === undefined ? {} : { error: this.loopError }),
    };
  }

  /** Loads the index (snapshot + log, or the gallery) and starts following the change log. */
  async start(): Promise<void> {
    await removeStaleIndexTemp();
    this.quarantinedAtStart = await this.gallery.countQuarantined();
    const bounds = await this.changeLog.bounds();
    const snapshot = await this.snapshots.loadNewest({ ef: this.opts.ef });
    const skipped = this.snapshots.skipped;
    const position = snapshot?.meta.changePosition;
    // The log covers everything after the snapshot only if it still holds the snapshot's own entry.
    const logCovers =
      position !== undefined &&
      position !== LOG_START &&
      bounds.exists &&
      bounds.first !== undefined &&
      compareStreamIds(bounds.first, position) <= 0;
    if (snapshot && logCovers) {
      this.index = snapshot.index;
      this.position = position;
      this.deletions = new Map(
        Object.entries(snapshot.meta.deletions).map(([personId, at]) => [personId, Date.parse(at)]),
      );
      this.loadedFrom = `snapshot ${snapshot.name}`;
      this.lastSnapshot = snapshot.name;
      // Snapshots hold no records: the directory is read from the gallery once (the log replay follows).
      this.persons = directoryOf(await this.gallery.readAll(), await this.gallery.readTombstones());
      this.recovery = { from: skipped.length > 0 ? 'previous snapshot' : 'snapshot', skipped };
    } else {
      if (snapshot)
        logger.warn(
          { snapshot: snapshot.name, position, log: bounds },
          'the change log does not reach back to the newest snapshot: building from the gallery',
        );
      const built = await this.buildFromGallery(this.opts.m, this.opts.efConstruction);
      this.index = built.index;
      this.position = built.position;
      this.deletions = built.deletions;
      this.persons = built.directory;
      this.loadedFrom = 'gallery';
      this.recovery = {
        from: snapshot || skipped.length === 0 ? 'gallery' : 'gallery after damaged snapshots',
        skipped,
      };
      this.markUnsaved(); // the next loop turn writes a snapshot
      this.changesSinceSnapshot = this.opts.snapshotEveryChanges;
    }
    this.loaded = true;
    if (skipped.length > 0)
      logger.warn(
        { from: this.loadedFrom, skipped },
        `index snapshots skipped at start (${skipped.length}): loaded from ${this.recovery.from}`,
      );
    logger.info({ faces: this.index.size, from: this.loadedFrom, position: this.position }, 'index loaded');
    this.loop = this.follow();
  }

  /** Stops following the log and writes a last snapshot when changes are unsaved. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    if (this.erasurePending) await this.erase();
    else if (this.changesSinceSnapshot > 0) await this.snapshot();
  }

  /** Publishes deletions on this log instead of the one the loop blocks on (its own connection). */
  useDeletionLog(log: ChangeLog): void {
    this.deletionLog = log;
  }

  /**
   * The durable half of deleting a person, before the index forgets them: the gallery's tombstone
   * (the truth, so no rebuild brings them back), then the log entry (other replicas), and the
   * guard that keeps their older records from being re-applied here.
   */
  async recordDeletion(personId: string, options: { mergedInto?: string } = {}): Promise<void> {
    const change: GalleryChange = { type: 'delete', personId, deletedAt: new Date().toISOString() };
    await this.gallery.tombstone({ personId, deletedAt: change.deletedAt, ...options });
    await this.deletionLog.publish(change);
    this.deletions.set(personId, Math.max(this.deletions.get(personId) ?? -Infinity, Date.parse(change.deletedAt)));
    this.persons.applyDelete(change);
  }

  /**
   * Deleting some faces of a person, as recordDeletion does a whole person: the tombstone listing
   * them, the log entry, then this service's index and directory (the loop erases them later).
   * Returns how many of them the index held.
   */
  async recordFaceDeletion(personId: string, faceIds: string[]): Promise<number> {
    const change: GalleryChange = { type: 'delete', personId, deletedAt: new Date().toISOString(), faceIds };
    await this.gallery.tombstone({ personId, deletedAt: change.deletedAt, faceIds });
    await this.deletionLog.publish(change);
    return this.applyDelete(change);
  }

  /**
   * New records of existing faces (a rename, a merge): one gallery segment, its log entry (other
   * replicas read it), then applied here at once so the answer of the request already shows it.
   */
  async recordFaces(records: GalleryRecord[]): Promise<string> {
    const key = await this.gallery.append(records);
    await this.deletionLog.publish({ type: 'segment', key });
    this.applyRecords(records);
    return key;
  }

  /** Starts a rebuild from the gallery; false when one is already running. */
  startRebuild(options: { m?: number; efConstruction?: number } = {}): boolean {
    if (this.rebuildStatus.state === 'running') return false;
    const m = options.m ?? this.index.m;
    // Unset (here and in the options): follows the gallery's size, known once it is read.
    const efConstruction = options.efConstruction ?? this.opts.efConstruction;
    this.rebuildStatus = { state: 'running', startedAt: new Date().toISOString(), m, efConstruction };
    this.buildFromGallery(m, efConstruction).then(
      (built) => {
        this.pendingSwap = built;
        if (this.stopped)
          this.rebuildStatus = {
            ...this.rebuildStatus,
            state: 'failed',
            error: 'the service stopped',
            finishedAt: new Date().toISOString(),
          };
      },
      (err: unknown) => {
        logger.error({ err }, 'index rebuild failed');
        this.rebuildStatus = {
          ...this.rebuildStatus,
          state: 'failed',
          error: err instanceof Error ? err.message : String(err),
          finishedAt: new Date().toISOString(),
        };
      },
    );
    return true;
  }

  /** Builds from the gallery; the returned position is the log's end before the gallery was read. */
  private async buildFromGallery(m: number, efConstruction: number | undefined): Promise<PendingSwap> {
    const position = (await this.changeLog.bounds()).last ?? LOG_START;
    // Erasing as it reads: a deletion whose compaction was cut short (a crash) is finished here.
    const records = await this.gallery.readAll({ erase: true });
    const tombstones = await this.gallery.readTombstones();
    const deletions = new Map<string, number>();
    for (const t of tombstones)
      if (t.faceIds === undefined)
        deletions.set(t.personId, Math.max(deletions.get(t.personId) ?? -Infinity, Date.parse(t.deletedAt)));
    const directory = directoryOf(records, tombstones);
    const index = await buildIndexInWorker(records, {
      dim: this.opts.dim,
      m,
      efConstruction: efConstruction ?? efConstructionFor(records.length),
      ef: this.opts.ef, // unset: follows the size (efForShardSize), like the index it replaces
      initialCapacity: Math.max(1024, records.length),
    });
    return { index, position, deletions, directory };
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.pendingSwap) this.swap(this.pendingSwap);
        // A failed erasure is finished before anything else (and before any snapshot).
        if (this.erasurePending) await this.erase();
        const entries = await this.changeLog.read(this.position, { blockMs: this.opts.readBlockMs, count: 500 });
        for (const entry of entries) {
          if (this.pendingSwap) break; // the swap resets the position; the rest is read again
          if (entry.change === null) {
            // It can never apply: retrying it would stop the service forever.
            logger.error(
              { entry: entry.id, reason: entry.invalid },
              'change log entry is not a gallery change: skipped',
            );
          } else {
            await this.apply(entry.change);
            if (entry.change.type === 'delete') this.erasurePending = true;
          }
          this.position = entry.id;
          this.markUnsaved();
        }
        if (this.erasurePending) await this.erase();
        if (this.loopError !== undefined) {
          logger.info({ position: this.position }, 'change log: following again');
          this.loopError = undefined;
        }
        if (entries.length < 500 && !this.ready) {
          this.ready = true;
          logger.info({ faces: this.index.size, position: this.position }, 'index service ready');
        }
        if (
          this.changesSinceSnapshot >= this.opts.snapshotEveryChanges ||
          (this.changesSinceSnapshot > 0 && Date.now() - this.firstUnsavedChangeAt >= this.opts.snapshotEveryMs)
        ) {
          await this.snapshot();
        }
      } catch (err) {
        // Redis or storage away: keep the position, try again shortly; nothing was skipped.
        this.loopError = err instanceof Error ? err.message : String(err);
        logger.warn({ err: this.loopError, position: this.position }, 'change log: will retry');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private swap(built: PendingSwap): void {
    this.pendingSwap = undefined;
    this.index = built.index;
    this.persons = built.directory;
    this.position = built.position; // changes since the build started are applied again, harmlessly
    for (const [personId, at] of built.deletions)
      this.deletions.set(personId, Math.max(this.deletions.get(personId) ?? -Infinity, at));
    this.rebuildStatus = {
      ...this.rebuildStatus,
      state: 'done',
      efConstruction: built.index.efConstruction,
      faces: built.index.size,
      finishedAt: new Date().toISOString(),
    };
    this.markUnsaved();
    this.changesSinceSnapshot = this.opts.snapshotEveryChanges; // snapshot the new index soon
    logger.info(
      { faces: built.index.size, m: built.index.m, efConstruction: built.index.efConstruction },
      'rebuilt index swapped in',
    );
  }

  private async apply(change: GalleryChange): Promise<void> {
    if (change.type === 'delete') {
      this.applyDelete(change);
      return;
    }
    if (!change.key.startsWith(`${this.gallery.prefix}segments/`)) {
      logger.error(
        { segment: change.key, gallery: this.gallery.prefix },
        'change log names a key outside the gallery: skipped',
      );
      return;
    }
    let records: GalleryRecord[];
    try {
      records = await this.gallery.readSegment(change.key);
    } catch (err) {
      if (err instanceof StorageNotFoundError) {
        logger.warn({ segment: change.key }, 'change log names a segment the gallery does not hold: skipped');
        return;
      }
      throw err;
    }
    const foreign = records.filter((r) => r.model !== this.gallery.model);
    if (foreign.length > 0) {
      // Distances between two models' embeddings mean nothing: never mix them in one index.
      logger.error(
        { segment: change.key, faces: foreign.length, model: foreign[0].model, indexModel: this.gallery.model },
        "segment holds another model's embeddings: refused (rebuild with that model instead)",
      );
    }
    this.applyRecords(records.filter((r) => r.model === this.gallery.model));
  }

  /** Records of this model into the index (unless their person was deleted after) and the directory. */
  private applyRecords(records: readonly GalleryRecord[]): void {
    this.index.add(records.filter((r) => !(Date.parse(r.enrolledAt) <= (this.deletions.get(r.personId) ?? -Infinity))));
    this.persons.addRecords(records);
  }

  private applyDelete(change: Extract<GalleryChange, { type: 'delete' }>): number {
    this.persons.applyDelete(change);
    if (change.faceIds !== undefined) {
      // Only the person's own faces: a face moved to another person (a merge) since is not theirs.
      const own = new Set(this.index.personFaces(change.personId));
      return change.faceIds.filter((faceId) => own.has(faceId) && this.index.removeFace(faceId)).length;
    }
    this.deletions.set(
      change.personId,
      Math.max(this.deletions.get(change.personId) ?? -Infinity, Date.parse(change.deletedAt)),
    );
    return this.index.removePerson(change.personId);
  }

  private markUnsaved(): void {
    if (this.changesSinceSnapshot === 0) this.firstUnsavedChangeAt = Date.now();
    this.changesSinceSnapshot++;
  }

  /**
   * Finishes deletions: the index has already overwritten their vectors (FaceIndex scrubs deleted
   * points); now the gallery's segments are rewritten without their records, a snapshot of the
   * index as it is now is written, and every older snapshot (which may hold their vectors) goes.
   */
  private async erase(): Promise<void> {
    const { records } = await this.gallery.compact();
    const name = await this.snapshot({ pruneBefore: true });
    this.erasurePending = false;
    this.lastErasure = { at: new Date().toISOString(), snapshot: name, records };
    logger.info({ snapshot: name, records }, 'deletion erased: gallery compacted, older snapshots removed');
  }

  private async snapshot(options: { pruneBefore?: boolean } = {}): Promise<string> {
    const index = this.index;
    const persons = index.persons().length;
    const name = await this.snapshots.save(index.serialize(), {
      createdAt: new Date().toISOString(),
      changePosition: this.position,
      deletions: Object.fromEntries(
        [...this.deletions].map(([personId, at]) => [personId, new Date(at).toISOString()]),
      ),
      faces: index.size,
      persons,
      m: index.m,
      efConstruction: index.efConstruction,
    });
    this.lastSnapshot = name;
    this.changesSinceSnapshot = 0;
    await this.snapshots.prune(2, options.pruneBefore ? { before: name } : {});
    logger.info({ snapshot: name, faces: index.size, position: this.position }, 'index snapshot written');
    return name;
  }
}

/** A directory of the gallery as read: its live records, and every deletion (so replays cannot revive older ones). */
function directoryOf(records: readonly GalleryRecord[], tombstones: readonly Tombstone[]): PersonDirectory {
  const directory = new PersonDirectory();
  directory.addRecords(records);
  for (const tombstone of tombstones) directory.applyDelete(tombstone);
  return directory;
}
