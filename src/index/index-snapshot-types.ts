/** What IndexSnapshotStore keeps next to each FaceIndex snapshot (meta.json). */

/** Supplied by the index service when it saves a snapshot. */
export interface IndexSnapshotMeta {
  /** When the snapshot was taken (ISO 8601). */
  createdAt: string;
  /** Redis stream id of the last gallery change applied to the index; '0-0' if none. */
  changePosition: string;
  /** personId -> ISO deletedAt of their latest deletion, so replay can tell re-enrollments from stale adds. */
  deletions: Record<string, string>;
  /** Live faces and persons in the index. */
  faces: number;
  persons: number;
  /** HNSW parameters the index was built with. */
  m: number;
  efConstruction: number;
}

/** meta.json as stored: the caller's meta plus the checksum the store adds. */
export interface StoredIndexSnapshotMeta extends IndexSnapshotMeta {
  /** sha256 (hex) of index.bin, checked on load (also in `files`; kept for older readers). */
  indexSha256: string;
  /**
   * sha256 (hex) of every other file of the snapshot (index.bin, maps.json), all checked on load: a
   * snapshot without this map, or with a file it does not cover, is refused.
   */
  files: Record<string, string>;
}

/** A snapshot loadNewest() passed over, and why. */
export interface SkippedSnapshot {
  name: string;
  reason: string;
}

export interface IndexSnapshotListing {
  /** `20261129T021507120Z-<16 hex>`: sorts by creation time. */
  name: string;
  /** meta.json exists: the snapshot was written to the end. */
  complete: boolean;
}
