/** One enrolled face as the durable gallery stores it (one JSON line of a segment). */
export interface GalleryRecord {
  /** Deterministic id, see faceIdFor(). */
  faceId: string;
  personId: string;
  name?: string;
  /** Canonical URL of the storage the image was read from (see canonicalStorageUrl). */
  source: string;
  /** The storage key of the enrolled image (relative to `source`) and its etag when it was read. */
  sourceKey: string;
  sourceEtag: string;
  box: { x: number; y: number; width: number; height: number };
  landmarks: [number, number][];
  /** Detector score. */
  score: number;
  quality?: { size: number; blur: number; pose: number };
  warnings?: string[];
  /**
   * Additive (issue 22): why the photo looks like junk (src/identification/enrollment-flags.ts:
   * low detector score, extreme pose, blurred, several faces); absent for a clean photo.
   */
  flags?: string[];
  /** FACE_MODEL.id of the model that computed the embedding. */
  model: string;
  embedding: number[];
  /** ISO 8601 time of enrollment; orders re-enrollments and tombstones. */
  enrolledAt: string;
}

/**
 * Deletion of a person (every face) or of some of their faces. It removes the faces enrolled at or
 * before `deletedAt`; faces enrolled later (re-enrollment after deletion) stay.
 */
export interface Tombstone {
  personId: string;
  /** ISO 8601 time of the deletion. */
  deletedAt: string;
  /** Only these faces of the person; all of them when absent. */
  faceIds?: string[];
  /**
   * Additive (issue 23): the person was merged into this one (their faces re-recorded under it
   * first), so their sightings from before the deletion are that person's (MatchStore.rebuild).
   */
  mergedInto?: string;
}

/**
 * An image that could not be enrolled for a reason that retrying cannot fix (not an image, no face,
 * missing...). Kept next to the segments so that "already processed" is a property of the gallery:
 * a second enroll run skips it until the image changes (new etag).
 */
export interface EnrollFailure {
  source: string;
  sourceKey: string;
  sourceEtag: string;
  personId: string;
  /** A FaceErrorCode, e.g. NO_FACE. */
  code: string;
  message: string;
  /** ISO 8601 time of the attempt. */
  failedAt: string;
}
