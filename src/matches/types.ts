/**
 * "Where was person X seen?": every identified face of every result file
 * (`facepipe/results/<run>/<input key>.json`, facepipe.result/v1) as a sighting of its person,
 * kept in Redis by MatchStore (match-store.ts) and served by `GET /v1/persons/:id/matches`.
 */

/** One identified face: a sighting of its person. */
export interface MatchRecord {
  personId: string;
  /** The run the result belongs to (first path segment after the results prefix). */
  run: string;
  /** The snapshot's key (the result's `input.key`). */
  key: string;
  /** The result file's storage key, e.g. `facepipe/results/<run>/<input key>.json`. */
  resultKey: string;
  /** The face's position in the result's `faces`. */
  faceIndex: number;
  box: { x: number; y: number; width: number; height: number };
  /** The distance of the face's match with the person; null if the result lists no such match. */
  distance: number | null;
  /** ISO 8601: when the person was seen (the snapshot's last-modified time, else the result's processedAt). */
  seenAt: string;
}

export interface MatchQuery {
  /** Sightings at or after this time. */
  since?: Date;
  /** Sightings strictly before this time. */
  until?: Date;
  /** Default DEFAULT_MATCHES_LIMIT, at most MAX_MATCHES_LIMIT. */
  limit?: number;
  /** Skip this many sightings (newest first) before the page. */
  offset?: number;
}

/** A page of one person's sightings, newest first; also the body of GET /v1/persons/:id/matches. */
export interface MatchPage {
  personId: string;
  /** Sightings of the person within since/until (all pages). */
  total: number;
  items: MatchRecord[];
}

export interface MatchRebuildSummary {
  /** Result files recorded. */
  results: number;
  /** Identified faces recorded. */
  faces: number;
  /** Files under the prefix that could not be read or parsed as a result (logged, not recorded). */
  skipped: number;
}

export const DEFAULT_MATCHES_LIMIT = 100;
export const MAX_MATCHES_LIMIT = 1000;
