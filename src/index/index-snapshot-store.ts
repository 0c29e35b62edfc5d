import { createHash } from 'node:crypto';
import { logger } from '../logger.js';
import { compareKeys } from '../storage/compare-keys.js';
import { keySegment } from '../storage/key-segment.js';
import { listAll } from '../storage/list-all.js';
import { StorageNotFoundError } from '../storage/storage-not-found-error.js';
import type { Storage } from '../storage/storage.js';
import { FaceIndex, type FaceIndexMaps, type FaceIndexSnapshot } from './face-index.js';
import type {
  IndexSnapshotListing,
  IndexSnapshotMeta,
  SkippedSnapshot,
  StoredIndexSnapshotMeta,
} from './index-snapshot-types.js';
import { uniqueName } from '../util/unique-name.js';

export const DEFAULT_INDEX_ROOT = 'facepipe/index';

const INDEX_FILE = 'index.bin';
const MAPS_FILE = 'maps.json';
const META_FILE = 'meta.json';
const SNAPSHOT_NAME = /^\d{8}T\d{9}Z-[0-9a-f]{16}$/;
/** The files meta.json must checksum: every file of a snapshot but itself. */
const CHECKED_FILES = [INDEX_FILE, MAPS_FILE] as const;
/** Temp files of a writer that died are removed once this old (a live writer finishes long before). */
const STALE_TEMP_MS = 10 * 60_000;

export interface LoadedIndexSnapshot {
  index: FaceIndex;
  meta: StoredIndexSnapshotMeta;
  name: string;
}

interface ScannedSnapshot extends IndexSnapshotListing {
  keys: string[];
}

/**
 * Snapshots of one model's FaceIndex in storage (DESIGN.md, "Storage layout"):
 *
 *   <root>/<model>/<snapshot>/index.bin   the hnswlib index bytes
 *   <root>/<model>/<snapshot>/maps.json   the label maps (FaceIndexMaps)
 *   <root>/<model>/<snapshot>/meta.json   StoredIndexSnapshotMeta, written last
 *
 * Storage has no transactions, so meta.json is the commit marker: a snapshot without it is still
 * being written (or its writer died) and is never loaded. Snapshot names sort by creation time.
 * meta.json holds the sha256 of every other file (`files`): a truncated index.bin or an edited
 * maps.json (a swapped label would name the wrong person at distance 0) is refused on load, and
 * the snapshot is remembered as damaged so that prune() removes it and never counts it as kept.
 */
export class IndexSnapshotStore {
  /** '<root>/<encoded model>/', the prefix of every object of this store. */
  readonly prefix: string;
  /** What the last loadNewest() passed over (newest first), and why. */
  skipped: SkippedSnapshot[] = [];
  /** Snapshots found damaged by this store: prune() deletes them. */
  private readonly damaged = new Set<string>();

  constructor(
    readonly storage: Storage,
    readonly model: string,
    root: string = DEFAULT_INDEX_ROOT,
  ) {
    if (typeof model !== 'string' || model === '') throw new Error('index model id must be a non-empty string');
    const trimmedRoot = root.replace(/\/+$/, '');
    this.prefix = `${trimmedRoot === '' ? '' : `${trimmedRoot}/`}${keySegment(model)}/`;
  }

  /** Writes a new snapshot and returns its name. */
  async save(snapshot: FaceIndexSnapshot, meta: IndexSnapshotMeta): Promise<string> {
    const problem = metaProblem(meta) ?? mismatch(meta, snapshot.maps);
    if (problem) throw new Error(`index snapshot meta: ${problem}`);
    const maps = JSON.stringify(snapshot.maps);
    const stored: StoredIndexSnapshotMeta = {
      createdAt: meta.createdAt,
      changePosition: meta.changePosition,
      deletions: meta.deletions,
      faces: meta.faces,
      persons: meta.persons,
      m: meta.m,
      efConstruction: meta.efConstruction,
      indexSha256: sha256(snapshot.index),
      files: { [INDEX_FILE]: sha256(snapshot.index), [MAPS_FILE]: sha256(Buffer.from(maps, 'utf8')) },
    };
    const name = uniqueName();
    const dir = `${this.prefix}${name}/`;
    await Promise.all([
      this.storage.put(dir + INDEX_FILE, snapshot.index, { contentType: 'application/octet-stream' }),
      this.storage.put(dir + MAPS_FILE, maps, { contentType: 'application/json' }),
    ]);
    // Last: only now does the snapshot count as complete.
    await this.storage.put(dir + META_FILE, JSON.stringify(stored), { contentType: 'application/json' });
    return name;
  }

