/**
 * FaceIndex: the in-memory ANN index of face embeddings (DESIGN.md, "Index service").
 *
 * An HNSW graph (hnswlib-node, space 'l2') plus the maps label -> face -> person. Labels are
 * internal (a counter, never reused); callers only see faceId and personId. Distances returned
 * are Euclidean (hnswlib's 'l2' space gives squared distances; they are converted here).
 *
 * Everything is synchronous and holds no global state, so the class can live on the main thread
 * or inside a worker thread (big builds belong in a worker: each addPoint blocks ~1 ms at 1152-D).
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
  /** Query-time ef. Default DEFAULT_EF. */
  ef?: number;
  /** Slots reserved up front; the index doubles as needed. Default 1024. */
  initialCapacity?: number;
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

/** The label maps of a snapshot: plain JSON-able data. */
export interface FaceIndexMaps {
  version: 1;
  dim: number;
  m: number;
  efConstruction: number;
  ef: number;
  nextLabel: number;
  /** Live faces: [label, faceId, personId]. */
  faces: Array<[number, string, string]>;
}

export interface FaceIndexSnapshot {
  /** The hnswlib index file's bytes (writeIndex output). */
  index: Buffer;
  maps: FaceIndexMaps;
}

interface LabelEntry {
  faceId: string;
  personId: string;
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

  private hnsw: Hnsw;
  private nextLabel = 0;
  /** Slots used in the hnswlib index, live and deleted (deleted slots still count). */
  private usedSlots = 0;
  private readonly byLabel = new Map<number, LabelEntry>();
  private readonly labelByFace = new Map<string, number>();
  private readonly facesByPerson = new Map<string, Set<string>>();

  constructor(options: FaceIndexOptions, existing?: { hnsw: Hnsw }) {
    this.dim = positiveInt('dim', options.dim);
    this.m = positiveInt('m', options.m ?? DEFAULT_M);
    this.efConstruction = positiveInt('efConstruction', options.efConstruction ?? DEFAULT_EF_CONSTRUCTION);
    const ef = positiveInt('ef', options.ef ?? DEFAULT_EF);
    if (existing) {
      this.hnsw = existing.hnsw;
      this.usedSlots = this.hnsw.getCurrentCount();
    } else {
      const capacity = positiveInt('initialCapacity', options.initialCapacity ?? DEFAULT_INITIAL_CAPACITY);
      this.hnsw = new hnswlib.HierarchicalNSW('l2', this.dim);
      // allowReplaceDeleted: a replaced or removed face's slot is reused by later adds.
      this.hnsw.initIndex({
        maxElements: capacity,
        m: this.m,
        efConstruction: this.efConstruction,
        allowReplaceDeleted: true,
      });
    }
    this.hnsw.setEf(ef);
  }

  /** Live faces. */
  get size(): number {
    return this.byLabel.size;
  }

  /** Slots reserved in the hnswlib index (grows by doubling). */
  get capacity(): number {
    return this.hnsw.getMaxElements();
  }

  get ef(): number {
    return this.hnsw.getEf();
  }

  set ef(value: number) {
    this.hnsw.setEf(positiveInt('ef', value));
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
    return label === undefined ? undefined : Float32Array.from(this.hnsw.getPoint(label));
  }

