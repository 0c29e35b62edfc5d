import type { FastifyInstance } from 'fastify';
import { parseIsoTime, type MatchStore } from '../matches/match-store.js';
import { DEFAULT_MATCHES_LIMIT, MAX_MATCHES_LIMIT, type MatchPage } from '../matches/types.js';
import { personParamsSchema, type PersonParams } from './index-api-schemas.js';
import { ApiError } from './index-http-server.js';

interface MatchesQuery {
  since?: string;
  until?: string;
  limit?: string;
  offset?: string;
}

/** A non-negative decimal integer as a query-string value (ranges are checked by the route). */
const digits = { type: 'string', pattern: '^[0-9]{1,9}$' } as const;
const isoTime = { type: 'string', minLength: 1, maxLength: 64 } as const;

const matchesQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { since: isoTime, until: isoTime, limit: digits, offset: digits },
} as const;

/**
 * "Where was person X seen?" (not in buildIndexServer, which serves any FaceIndex):
 *   GET /v1/persons/:id/matches  ?since&until&limit&offset -> MatchPage { personId, total, items }
 * Newest first; `since` (inclusive) and `until` (exclusive) are ISO 8601 dates or date-times with
 * a zone; limit 1..MAX_MATCHES_LIMIT (default DEFAULT_MATCHES_LIMIT). A person never seen (or
 * unknown) is an empty page, not a 404: sightings outlive the person's removal from the gallery.
 */
export function registerMatchRoutes(app: FastifyInstance, store: MatchStore): void {
  app.get<{ Params: PersonParams; Querystring: MatchesQuery }>(
    '/v1/persons/:id/matches',
    { schema: { params: personParamsSchema, querystring: matchesQuerySchema } },
    async (request) => {
      const { since: sinceText, until: untilText } = request.query;
      const since = time('since', sinceText);
      const until = time('until', untilText);
      if (since && until && since.getTime() > until.getTime()) {
        throw new ApiError(400, 'BAD_REQUEST', 'querystring: since must not be after until');
      }
      const limit = int('limit', request.query.limit, DEFAULT_MATCHES_LIMIT, 1, MAX_MATCHES_LIMIT);
      const offset = int('offset', request.query.offset, 0, 0, Number.MAX_SAFE_INTEGER);
      const page: MatchPage = await store.query(request.params.id, { since, until, limit, offset });
      return page;
    },
  );
}

function time(name: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const date = parseIsoTime(raw);
  if (!date) {
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `querystring: ${name} must be an ISO 8601 date or date-time with a zone (e.g. 2026-11-28 or 2026-11-28T02:15:00Z), got ${JSON.stringify(raw)}`,
    );
  }
  return date;
}

function int(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ApiError(400, 'BAD_REQUEST', `querystring: ${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}
