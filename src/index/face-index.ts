/**
 * FaceIndex: the in-memory ANN index of face embeddings (DESIGN.md, "Index service").
 *
 * An HNSW graph (hnswlib-node, space 'l2') plus the maps label -> face -> person. Labels are
 * internal (a counter, never reused); callers only see faceId and personId. Distances returned
 * are Euclidean (hnswlib's 'l2' space gives squared distances; they are converted here).
 *
 * Everything is synchronous and holds no global state, so the class can live on the main thread
 * or inside a worker thread (big builds belong in a worker: each addPoint blocks ~1 ms at 1152-D).
 *
 * A large index is split into shards: independent HNSW graphs over disjoint sets of labels, searched
 * one after the other with the top-k merged. hnswlib-node's addPoint is synchronous and a native
 * index cannot be shared between threads, so shards are what lets buildIndexInWorker() use every
 * core (one shard per worker thread); new faces go to the shard with the fewest live faces.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';

type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;

/** Defaults for the HNSW parameters. */
export const DEFAULT_M = 16;
export const DEFAULT_EF_CONSTRUCTION = 200;
/**
 * Default query-time ef, with M 16 and efConstruction 200. Chosen with
 * `npm run bench:index -- --n 200000` (128-D clustered unit vectors, 50,000 persons x 4 faces,
 * 1,000 held-out queries; recall against exact search, single-query latency on this 2-core box):
 *   ef 32: recall@1 0.942, p50 0.19 ms    ef 64: 0.987, 0.31 ms    ef 96: 0.996, 0.43 ms
 *   ef 128: 0.997, 0.55 ms
 * ef 96 is the smallest tried that meets the targets (recall@1 >= 0.99, p50 <= 1 ms)
 * with margin on both. recall@10 is lower (~0.87 at ef 96: beyond a person's own faces the
 * neighbours are near-equidistant); raise ef per query when the full top 10 matters.
 */
export const DEFAULT_EF = 96;
/**
 * ef by the size of the largest shard, when the caller fixes none (`efForShardSize`): recall at a
 * fixed ef falls as a graph grows (1,000,000 faces in one graph at ef 96: recall@1 0.939).
 * Each row: [shard size up to, ef]. Measured with bench:index (docs/benchmarks.md, "Index"):
 * 2 shards of 100,000, efConstruction 100: ef 48 recall@1 0.989, ef 64 0.996, ef 96 0.998;
 * 2 shards of 200,000: ef 64 0.984, ef 96 0.994, ef 128 0.996, ef 160 0.998;
 * 2 shards of 500,000: ef 96 0.968, ef 128 0.980, ef 160 0.994, ef 192 0.996 (p50 2.0 ms at 160).
 */
export const EF_BY_SHARD_SIZE: ReadonlyArray<readonly [number, number]> = [
  [200_000, DEFAULT_EF],
  [Number.POSITIVE_INFINITY, 160],
];
/**
 * efConstruction of a build from the gallery when none is configured: above 200,000 faces, 100
 * instead of DEFAULT_EF_CONSTRUCTION, which halves the build (1,000,000 faces at 200 took 1,353 s on
 * one thread); the recall lost is won back with a larger query ef (EF_BY_SHARD_SIZE).
 */
export function efConstructionFor(faces: number): number {
  return faces > 200_000 ? 100 : DEFAULT_EF_CONSTRUCTION;
}
/** Builds from this many faces up are split into one shard per core (below, one graph is searched faster). */
export const SHARD_MIN_FACES = 100_000;
export const DEFAULT_INITIAL_CAPACITY = 1024;
/** The most faces searchPersons looks at for one query. */
export const MAX_PERSON_SEARCH = 4096;
/** Labels are uint32 in hnswlib-node and wrap silently past this value. */
export const MAX_LABEL = 2 ** 32 - 1;