  /**
   * Approximate k nearest faces for each query, ascending Euclidean distance. With k larger than
   * the live count, returns what exists. Deleted faces are never returned.
   */
  search(queries: readonly ArrayLike<number>[], k: number): FaceMatch[][] {
    positiveInt('k', k);
    const points = queries.map((q, i) => this.toPoint(q, `query ${i}`));
    const kk = Math.min(k, this.size);
    return points.map((point) => {
      if (kk === 0) return [];
      const { distances, neighbors } = this.hnsw.searchKnn(point, kk);
      const out: FaceMatch[] = [];
      for (let i = 0; i < neighbors.length; i++) {
        const entry = this.byLabel.get(neighbors[i]);
        if (!entry) continue; // cannot happen: deleted labels are skipped by hnswlib
        out.push({ faceId: entry.faceId, personId: entry.personId, distance: Math.sqrt(Math.max(0, distances[i])) });
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
    for (let r = 0; r < n; r++) matrix.set(this.hnsw.getPoint(labels[r]), r * dim);
    const kk = Math.min(k, n);
    return exactTopK(matrix, n, dim, qs, kk).map((best) =>
      best.map(({ row, d2 }) => {
        const entry = this.byLabel.get(labels[row])!;
        return { faceId: entry.faceId, personId: entry.personId, distance: Math.sqrt(d2) };
      }),
    );
  }

  /** A snapshot: the hnswlib index bytes and the label maps. */
  serialize(): FaceIndexSnapshot {
    const dir = mkdtempSync(join(tmpdir(), `facepipe-index-${process.pid}-`));
    try {
      const file = join(dir, 'index.hnsw');
      this.hnsw.writeIndexSync(file);
      const index = readFileSync(file);
      const faces: Array<[number, string, string]> = [];
      for (const [label, { faceId, personId }] of this.byLabel) faces.push([label, faceId, personId]);
      return {
        index,
        maps: {
          version: 1,
          dim: this.dim,
          m: this.m,
          efConstruction: this.efConstruction,
          ef: this.ef,
          nextLabel: this.nextLabel,
          faces,
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Rebuilds an index from serialize()'s output. ef is restored (readIndex resets it to 10). */
  static restore(snapshot: FaceIndexSnapshot, options: { ef?: number } = {}): FaceIndex {
    const { maps } = snapshot;
    if (maps.version !== 1) throw new FaceIndexError(`unsupported snapshot version ${String(maps.version)}`);
    const dir = mkdtempSync(join(tmpdir(), `facepipe-index-${process.pid}-`));
    let hnsw: Hnsw;
    try {
      const file = join(dir, 'index.hnsw');
      writeFileSync(file, snapshot.index);
      hnsw = new hnswlib.HierarchicalNSW('l2', maps.dim);
      hnsw.readIndexSync(file, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const index = new FaceIndex(
      { dim: maps.dim, m: maps.m, efConstruction: maps.efConstruction, ef: options.ef ?? maps.ef },
      { hnsw },
    );
    index.nextLabel = maps.nextLabel;
    for (const [label, faceId, personId] of maps.faces) {
      if (label >= maps.nextLabel) throw new FaceIndexError(`snapshot label ${label} >= nextLabel ${maps.nextLabel}`);
      index.link(label, faceId, personId);
    }
    return index;
  }

  // ---------------------------------------------------------------------------------------------

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
    const stored = this.hnsw.getPoint(label);
    for (let i = 0; i < point.length; i++) if (Math.fround(point[i]) !== stored[i]) return false;
    return true;
  }

  private insert(faceId: string, personId: string, point: number[]): void {
    if (this.nextLabel > MAX_LABEL) throw new FaceIndexError(`label space exhausted (labels are uint32)`);
    const label = this.nextLabel;
    const reuse = this.usedSlots > this.byLabel.size; // a deleted slot exists
    if (!reuse) {
      const max = this.hnsw.getMaxElements();
      if (this.usedSlots >= max) this.hnsw.resizeIndex(Math.max(1, max * 2));
    }
    this.hnsw.addPoint(point, label, reuse);
    this.nextLabel++;
    if (!reuse) this.usedSlots++;
    this.link(label, faceId, personId);
  }

  /**
   * Overwrites a point's vector with zeros before it is marked deleted: hnswlib keeps a deleted
   * point's bytes (in memory and in every index file written), and a deleted face must be erased,
   * not hidden. Zeros, not a neighbour's vector: a copy would outlive that neighbour's own deletion.
   * The node stays a waypoint of the graph until its slot is reused by the next add.
   */
  private scrub(label: number): void {
    this.hnsw.addPoint(new Array<number>(this.dim).fill(0), label);
  }

  private link(label: number, faceId: string, personId: string): void {
    this.byLabel.set(label, { faceId, personId });
    this.labelByFace.set(faceId, label);
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
    this.scrub(label);
    this.hnsw.markDelete(label);
    this.byLabel.delete(label);
    this.labelByFace.delete(entry.faceId);
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
