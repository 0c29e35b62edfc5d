import { logger } from '../logger.js';
import { compareKeys } from '../storage/compare-keys.js';
import { keySegment } from '../storage/key-segment.js';
import { listAll } from '../storage/list-all.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import type { Storage } from '../storage/storage.js';
import { CorruptGalleryObjectError } from './corrupt-gallery-object-error.js';
import type { EnrollFailure, GalleryRecord, Tombstone } from './gallery-record.js';
import { uniqueName } from '../util/unique-name.js';

export const DEFAULT_GALLERY_ROOT = 'facepipe/gallery';

export interface GalleryStoreOptions {
  /** Objects per storage list page while reading (default: the storage's default, 1000). */
  pageSize?: number;
  /** The model's embedding size: a record with another is corrupt (default: not checked). */
  embeddingSize?: number;
}

/** What compact() did. */
export interface CompactionSummary {
  /** Segments rewritten without the deleted records, and segments removed because none was left. */
  rewritten: number;
  removed: number;
  /** Records erased. */
  records: number;
}

export interface AppendOptions {
  /**
   * Makes the segment's key deterministic (`segments/<segmentId>.jsonl`): a retried job that
   * appends again with the same id overwrites its segment instead of adding a second copy.
   */
  segmentId?: string;
}

/**
 * The durable gallery of one model in storage:
 *
 *   <root>/<model>/segments/<name>.jsonl   one object per append, a GalleryRecord per line
 *   <root>/<model>/tombstones/<name>.json  one object per deletion, a Tombstone
 *   <root>/<model>/failures/<name>.jsonl   images that cannot be enrolled, an EnrollFailure per line
 *   <root>/<model>/quarantine/<kind>/<name> objects above that do not parse, moved aside
 *
 * Objects are written once and never modified (except a segment rewritten whole by a retry with the
 * same segmentId), so concurrent writers on many machines never conflict. The current gallery is a
 * function of the set of objects alone, whatever order a storage lists them in:
 * - per faceId the record with the latest `enrolledAt` wins (ties: the later segment key, then the
 *   later line), so re-enrollment replaces;
 * - a record is removed when a tombstone of its person (listing its faceId, or listing none) has a
 *   `deletedAt` at or after the record's `enrolledAt`; a person re-enrolled later comes back.
 *
 * Two exceptions to "never modified", both on purpose:
 * - compact() erases: it rewrites every segment holding a record a tombstone removes, without it
 *   (deleting a person must erase their embeddings, not only hide them).
 * - An object that does not parse (or a record that is not a valid GalleryRecord) is quarantined:
 *   moved to `quarantine/` under the same prefix, logged, and left out, so one bad object never
 *   stops every reader of the gallery. Storage faults are not corruption and propagate as they are.
 */
export class GalleryStore {
  /** '<root>/<encoded model>/', the prefix of every object of this gallery. */
  readonly prefix: string;
  private readonly pageSize: number | undefined;
  private readonly embeddingSize: number | undefined;
  /** Objects this store moved to quarantine since it was made. */
  quarantinedHere = 0;