export interface FaceIndexOptions {
  /** Embedding dimension (1152 for the engine's embedder). */
  dim: number;
  /** HNSW M (links per node). Default 16. */
  m?: number;
  /** HNSW efConstruction. Default 200. */
  efConstruction?: number;
  /** Query-time ef. Default: follows the size (efForShardSize), until set. */
  ef?: number;
  /** Slots reserved up front (in total, spread over the shards); the index doubles as needed. Default 1024. */
  initialCapacity?: number;
  /** Independent HNSW graphs the faces are spread over. Default 1. */
  shards?: number;
  /** The first label given out (buildIndexInWorker's shard workers use disjoint label ranges). Default 0. */
  firstLabel?: number;
}

/** The default query ef for an index whose largest shard holds `faces` faces. */
export function efForShardSize(faces: number): number {
  for (const [upTo, ef] of EF_BY_SHARD_SIZE) if (faces <= upTo) return ef;
  return DEFAULT_EF;
}

/** How many shards a build of `faces` faces uses on a machine with `cores` cores. */
export function shardsFor(faces: number, cores: number): number {
  return faces >= SHARD_MIN_FACES ? Math.max(1, Math.min(cores, Math.floor(faces / (SHARD_MIN_FACES / 2)))) : 1;
}

export interface FaceRecord {
  faceId: string;
  personId: string;
  embedding: ArrayLike<number>;
}

export interface FaceMatch {
  faceId: string;
  personId: string;
  /** Euclidean distance to the query. */
  distance: number;
}

export interface PersonSummary {
  personId: string;
  faces: number;
}

/**
 * The label maps of a snapshot: plain JSON-able data. Version 1: one graph, faces are
 * [label, faceId, personId]. Version 2: several graphs, their files concatenated in the index
 * bytes (`shardBytes` long each, in order), faces are [label, faceId, personId, shard].
 */
export type FaceIndexMaps = FaceIndexMapsV1 | FaceIndexMapsV2;

interface FaceIndexMapsBase {
  dim: number;
  m: number;
  efConstruction: number;
  ef: number;
  /** ef follows the size (it was never set): a restore keeps following it. Absent: false. */
  autoEf?: boolean;
  nextLabel: number;
}

export interface FaceIndexMapsV1 extends FaceIndexMapsBase {
  version: 1;
  /** Live faces: [label, faceId, personId]. */
  faces: Array<[number, string, string]>;
}

export interface FaceIndexMapsV2 extends FaceIndexMapsBase {
  version: 2;
  /** Byte length of each shard's hnswlib file inside the index bytes. */
  shardBytes: number[];
  /** Live faces: [label, faceId, personId, shard]. */
  faces: Array<[number, string, string, number]>;
}

export interface FaceIndexSnapshot {
  /** The hnswlib index files' bytes (writeIndex output; several shards' back to back). */
  index: Buffer;
  maps: FaceIndexMaps;
}

interface LabelEntry {
  faceId: string;
  personId: string;
  shard: number;
}