  /**
   * The newest complete snapshot that loads. Incomplete, corrupt and checksum-mismatched snapshots
   * are skipped with a warning (the older one plus a longer change replay is still correct) and
   * listed in `skipped`; storage faults other than a missing object propagate, so an outage is not
   * mistaken for damage.
   */
  async loadNewest(options: { ef?: number } = {}): Promise<LoadedIndexSnapshot | undefined> {
    const skipped: SkippedSnapshot[] = [];
    this.skipped = skipped;
    for (const { name, complete, keys } of await this.scan()) {
      const dir = `${this.prefix}${name}/`;
      if (!complete) {
        const reason = keys.some((key) => key.endsWith(`/${INDEX_FILE}`) || key.endsWith(`/${MAPS_FILE}`))
          ? 'incomplete: no meta.json (half-written, or still being written)'
          : 'incomplete: no meta.json';
        skipped.push({ name, reason });
        logger.warn({ snapshot: dir, reason }, 'index snapshot skipped; trying an older one');
        continue;
      }
      let raw: { meta: Uint8Array; index: Uint8Array; maps: Uint8Array };
      try {
        const [meta, index, maps] = await Promise.all(
          [META_FILE, INDEX_FILE, MAPS_FILE].map((f) => this.storage.get(dir + f)),
        );
        raw = { meta, index, maps };
      } catch (err) {
        // Deleted under us (another replica's prune), or a file missing: not this store's to judge
        // damaged (the other replica may be deleting it), so it is only skipped.
        if (!(err instanceof StorageNotFoundError)) throw err;
        skipped.push({ name, reason: `a file is missing: ${err.message}` });
        logger.warn({ snapshot: dir, err: err.message }, 'index snapshot lost an object; trying an older one');
        continue;
      }
      try {
        const { index, meta } = decode(raw, options.ef);
        return { index, meta, name };
      } catch (err) {
        const reason = `corrupt: ${(err as Error).message}`;
        skipped.push({ name, reason });
        this.damaged.add(name);
        logger.warn({ snapshot: dir, reason }, 'index snapshot is corrupt; trying an older one');
      }
    }
    return undefined;
  }

  /**
   * Deletes all but the newest `keep` good complete snapshots, every snapshot this store found
   * damaged, incomplete ones older than the newest complete one (newer ones may still be being
   * written), and with `before`, every snapshot older than that one (erasure: older snapshots may
   * hold a deleted person's vectors). Then sweeps what writers that died left behind (temp files,
   * empty folders) where the storage has such things. Returns how many snapshots were deleted.
   */
  async prune(keep = 2, options: { before?: string } = {}): Promise<number> {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
    const snapshots = await this.scan();
    const newestComplete = snapshots.findIndex((s) => s.complete && !this.damaged.has(s.name));
    const before = options.before;
    let kept = 0;
    const doomed = snapshots.filter((s, i) => {
      if (before !== undefined && compareKeys(s.name, before) < 0) return true;
      if (this.damaged.has(s.name)) return true;
      return s.complete ? ++kept > keep : newestComplete !== -1 && i > newestComplete;
    });
    for (const snapshot of doomed) {
      // meta.json first: a half-deleted snapshot is then incomplete, never loaded as damaged.
      const meta = snapshot.keys.find((key) => key.endsWith(`/${META_FILE}`));
      if (meta !== undefined) await this.storage.delete(meta);
      await Promise.all(snapshot.keys.filter((key) => key !== meta).map((key) => this.storage.delete(key)));
      this.damaged.delete(snapshot.name);
    }
    await this.storage.sweep?.(this.prefix, STALE_TEMP_MS);
    return doomed.length;
  }

  /** Snapshot names, newest first. */
  async list(): Promise<IndexSnapshotListing[]> {
    return (await this.scan()).map(({ name, complete }) => ({ name, complete }));
  }