  constructor(
    readonly storage: Storage,
    readonly model: string,
    root: string = DEFAULT_GALLERY_ROOT,
    options: GalleryStoreOptions = {},
  ) {
    if (typeof model !== 'string' || model === '') throw new Error('gallery model id must be a non-empty string');
    const trimmedRoot = root.replace(/\/+$/, '');
    this.prefix = `${trimmedRoot === '' ? '' : `${trimmedRoot}/`}${keySegment(model)}/`;
    if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
      throw new RangeError(`pageSize must be a positive integer, got ${options.pageSize}`);
    }
    this.pageSize = options.pageSize;
    this.embeddingSize = options.embeddingSize;
  }

  /** '<prefix>quarantine/': where objects that do not parse are moved. */
  get quarantinePrefix(): string {
    return `${this.prefix}quarantine/`;
  }

  /** Objects in quarantine (by every process, since the gallery began). */
  async countQuarantined(): Promise<number> {
    let count = 0;
    for await (const _ of listAll(this.storage, this.quarantinePrefix, this.pageSize)) count++;
    return count;
  }

  /** Writes `records` as ONE new segment and returns its key. */
  async append(records: GalleryRecord[], options: AppendOptions = {}): Promise<string> {
    records.forEach((record, i) => {
      this.checkRecord(record, i);
    });
    const name = options.segmentId !== undefined ? checkedId(options.segmentId, 'segmentId') : uniqueName();
    const key = `${this.prefix}segments/${name}.jsonl`;
    const body = records.map((record) => `${JSON.stringify(record)}\n`).join('');
    await this.storage.put(key, body, { contentType: 'application/x-ndjson' });
    return key;
  }

  /**
   * Writes the permanent failures of one job as one object (deterministic with `segmentId`, like
   * append) and returns its key; writes nothing and returns undefined when `failures` is empty.
   */
  async appendFailures(failures: EnrollFailure[], options: AppendOptions = {}): Promise<string | undefined> {
    if (failures.length === 0) return undefined;
    const name = options.segmentId !== undefined ? checkedId(options.segmentId, 'segmentId') : uniqueName();
    const key = `${this.prefix}failures/${name}.jsonl`;
    await this.storage.put(key, failures.map((f) => `${JSON.stringify(f)}\n`).join(''), {
      contentType: 'application/x-ndjson',
    });
    return key;
  }

  /** Every recorded enrollment failure (all of them, also of images enrolled since). */
  async readFailures(): Promise<EnrollFailure[]> {
    const failures: EnrollFailure[] = [];
    for (const key of await this.listKeys(`${this.prefix}failures/`, '.jsonl'))
      failures.push(...((await this.readOrQuarantine(key, () => this.readLines<EnrollFailure>(key))) ?? []));
    return failures;
  }

  /**
   * The records of one segment, as written (a change-log entry names a segment by its key); a
   * corrupt segment is quarantined and reads as empty.
   */
  async readSegment(key: string): Promise<GalleryRecord[]> {
    if (!key.startsWith(`${this.prefix}segments/`))
      throw new Error(`${key} is not a segment of the gallery at ${this.prefix}`);
    return (await this.readOrQuarantine(key, () => this.readRecords(key))) ?? [];
  }

  /** Records a deletion: see the class comment for what it removes. */
  async tombstone(tombstone: Tombstone): Promise<string> {
    checkTombstone(tombstone);
    const key = `${this.prefix}tombstones/${uniqueName()}.json`;
    await this.storage.put(key, JSON.stringify(tombstone), { contentType: 'application/json' });
    return key;
  }

  /**
   * The current gallery: every live face, ordered by faceId. With `erase`, also compacts (see
   * compact()) in the same pass, so a rebuild reads every segment once.
   */
  async readAll(options: { erase?: boolean } = {}): Promise<GalleryRecord[]> {
    return (await this.scanSegments(options.erase === true)).live;
  }

  /**
   * Erases what the tombstones delete: every segment holding a record they remove is rewritten
   * without it (removed when nothing is left). Idempotent, and safe to run on several replicas at
   * once (they write the same content). A re-enrollment after the deletion is kept.
   */
  async compact(): Promise<CompactionSummary> {
    return (await this.scanSegments(true)).summary;
  }

  private async scanSegments(erase: boolean): Promise<{ live: GalleryRecord[]; summary: CompactionSummary }> {
    const segmentKeys = await this.listKeys(`${this.prefix}segments/`, '.jsonl');
    const bySegment = new Map<string, GalleryRecord[]>();
    const latest = new Map<string, { record: GalleryRecord; time: number }>();
    for (const key of segmentKeys) {
      const records = await this.readOrQuarantine(key, () => this.readRecords(key));
      if (records === undefined) continue;
      if (erase) bySegment.set(key, records);
      for (const record of records) {
        const time = Date.parse(record.enrolledAt);
        const previous = latest.get(record.faceId);
        // Keys and lines are visited in order, so ">=" lets the later one win a tie.
        if (previous === undefined || time >= previous.time) latest.set(record.faceId, { record, time });
      }
    }
    const deleted = deletionsOf(await this.readTombstones());
    const live: GalleryRecord[] = [];
    for (const { record } of latest.values()) if (!deleted(record)) live.push(record);

    const summary: CompactionSummary = { rewritten: 0, removed: 0, records: 0 };
    for (const [key, records] of bySegment) {
      const kept = records.filter((record) => !deleted(record));
      if (kept.length === records.length) continue;
      summary.records += records.length - kept.length;
      if (kept.length === 0) {
        await this.storage.delete(key);
        summary.removed++;
      } else {
        await this.storage.put(key, kept.map((record) => `${JSON.stringify(record)}\n`).join(''), {
          contentType: 'application/x-ndjson',
        });
        summary.rewritten++;
      }
    }
    if (summary.records > 0)
      logger.info({ gallery: this.prefix, ...summary }, 'gallery compacted: deleted faces erased');
    return { live: live.sort((a, b) => compareKeys(a.faceId, b.faceId)), summary };
  }

  /** Person id -> the latest deletion of the whole person (tombstones listing no faceIds). */
  async deletedPersons(): Promise<Map<string, Date>> {
    const deleted = new Map<string, Date>();
    for (const { personId, deletedAt, faceIds } of await this.readTombstones()) {
      if (faceIds !== undefined) continue;
      const at = new Date(deletedAt);
      if (!(at <= (deleted.get(personId) ?? new Date(0)))) deleted.set(personId, at);
    }
    return deleted;
  }

  /** Person id -> the person they were merged into, and when (their latest merge). */
  async mergedPersons(): Promise<Map<string, { into: string; at: Date }>> {
    const merged = new Map<string, { into: string; at: Date }>();
    for (const { personId, deletedAt, faceIds, mergedInto } of await this.readTombstones()) {
      if (faceIds !== undefined || mergedInto === undefined) continue;
      const at = new Date(deletedAt);
      if (!(at <= (merged.get(personId)?.at ?? new Date(0)))) merged.set(personId, { into: mergedInto, at });
    }
    return merged;
  }

  /** Every deletion recorded, in key order (corrupt ones quarantined). */
  async readTombstones(): Promise<Tombstone[]> {
    const tombstones: Tombstone[] = [];
    for (const key of await this.listKeys(`${this.prefix}tombstones/`, '.json')) {
      const tombstone = await this.readOrQuarantine(key, async () => {
        const text = Buffer.from(await this.storage.get(key)).toString('utf8');
        let value: Tombstone;
        try {
          value = JSON.parse(text) as Tombstone;
          checkTombstone(value);
        } catch (err) {
          throw new CorruptGalleryObjectError(key, (err as Error).message);
        }
        return value;
      });
      if (tombstone !== undefined) tombstones.push(tombstone);
    }
    return tombstones;
  }

  /** personId -> number of live faces, ordered by personId. */
  async persons(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const record of await this.readAll()) counts.set(record.personId, (counts.get(record.personId) ?? 0) + 1);
    return new Map([...counts].sort(([a], [b]) => compareKeys(a, b)));
  }

  /**
   * `read()` of one object; when it is corrupt, the object is moved to quarantine and undefined is
   * returned. A missing object (removed meanwhile, e.g. by a compaction) reads as undefined too.
   */
  private async readOrQuarantine<T>(key: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof StorageNotFoundError) return undefined;
      if (!(err instanceof CorruptGalleryObjectError)) throw err;
      await this.quarantine(key, err.message);
      return undefined;
    }
  }

  /** Moves a corrupt object aside (copy, then delete: a crash in between leaves both, harmlessly). */
  private async quarantine(key: string, reason: string): Promise<void> {
    const target = `${this.quarantinePrefix}${key.slice(this.prefix.length)}`;
    try {
      await this.storage.put(target, await this.storage.get(key));
    } catch (err) {
      if (!(err instanceof StorageNotFoundError)) throw err;
      return; // another reader moved it first
    }
    await this.storage.delete(key);
    logger.error({ object: key, quarantinedAs: target, reason }, 'corrupt gallery object moved to quarantine');
    this.quarantinedHere++;
  }

  /** The records of a segment, each checked: one that is not a valid record makes the segment corrupt. */
  private async readRecords(key: string): Promise<GalleryRecord[]> {
    const records = await this.readLines<GalleryRecord>(key);
    records.forEach((record, i) => {
      const problem = recordProblem(record, record?.model === this.model ? this.embeddingSize : undefined);
      if (problem !== undefined) throw new CorruptGalleryObjectError(key, `record ${i + 1}: ${problem}`);
    });
    return records;
  }

  /** The JSON lines of one object; a line that does not parse names the object and line. */
  private async readLines<T>(key: string): Promise<T[]> {
    const lines = Buffer.from(await this.storage.get(key))
      .toString('utf8')
      .split('\n');
    const values: T[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      try {
        values.push(JSON.parse(lines[i]) as T);
      } catch (err) {
        throw new CorruptGalleryObjectError(key, `line ${i + 1}: ${(err as Error).message}`);
      }
    }
    return values;
  }

  /** Every key under `prefix` ending in `suffix`, all pages, sorted (some S3 servers list out of order). */
  private async listKeys(prefix: string, suffix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const { key } of listAll(this.storage, prefix, this.pageSize)) if (key.endsWith(suffix)) keys.push(key);
    return keys.sort(compareKeys);
  }

  private checkRecord(record: GalleryRecord, i: number): void {
    const where = `gallery record ${i}`;
    if (typeof record?.faceId !== 'string' || record.faceId === '')
      throw new Error(`${where}: faceId must be a non-empty string`);
    if (typeof record.personId !== 'string' || record.personId === '')
      throw new Error(`${where} (${record.faceId}): personId must be a non-empty string`);
    if (typeof record.source !== 'string' || record.source === '')
      throw new Error(`${where} (${record.faceId}): source must be a non-empty string`);
    if (record.model !== this.model) {
      throw new Error(
        `${where} (${record.faceId}): model ${JSON.stringify(record.model)} does not match the gallery's ${JSON.stringify(this.model)}`,
      );
    }
    if (!Array.isArray(record.embedding) || record.embedding.length === 0 || !record.embedding.every(Number.isFinite)) {
      throw new Error(`${where} (${record.faceId}): embedding must be a non-empty array of finite numbers`);
    }
    if (!isTime(record.enrolledAt)) throw new Error(`${where} (${record.faceId}): enrolledAt must be an ISO 8601 time`);
  }
}

