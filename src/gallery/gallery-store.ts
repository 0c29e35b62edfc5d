import { compareKeys } from '../storage/compare-keys.js';
import { keySegment } from '../storage/key-segment.js';
import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import type { EnrollFailure, GalleryRecord, Tombstone } from './gallery-record.js';
import { uniqueName } from '../util/unique-name.js';

export const DEFAULT_GALLERY_ROOT = 'facepipe/gallery';

export interface GalleryStoreOptions {
  /** Objects per storage list page while reading (default: the storage's default, 1000). */
  pageSize?: number;
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
 *
 * Objects are written once and never modified (except a segment rewritten whole by a retry with the
 * same segmentId), so concurrent writers on many machines never conflict. The current gallery is a
 * function of the set of objects alone, whatever order a storage lists them in:
 * - per faceId the record with the latest `enrolledAt` wins (ties: the later segment key, then the
 *   later line), so re-enrollment replaces;
 * - a record is removed when a tombstone of its person (listing its faceId, or listing none) has a
 *   `deletedAt` at or after the record's `enrolledAt`; a person re-enrolled later comes back.
 */
export class GalleryStore {
  /** '<root>/<encoded model>/', the prefix of every object of this gallery. */
  readonly prefix: string;
  private readonly pageSize: number | undefined;

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
      failures.push(...(await this.readLines<EnrollFailure>(key)));
    return failures;
  }

  /** The records of one segment, as written (a change-log entry names a segment by its key). */
  async readSegment(key: string): Promise<GalleryRecord[]> {
    if (!key.startsWith(`${this.prefix}segments/`))
      throw new Error(`${key} is not a segment of the gallery at ${this.prefix}`);
    return this.readLines<GalleryRecord>(key);
  }

  /** Records a deletion: see the class comment for what it removes. */
  async tombstone(tombstone: Tombstone): Promise<string> {
    checkTombstone(tombstone);
    const key = `${this.prefix}tombstones/${uniqueName()}.json`;
    await this.storage.put(key, JSON.stringify(tombstone), { contentType: 'application/json' });
    return key;
  }

  /** The current gallery: every live face, ordered by faceId. */
  async readAll(): Promise<GalleryRecord[]> {
    const segmentKeys = await this.listKeys(`${this.prefix}segments/`, '.jsonl');

    const latest = new Map<string, { record: GalleryRecord; time: number }>();
    for (const key of segmentKeys) {
      for (const record of await this.readLines<GalleryRecord>(key)) {
        const time = Date.parse(record.enrolledAt);
        const previous = latest.get(record.faceId);
        // Keys and lines are visited in order, so ">=" lets the later one win a tie.
        if (previous === undefined || time >= previous.time) latest.set(record.faceId, { record, time });
      }
    }

    // personId -> deletions: the latest whole-person deletion, and per-face deletion times.
    const deletions = new Map<string, { all: number; faces: Map<string, number> }>();
    for (const tombstone of await this.readTombstones()) {
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

    const live: GalleryRecord[] = [];
    for (const { record, time } of latest.values()) {
      const entry = deletions.get(record.personId);
      if (entry !== undefined && (time <= entry.all || time <= (entry.faces.get(record.faceId) ?? -Infinity))) continue;
      live.push(record);
    }
    return live.sort((a, b) => compareKeys(a.faceId, b.faceId));
  }

  /** Every deletion recorded, in key order. */
  async readTombstones(): Promise<Tombstone[]> {
    const tombstones: Tombstone[] = [];
    for (const key of await this.listKeys(`${this.prefix}tombstones/`, '.json')) {
      const text = Buffer.from(await this.storage.get(key)).toString('utf8');
      try {
        tombstones.push(JSON.parse(text) as Tombstone);
      } catch (err) {
        throw new Error(`corrupt gallery tombstone ${key}: ${(err as Error).message}`);
      }
    }
    return tombstones;
  }

  /** personId -> number of live faces, ordered by personId. */
  async persons(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const record of await this.readAll()) counts.set(record.personId, (counts.get(record.personId) ?? 0) + 1);
    return new Map([...counts].sort(([a], [b]) => compareKeys(a, b)));
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
        throw new Error(`corrupt gallery object ${key} line ${i + 1}: ${(err as Error).message}`);
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
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && Number.isFinite(Date.parse(value));
}

function checkedId(id: string, what: string): string {
  if (typeof id !== 'string' || id === '') throw new Error(`${what} must be a non-empty string`);
  return keySegment(id);
}