  /** Every snapshot with its keys, newest first; objects that are not in a snapshot folder are ignored. */
  private async scan(): Promise<ScannedSnapshot[]> {
    const byName = new Map<string, ScannedSnapshot>();
    for await (const { key } of listAll(this.storage, this.prefix)) {
      const rest = key.slice(this.prefix.length);
      const slash = rest.indexOf('/');
      const name = rest.slice(0, slash);
      if (slash === -1 || !SNAPSHOT_NAME.test(name)) continue;
      let entry = byName.get(name);
      if (entry === undefined) {
        entry = { name, complete: false, keys: [] };
        byName.set(name, entry);
      }
      entry.keys.push(key);
      if (rest.slice(slash + 1) === META_FILE) entry.complete = true;
    }
    return [...byName.values()].sort((a, b) => compareKeys(b.name, a.name));
  }
}

/** Checks and restores a snapshot's objects; every failure here means the snapshot is damaged. */
function decode(
  raw: { meta: Uint8Array; index: Uint8Array; maps: Uint8Array },
  ef: number | undefined,
): { index: FaceIndex; meta: StoredIndexSnapshotMeta } {
  const meta = JSON.parse(text(raw.meta)) as StoredIndexSnapshotMeta;
  const metaIssue =
    metaProblem(meta) ?? (/^[0-9a-f]{64}$/.test(String(meta.indexSha256)) ? undefined : 'indexSha256 is not a sha256');
  if (metaIssue) throw new Error(`meta.json: ${metaIssue}`);
  const files = meta.files;
  if (typeof files !== 'object' || files === null)
    throw new Error('meta.json has no checksum of each file (a snapshot older than file checksums)');
  const indexBytes = Buffer.from(raw.index.buffer, raw.index.byteOffset, raw.index.byteLength);
  const bytes: Record<(typeof CHECKED_FILES)[number], Uint8Array> = { [INDEX_FILE]: indexBytes, [MAPS_FILE]: raw.maps };
  for (const file of CHECKED_FILES) {
    const expected = files[file];
    if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/.test(expected))
      throw new Error(`meta.json has no sha256 of ${file}`);
    const actual = sha256(bytes[file]);
    if (actual !== expected) throw new Error(`${file} has sha256 ${actual}, meta.json says ${expected}`);
  }
  if (files[INDEX_FILE] !== meta.indexSha256) throw new Error('meta.json: indexSha256 and files disagree');
  const maps = JSON.parse(text(raw.maps)) as FaceIndexMaps;
  const mapsIssue = mismatch(meta, maps);
  if (mapsIssue) throw new Error(`maps.json does not match meta.json: ${mapsIssue}`);
  return { index: FaceIndex.restore({ index: indexBytes, maps }, { ef }), meta };
}

/** Why `meta` is not a valid IndexSnapshotMeta, or undefined. */
function metaProblem(meta: IndexSnapshotMeta): string | undefined {
  if (typeof meta !== 'object' || meta === null) return 'must be an object';
  if (!isTime(meta.createdAt)) return 'createdAt must be an ISO 8601 time';
  if (typeof meta.changePosition !== 'string' || !/^\d+-\d+$/.test(meta.changePosition))
    return 'changePosition must be a stream id like 1700000000000-0';
  if (typeof meta.deletions !== 'object' || meta.deletions === null || Array.isArray(meta.deletions))
    return 'deletions must be an object';
  for (const [personId, deletedAt] of Object.entries(meta.deletions)) {
    if (!isTime(deletedAt)) return `deletions[${JSON.stringify(personId)}] must be an ISO 8601 time`;
  }
  for (const field of ['faces', 'persons'] as const) {
    if (!Number.isInteger(meta[field]) || meta[field] < 0) return `${field} must be a non-negative integer`;
  }
  for (const field of ['m', 'efConstruction'] as const) {
    if (!Number.isInteger(meta[field]) || meta[field] < 1) return `${field} must be a positive integer`;
  }
  return undefined;
}

/** Where meta's counts and parameters disagree with the maps, or undefined. */
function mismatch(meta: IndexSnapshotMeta, maps: FaceIndexMaps): string | undefined {
  if (typeof maps !== 'object' || maps === null || !Array.isArray(maps.faces)) return 'maps have no faces array';
  const persons = new Set(maps.faces.map((face) => face[2])).size;
  const actual = { faces: maps.faces.length, persons, m: maps.m, efConstruction: maps.efConstruction };
  for (const field of ['faces', 'persons', 'm', 'efConstruction'] as const) {
    if (meta[field] !== actual[field]) return `${field} is ${meta[field]} in meta, ${actual[field]} in the index`;
  }
  return undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && Number.isFinite(Date.parse(value));
}
