import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { MatchStore } from '../matches/match-store.js';
import { matchPageSchema } from '../matches/match-schemas.js';
import { DEFAULT_MATCHES_LIMIT, type MatchPage } from '../matches/types.js';
import { errorResponses, matchesQuerySchema, personParamsSchema } from './index-api-schemas.js';

/**
 * "Where was person X seen?" (not in buildIndexServer, which serves any FaceIndex):
 *   GET /v1/persons/:id/matches  ?since&until&camera&limit&offset -> MatchPage { personId, total, items }
 * Newest first, by when the snapshot was taken; `since` (inclusive) and `until` (exclusive) are
 * ISO 8601 dates or date-times with a zone; `camera` keeps one camera's sightings; limit
 * 1..MAX_MATCHES_LIMIT (default DEFAULT_MATCHES_LIMIT). A person never seen (or
 * unknown) is an empty page, not a 404: sightings outlive the person's removal from the gallery.
 * The app must be buildIndexServer's (its zod validator and serializer compile these schemas).
 */
export function registerMatchRoutes(app: FastifyInstance, store: MatchStore): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/persons/:id/matches',
    {
      config: { role: 'read' },
      schema: {
        params: personParamsSchema,
        querystring: matchesQuerySchema,
        response: { 200: matchPageSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { since, until, camera, limit = DEFAULT_MATCHES_LIMIT, offset = 0 } = request.query;
      const page: MatchPage = await store.query(request.params.id, { since, until, camera, limit, offset });
      return page;
    },
  );
}