/** Whether a tombstone removes a record: see the class comment. */
function deletionsOf(tombstones: readonly Tombstone[]): (record: GalleryRecord) => boolean {
  // personId -> deletions: the latest whole-person deletion, and per-face deletion times.
  const deletions = new Map<string, { all: number; faces: Map<string, number> }>();
  for (const tombstone of tombstones) {
    const time = Date.parse(tombstone.deletedAt);
    let entry = deletions.get(tombstone.personId);
    if (entry === undefined) {
      entry = { all: -Infinity, faces: new Map() };
      deletions.set(tombstone.personId, entry);
    }
    if (tombstone.faceIds === undefined) entry.all = Math.max(entry.all, time);
    else
      for (const faceId of tombstone.faceIds)
        entry.faces.set(faceId, Math.max(entry.faces.get(faceId) ?? -Infinity, time));
  }
  return (record) => {
    const entry = deletions.get(record.personId);
    if (entry === undefined) return false;
    const time = Date.parse(record.enrolledAt);
    return time <= entry.all || time <= (entry.faces.get(record.faceId) ?? -Infinity);
  };
}

/** Why a stored line is not a usable GalleryRecord (another model's is usable: the index refuses it). */
function recordProblem(record: GalleryRecord, embeddingSize: number | undefined): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'not an object';
  if (typeof record.faceId !== 'string' || record.faceId === '') return 'faceId must be a non-empty string';
  if (typeof record.personId !== 'string' || record.personId === '') return 'personId must be a non-empty string';
  if (typeof record.model !== 'string') return 'model must be a string';
  if (!Array.isArray(record.embedding) || record.embedding.length === 0 || !record.embedding.every(Number.isFinite))
    return 'embedding must be a non-empty array of finite numbers';
  if (embeddingSize !== undefined && record.embedding.length !== embeddingSize)
    return `embedding has ${record.embedding.length} values, the model ${embeddingSize}`;
  if (!isTime(record.enrolledAt)) return 'enrolledAt must be an ISO 8601 time';
  return undefined;
}

function checkTombstone(t: Tombstone): void {
  if (typeof t?.personId !== 'string' || t.personId === '')
    throw new Error('tombstone: personId must be a non-empty string');
  if (!isTime(t.deletedAt)) throw new Error('tombstone: deletedAt must be an ISO 8601 time');
  if (
    t.faceIds !== undefined &&
    (!Array.isArray(t.faceIds) || !t.faceIds.every((id) => typeof id === 'string' && id !== ''))
  ) {
    throw new Error('tombstone: faceIds must be an array of non-empty strings');
  }
  if (
    t.mergedInto !== undefined &&
    (typeof t.mergedInto !== 'string' || t.mergedInto === '' || t.faceIds !== undefined)
  )
    throw new Error('tombstone: mergedInto must be a non-empty string, on a whole-person deletion');
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && Number.isFinite(Date.parse(value));
}

function checkedId(id: string, what: string): string {
  if (typeof id !== 'string' || id === '') throw new Error(`${what} must be a non-empty string`);
  return keySegment(id);
}
