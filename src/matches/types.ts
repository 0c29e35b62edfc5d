/**
 * "Where was person X seen?": every identified face of every result file
 * (`facepipe/results/<run>/<input key>.json`, facepipe.result/v1) as a sighting of its person,
 * kept in Redis by MatchStore (match-store.ts) and served by `GET /v1/persons/:id/matches`.
 */
import type { z } from 'zod';
import type { matchPageSchema, matchRecordSchema, SEEN_FROM } from './match-schemas.js';

/** One identified face: a sighting of its person (schema in match-schemas.ts). */
export type MatchRecord = z.infer<typeof matchRecordSchema>;

/** Where a sighting's time comes from (match-schemas.ts). */
export type SeenFrom = (typeof SEEN_FROM)[number];

export interface MatchQuery {
  /** Sightings at or after this time. */
  since?: Date;
  /** Sightings strictly before this time. */
  until?: Date;
  /** Default DEFAULT_MATCHES_LIMIT, at most MAX_MATCHES_LIMIT. */
  limit?: number;
  /** Skip this many sightings (newest first) before the page. */
  offset?: number;
  /** Sightings by this camera alone (the sighting's `camera`). */
  camera?: string;
}

/** A page of one person's sightings, newest first; also the body of GET /v1/persons/:id/matches. */
export type MatchPage = z.infer<typeof matchPageSchema>;

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