export class FaceIndexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaceIndexError';
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new FaceIndexError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export class FaceIndex {
  readonly dim: number;
  readonly m: number;
  readonly efConstruction: number;

  private readonly shards: Hnsw[];
  /** ef set by the caller; undefined: it follows the largest shard's size. */
  private fixedEf: number | undefined;
  private nextLabel: number;
  /** Per shard: slots used in its hnswlib index, live and deleted (deleted slots still count). */
  private readonly usedSlots: number[];
  /** Per shard: live faces. */
  private readonly live: number[];
  private readonly byLabel = new Map<number, LabelEntry>();
  private readonly labelByFace = new Map<string, number>();
  private readonly facesByPerson = new Map<string, Set<string>>();

  constructor(options: FaceIndexOptions, existing?: { shards: Hnsw[] }) {
    this.dim = positiveInt('dim', options.dim);
    this.m = positiveInt('m', options.m ?? DEFAULT_M);
    this.efConstruction = positiveInt('efConstruction', options.efConstruction ?? DEFAULT_EF_CONSTRUCTION);
    this.fixedEf = options.ef === undefined ? undefined : positiveInt('ef', options.ef);
    const firstLabel = options.firstLabel ?? 0;
    if (!Number.isInteger(firstLabel) || firstLabel < 0 || firstLabel > MAX_LABEL)
      throw new FaceIndexError(`firstLabel must be an integer in 0..${MAX_LABEL}, got ${firstLabel}`);
    this.nextLabel = firstLabel;
    if (existing) {
      this.shards = existing.shards;
    } else {
      const count = positiveInt('shards', options.shards ?? 1);
      const capacity = positiveInt('initialCapacity', options.initialCapacity ?? DEFAULT_INITIAL_CAPACITY);
      this.shards = Array.from({ length: count }, () => {
        const hnsw = new hnswlib.HierarchicalNSW('l2', this.dim);
        // allowReplaceDeleted: a replaced or removed face's slot is reused by later adds.
        hnsw.initIndex({
          maxElements: Math.max(1, Math.ceil(capacity / count)),
          m: this.m,
          efConstruction: this.efConstruction,
          allowReplaceDeleted: true,
        });
        return hnsw;
      });
    }
    this.usedSlots = this.shards.map((hnsw) => hnsw.getCurrentCount());
    this.live = this.shards.map(() => 0);
    this.applyEf();
  }

  /** Live faces. */
  get size(): number {
    return this.byLabel.size;
  }

  /** Independent graphs searched together. */
  get shardCount(): number {
    return this.shards.length;
  }

  /** Slots reserved in the hnswlib indexes (each grows by doubling). */
  get capacity(): number {
    return this.shards.reduce((sum, hnsw) => sum + hnsw.getMaxElements(), 0);
  }

  get ef(): number {
    return this.shards[0].getEf();
  }

  /** Fixes the query ef (for every shard); it no longer follows the size. */
  set ef(value: number) {
    this.fixedEf = positiveInt('ef', value);
    this.applyEf();
  }

  /** ef follows the size again (efForShardSize). */
  useDefaultEf(): void {
    this.fixedEf = undefined;
    this.applyEf();
  }

  /**
   * Adds faces. An existing faceId is replaced (old point deleted, new one added); re-applying
   * the identical record is a no-op, so replaying gallery changes never duplicates a face.
   * All vectors are validated before anything is changed.
   */
  add(faces: readonly FaceRecord[]): void {
    const points = faces.map((face) => {
      if (typeof face.faceId !== 'string' || face.faceId === '')
        throw new FaceIndexError('faceId must be a non-empty string');
      if (typeof face.personId !== 'string' || face.personId === '') {
        throw new FaceIndexError(`face ${face.faceId}: personId must be a non-empty string`);
      }
      return this.toPoint(face.embedding, `face ${face.faceId}`);
    });
    for (let i = 0; i < faces.length; i++) {
      const { faceId, personId } = faces[i];
      const point = points[i];
      const oldLabel = this.labelByFace.get(faceId);
      if (oldLabel !== undefined) {
        const old = this.byLabel.get(oldLabel)!;
        if (old.personId === personId && this.samePoint(oldLabel, point)) continue;
        this.deleteLabel(oldLabel);
      }
      this.insert(faceId, personId, point);
    }
    if (this.fixedEf === undefined) this.applyEf();
  }

  /** Removes every face of a person; returns how many were removed. */
  removePerson(personId: string): number {
    const faces = this.facesByPerson.get(personId);
    if (!faces) return 0;
    const ids = [...faces];
    for (const faceId of ids) this.deleteLabel(this.labelByFace.get(faceId)!);
    return ids.length;
  }

  /** Removes one face; returns whether it existed. */
  removeFace(faceId: string): boolean {
    const label = this.labelByFace.get(faceId);
    if (label === undefined) return false;
    this.deleteLabel(label);
    return true;
  }

  has(faceId: string): boolean {
    return this.labelByFace.has(faceId);
  }

  /** Persons with their number of faces, sorted by personId. */
  persons(): PersonSummary[] {
    return [...this.facesByPerson]
      .map(([personId, faces]) => ({ personId, faces: faces.size }))
      .sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
  }

  /** The faceIds of one person (empty when unknown). */
  personFaces(personId: string): string[] {
    return [...(this.facesByPerson.get(personId) ?? [])];
  }

  /** The stored vector of a face (float32 precision), or undefined. */
  embedding(faceId: string): Float32Array | undefined {
    const label = this.labelByFace.get(faceId);
    return label === undefined ? undefined : Float32Array.from(this.point(label));
  }

  /**
   * Approximate k nearest faces for each query, ascending Euclidean distance. With k larger than
   * the live count, returns what exists. Deleted faces are never returned. With shards, each
   * shard's k nearest are merged.
   */
  search(queries: readonly ArrayLike<number>[], k: number): FaceMatch[][] {
    positiveInt('k', k);
    const points = queries.map((q, i) => this.toPoint(q, `query ${i}`));
    const kk = Math.min(k, this.size);
    return points.map((point) => {
      if (kk === 0) return [];
      const out: FaceMatch[] = [];
      for (let s = 0; s < this.shards.length; s++) {
        const ks = Math.min(kk, this.live[s]);
        if (ks === 0) continue;
        const { distances, neighbors } = this.shards[s].searchKnn(point, ks);
        for (let i = 0; i < neighbors.length; i++) {
          const entry = this.byLabel.get(neighbors[i]);
          if (!entry) continue; // cannot happen: deleted labels are skipped by hnswlib
          out.push({ faceId: entry.faceId, personId: entry.personId, distance: Math.sqrt(Math.max(0, distances[i])) });
        }
      }
      if (this.shards.length > 1) {
        out.sort((a, b) => a.distance - b.distance);
        out.length = Math.min(out.length, kk);
      }
      return out;
    });
  }

  /**
   * The k nearest PERSONS of each query: each person's closest face, ascending. A person with many
   * faces can fill a plain top-k alone (and hide the runner-up the 1:N rule compares with), so the
   * face search widens (x4 each time, up to MAX_PERSON_SEARCH faces) until k persons are found.
   */
  searchPersons(queries: readonly ArrayLike<number>[], k: number): FaceMatch[][] {
    positiveInt('k', k);
    // An empty index has no person to find (and a face search of 0 would be refused).
    if (this.size === 0) {
      for (const [i, q] of queries.entries()) this.toPoint(q, `query ${i}`);
      return queries.map(() => []);
    }
    return queries.map((query) => {
      for (let faces = 4 * k; ; faces *= 4) {
        const hits = this.search([query], Math.min(faces, this.size, MAX_PERSON_SEARCH))[0];
        const best = new Map<string, FaceMatch>();
        for (const hit of hits) if (!best.has(hit.personId)) best.set(hit.personId, hit); // hits ascend
        if (best.size >= k || hits.length >= Math.min(this.size, MAX_PERSON_SEARCH))
          return [...best.values()].slice(0, k);
      }
    });
  }

  /**
   * Exact k nearest faces by brute force over the live vectors (read back from the index, so
   * the same float32 values hnswlib compares). The reference for tests and the benchmark.
   */
  exactSearch(queries: readonly ArrayLike<number>[], k: number): FaceMatch[][] {
    positiveInt('k', k);
    const dim = this.dim;
    const qs = queries.map((q, i) => Float32Array.from(this.toPoint(q, `query ${i}`)));
    const labels = [...this.byLabel.keys()];
    const n = labels.length;
    const matrix = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) matrix.set(this.point(labels[r]), r * dim);
    const kk = Math.min(k, n);
    return exactTopK(matrix, n, dim, qs, kk).map((best) =>
      best.map(({ row, d2 }) => {
        const entry = this.byLabel.get(labels[row])!;
        return { faceId: entry.faceId, personId: entry.personId, distance: Math.sqrt(d2) };
      }),
    );
  }

  /**
   * A snapshot: the hnswlib index bytes and the label maps. One shard gives a version 1 snapshot
   * (one hnswlib file, as before shards existed); several give version 2 (their files back to back).
   */
  serialize(): FaceIndexSnapshot {
    const dir = mkdtempSync(join(tmpdir(), `facepipe-index-${process.pid}-`));
    try {
      const files = this.shards.map((hnsw, s) => {
        const file = join(dir, `index-${s}.hnsw`);
        hnsw.writeIndexSync(file);
        const bytes = readFileSync(file);
        rmSync(file); // one shard's copy on disk at a time
        return bytes;
      });
      const base = {
        dim: this.dim,
        m: this.m,
        efConstruction: this.efConstruction,
        ef: this.ef,
        ...(this.fixedEf === undefined ? { autoEf: true } : {}),
        nextLabel: this.nextLabel,
      };
      if (this.shards.length === 1) {
        const faces: Array<[number, string, string]> = [];
        for (const [label, { faceId, personId }] of this.byLabel) faces.push([label, faceId, personId]);
        return { index: files[0], maps: { version: 1, ...base, faces } };
      }
      const faces: Array<[number, string, string, number]> = [];
      for (const [label, { faceId, personId, shard }] of this.byLabel) faces.push([label, faceId, personId, shard]);
      return {
        index: Buffer.concat(files),
        maps: { version: 2, ...base, shardBytes: files.map((f) => f.length), faces },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Rebuilds an index from serialize()'s output. ef: the option, else the snapshot's (readIndex
   * resets it to 10), following the size again when the snapshot's did.
   */
  static restore(snapshot: FaceIndexSnapshot, options: { ef?: number } = {}): FaceIndex {
    const { maps } = snapshot;
    if (maps.version !== 1 && maps.version !== 2)
      throw new FaceIndexError(`unsupported snapshot version ${String((maps as { version: unknown }).version)}`);
    const parts = maps.version === 1 ? [snapshot.index.length] : maps.shardBytes;
    if (
      !Array.isArray(parts) ||
      parts.length === 0 ||
      !parts.every((b) => Number.isInteger(b) && b > 0) ||
      parts.reduce((a, b) => a + b, 0) !== snapshot.index.length
    ) {
      throw new FaceIndexError(`snapshot shard sizes do not add up to the ${snapshot.index.length} index bytes`);
    }
    const files: Buffer[] = [];
    for (let i = 0, offset = 0; i < parts.length; offset += parts[i++])
      files.push(snapshot.index.subarray(offset, offset + parts[i]));
    return FaceIndex.assemble(files, maps, options);
  }

  /**
   * One index made of several built separately (buildIndexInWorker's workers): each part becomes
   * a shard. A label or faceId in two parts is refused.
   */
  static combine(parts: readonly FaceIndexSnapshot[], options: { ef?: number } = {}): FaceIndex {
    if (parts.length === 0) throw new FaceIndexError('no index to combine');
    if (parts.length === 1) return FaceIndex.restore(parts[0], options);
    const first = parts[0].maps;
    const faces: Array<[number, string, string, number]> = [];
    let nextLabel = 0;
    parts.forEach(({ maps }, shard) => {
      if (maps.version !== 1) throw new FaceIndexError('only single-shard indexes can be combined');
      if (maps.dim !== first.dim || maps.m !== first.m || maps.efConstruction !== first.efConstruction)
        throw new FaceIndexError('indexes to combine differ in dim, m or efConstruction');
      for (const [label, faceId, personId] of maps.faces) faces.push([label, faceId, personId, shard]);
      nextLabel = Math.max(nextLabel, maps.nextLabel);
    });
    return FaceIndex.assemble(
      parts.map((p) => p.index),
      {
        version: 2,
        dim: first.dim,
        m: first.m,
        efConstruction: first.efConstruction,
        ef: first.ef,
        autoEf: first.autoEf,
        nextLabel,
        shardBytes: parts.map((p) => p.index.length),
        faces,
      },
      options,
    );
  }

  // ---------------------------------------------------------------------------------------------

  /** An index from its shards' hnswlib files and the maps. */
  private static assemble(files: readonly Buffer[], maps: FaceIndexMaps, options: { ef?: number }): FaceIndex {
    const shards = FaceIndex.readShards(files, maps.dim);
    const ef = options.ef ?? (maps.autoEf ? undefined : maps.ef);
    const index = new FaceIndex({ dim: maps.dim, m: maps.m, efConstruction: maps.efConstruction, ef }, { shards });
    index.nextLabel = maps.nextLabel;
    for (const face of maps.faces) {
      const [label, faceId, personId] = face;
      const shard = maps.version === 1 ? 0 : (face[3] as number);
      if (label >= maps.nextLabel) throw new FaceIndexError(`snapshot label ${label} >= nextLabel ${maps.nextLabel}`);
      if (!Number.isInteger(shard) || shard < 0 || shard >= shards.length)
        throw new FaceIndexError(`snapshot face ${faceId}: no shard ${shard}`);
      if (index.byLabel.has(label) || index.labelByFace.has(faceId))
        throw new FaceIndexError(`snapshot face ${faceId} (label ${label}) appears twice`);
      index.link(label, faceId, personId, shard);
    }
    index.applyEf();
    return index;
  }

  private static readShards(files: readonly Buffer[], dim: number): Hnsw[] {
    const dir = mkdtempSync(join(tmpdir(), `facepipe-index-${process.pid}-`));
    try {
      return files.map((bytes, s) => {
        const file = join(dir, `index-${s}.hnsw`);
        writeFileSync(file, bytes);
        const hnsw = new hnswlib.HierarchicalNSW('l2', dim);
        hnsw.readIndexSync(file, true);
        rmSync(file);
        return hnsw;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private applyEf(): void {
    const ef = this.fixedEf ?? efForShardSize(Math.max(...this.live));
    if (this.shards[0].getEf() !== ef) for (const hnsw of this.shards) hnsw.setEf(ef);
  }

  private point(label: number): number[] {
    return this.shards[this.byLabel.get(label)!.shard].getPoint(label);
  }

  private toPoint(vector: ArrayLike<number>, what: string): number[] {
    if (vector == null || typeof vector.length !== 'number') throw new FaceIndexError(`${what}: embedding is missing`);
    if (vector.length !== this.dim) {
      throw new FaceIndexError(`${what}: embedding has dimension ${vector.length}, the index expects ${this.dim}`);
    }
    const point = new Array<number>(this.dim);
    for (let i = 0; i < this.dim; i++) {
      const v = vector[i];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new FaceIndexError(`${what}: embedding[${i}] is not a finite number`);
      point[i] = v;
    }
    return point;
  }

  private samePoint(label: number, point: number[]): boolean {
    const stored = this.point(label);
    for (let i = 0; i < point.length; i++) if (Math.fround(point[i]) !== stored[i]) return false;
    return true;
  }

  private insert(faceId: string, personId: string, point: number[]): void {
    if (this.nextLabel > MAX_LABEL) throw new FaceIndexError(`label space exhausted (labels are uint32)`);
    const label = this.nextLabel;
    // The shard with the fewest live faces keeps the graphs even (and the ef they need alike).
    let shard = 0;
    for (let s = 1; s < this.shards.length; s++) if (this.live[s] < this.live[shard]) shard = s;
    const hnsw = this.shards[shard];
    const reuse = this.usedSlots[shard] > this.live[shard]; // a deleted slot exists
    if (!reuse) {
      const max = hnsw.getMaxElements();
      if (this.usedSlots[shard] >= max) hnsw.resizeIndex(Math.max(1, max * 2));
    }
    hnsw.addPoint(point, label, reuse);
    this.nextLabel++;
    if (!reuse) this.usedSlots[shard]++;
    this.link(label, faceId, personId, shard);
  }

  /**
   * Overwrites a point's vector with zeros before it is marked deleted: hnswlib keeps a deleted
   * point's bytes (in memory and in every index file written), and a deleted face must be erased,
   * not hidden. Zeros, not a neighbour's vector: a copy would outlive that neighbour's own deletion.
   * The node stays a waypoint of the graph until its slot is reused by the next add.
   */
  private scrub(hnsw: Hnsw, label: number): void {
    hnsw.addPoint(new Array<number>(this.dim).fill(0), label);
  }

  private link(label: number, faceId: string, personId: string, shard: number): void {
    this.byLabel.set(label, { faceId, personId, shard });
    this.labelByFace.set(faceId, label);
    this.live[shard]++;
    let set = this.facesByPerson.get(personId);
    if (!set) {
      set = new Set();
      this.facesByPerson.set(personId, set);
    }
    set.add(faceId);
  }

  private deleteLabel(label: number): void {
    const entry = this.byLabel.get(label);
    if (!entry) return;
    const hnsw = this.shards[entry.shard];
    this.scrub(hnsw, label);
    hnsw.markDelete(label);
    this.byLabel.delete(label);
    this.labelByFace.delete(entry.faceId);
    this.live[entry.shard]--;
    const set = this.facesByPerson.get(entry.personId);
    if (set) {
      set.delete(entry.faceId);
      if (set.size === 0) this.facesByPerson.delete(entry.personId);
    }
  }
}

/**
 * Exact top-k rows of `matrix` (n x dim, row-major) by squared L2 distance to each query,
 * ascending. Rows are visited in cache-sized blocks, every query per block (the matrix streams
 * from memory once per block, not once per query); partial distances are checked every 16 dims
 * against the query's current k-th best (early abandon, still exact).
 */
export function exactTopK(
  matrix: Float32Array,
  n: number,
  dim: number,
  queries: readonly Float32Array[],
  k: number,
): Array<Array<{ row: number; d2: number }>> {
  if (k <= 0 || n <= 0) return queries.map(() => []);
  const nq = queries.length;
  const rows = new Int32Array(nq * k);
  const dists = new Float64Array(nq * k).fill(Infinity);
  const counts = new Int32Array(nq);
  const worst = new Float64Array(nq).fill(Infinity);
  const blocked = dim - (dim % 16);
  const blockRows = Math.max(1, Math.floor(65536 / dim)); // ~256 KB of float32 per block
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const r1 = Math.min(n, r0 + blockRows);
    for (let qi = 0; qi < nq; qi++) {
      const q = queries[qi];
      let w = worst[qi];
      const off = qi * k;
      for (let r = r0; r < r1; r++) {
        const base = r * dim;
        let sum = 0;
        let j = 0;
        for (; j < blocked; j += 16) {
          const b = base + j;
          let d0 = matrix[b] - q[j],
            d1 = matrix[b + 1] - q[j + 1],
            d2 = matrix[b + 2] - q[j + 2],
            d3 = matrix[b + 3] - q[j + 3];
          let s0 = d0 * d0,
            s1 = d1 * d1,
            s2 = d2 * d2,
            s3 = d3 * d3;
          for (let t = 4; t < 16; t += 4) {
            d0 = matrix[b + t] - q[j + t];
            d1 = matrix[b + t + 1] - q[j + t + 1];
            d2 = matrix[b + t + 2] - q[j + t + 2];
            d3 = matrix[b + t + 3] - q[j + t + 3];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
          }
          sum += s0 + s1 + (s2 + s3);
          if (sum >= w) break;
        }
        if (sum >= w) continue;
        for (; j < dim; j++) {
          const diff = matrix[base + j] - q[j];
          sum += diff * diff;
        }
        if (sum >= w) continue;
        // insert into this query's sorted top-k
        const count = counts[qi];
        let pos = count < k ? count : k - 1;
        while (pos > 0 && dists[off + pos - 1] > sum) {
          dists[off + pos] = dists[off + pos - 1];
          rows[off + pos] = rows[off + pos - 1];
          pos--;
        }
        dists[off + pos] = sum;
        rows[off + pos] = r;
        if (count < k) counts[qi] = count + 1;
        if (counts[qi] === k) w = dists[off + k - 1];
      }
      worst[qi] = w;
    }
  }
  return queries.map((_, qi) => {
    const out: Array<{ row: number; d2: number }> = [];
    for (let i = 0; i < counts[qi]; i++) out.push({ row: rows[qi * k + i], d2: dists[qi * k + i] });
    return out;
  });
}
