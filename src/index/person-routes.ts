/**
 * The person routes of the index service (the console's People pages use them):
 *
 *   GET    /v1/persons               ?search&limit&offset -> { persons, faces, total?, items: [{ personId, faces, name?, lastSeen? }] }
 *   GET    /v1/persons/:id           -> { personId, faces: [faceId], name?, enrolled?: [gallery record] } | 404
 *   DELETE /v1/persons/:id           -> { personId, removed } | 404 (gallery first, via onDeletePerson)
 *   PATCH  /v1/persons/:id           { name } -> the person as GET answers it (admin)
 *   POST   /v1/persons/:id/faces     an image (raw body or multipart) -> 202 { personId, queued: [{ key, jobId }] } (admin)
 *   DELETE /v1/persons/:id/faces/:faceId  -> { personId, faceId, removed: 1 } (admin)
 *   POST   /v1/persons/:id/merge     { into } -> { personId: into, moved, sightings } (admin)
 *
 * The first three are registered by buildIndexServer (any FaceIndex; names, search and the
 * enrolled records need a PersonDirectory), the changing ones by registerPersonChangeRoutes on a
 * service with a gallery (PersonService). The app must be buildIndexServer's (its zod validator
 * and serializer compile these schemas).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { FaceIndex } from './face-index.js';
import { ACCEPTED_IMAGE_BODIES, readImageBody, unsupportedMediaMessage } from './image-body.js';
import {
  type AddFacesResponse,
  DEFAULT_PERSONS_LIMIT,
  type DeletePersonResponse,
  type MergePersonResponse,
  type PersonResponse,
  type PersonsResponse,
  type RemoveFaceResponse,
  addFacesResponseSchema,
  deletePersonResponseSchema,
  errorResponses,
  mergePersonBodySchema,
  mergePersonResponseSchema,
  personFaceParamsSchema,
  personParamsSchema,
  personResponseSchema,
  personsQuerySchema,
  personsResponseSchema,
  removeFaceResponseSchema,
  renamePersonBodySchema,
} from './index-api-schemas.js';
import { ApiError } from './index-http-server.js';
import type { PersonDirectory } from './person-directory.js';
import type { DirectoryPerson } from './person-directory-types.js';
import type { PersonService } from './person-service.js';

export interface PersonReadOptions {
  index: () => FaceIndex;
  /** Called (and awaited) before a person leaves the index (see IndexServerOptions.onDeletePerson). */
  onDeletePerson?: (personId: string) => Promise<void>;
  /** Who is enrolled (names, search, records); without it the routes answer from the index alone. */
  directory?: () => PersonDirectory;
  /** Newest sighting per person of a page (MatchStore.lastSeen). */
  lastSeen?: (personIds: readonly string[]) => Promise<Map<string, string>>;
}

/** The routes of the person changes (the preHandler answers 503 NOT_READY on them while loading). */
export const PERSON_CHANGE_ROUTES = ['/v1/persons/:id/faces', '/v1/persons/:id/faces/:faceId', '/v1/persons/:id/merge'];

export function registerPersonReadRoutes(app: FastifyInstance, options: PersonReadOptions): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const current = options.index;

  /** The person's face ids; a 404 when the index holds none. */
  const knownPersonFaces = (index: FaceIndex, personId: string): string[] => {
    const faces = index.personFaces(personId);
    if (faces.length === 0) throw new ApiError(404, 'NOT_FOUND', `person ${personId} is not in the index`);
    return faces;
  };

  routes.get(
    '/v1/persons',
    {
      config: { role: 'read' },
      schema: { querystring: personsQuerySchema, response: { 200: personsResponseSchema, ...errorResponses } },
    },
    async (request) => {
      const { limit = DEFAULT_PERSONS_LIMIT, offset = 0, search } = request.query;
      const index = current();
      if (options.directory === undefined) {
        const all = index.persons();
        const response: PersonsResponse = {
          persons: all.length,
          faces: index.size,
          items: all.slice(offset, offset + limit),
        };
        return response;
      }
      const directory = options.directory();
      const page = directory.list({ search, limit, offset });
      const seen = options.lastSeen ? await options.lastSeen(page.items.map((item) => item.personId)) : new Map();
      const response: PersonsResponse = {
        // The directory's counts: the index's persons() sorts every person, too slow per request at 100,000.
        persons: directory.size,
        faces: index.size,
        total: page.total,
        items: page.items.map((item) => {
          const lastSeen = seen.get(item.personId);
          return lastSeen === undefined ? item : { ...item, lastSeen };
        }),
      };
      return response;
    },
  );

  routes.get(
    '/v1/persons/:id',
    {
      config: { role: 'read' },
      schema: { params: personParamsSchema, response: { 200: personResponseSchema, ...errorResponses } },
    },
    async (request) => {
      const personId = request.params.id;
      const faces = knownPersonFaces(current(), personId).sort();
      const person = options.directory?.().person(personId);
      return person === undefined ? ({ personId, faces } satisfies PersonResponse) : personJson(person, faces);
    },
  );

  routes.delete(
    '/v1/persons/:id',
    {
      config: { role: 'admin' },
      schema: { params: personParamsSchema, response: { 200: deletePersonResponseSchema, ...errorResponses } },
    },
    async (request) => {
      const personId = request.params.id;
      const faces = knownPersonFaces(current(), personId).length;
      // The gallery forgets first; only then the index (see IndexServerOptions.onDeletePerson).
      if (options.onDeletePerson) await options.onDeletePerson(personId);
      // The index as it is now: a rebuild may have swapped it in while the gallery was writing, and
      // the change log may have removed the faces already. `removed` is what the person had.
      current().removePerson(personId);
      const response: DeletePersonResponse = { personId, removed: faces };
      return response;
    },
  );
}

export function registerPersonChangeRoutes(app: FastifyInstance, persons: PersonService, index: () => FaceIndex): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.patch(
    '/v1/persons/:id',
    {
      config: { role: 'admin' },
      schema: {
        params: personParamsSchema,
        body: renamePersonBodySchema,
        response: { 200: personResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const person = await persons.rename(request.params.id, request.body.name);
      return personJson(person, index().personFaces(person.personId).sort());
    },
  );

  routes.post(
    '/v1/persons/:id/merge',
    {
      config: { role: 'admin' },
      schema: {
        params: personParamsSchema,
        body: mergePersonBodySchema,
        response: { 200: mergePersonResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { into } = request.body;
      const { moved, sightings } = await persons.merge(request.params.id, into);
      return { personId: into, moved, sightings } satisfies MergePersonResponse;
    },
  );

  routes.delete(
    '/v1/persons/:id/faces/:faceId',
    {
      config: { role: 'admin' },
      schema: { params: personFaceParamsSchema, response: { 200: removeFaceResponseSchema, ...errorResponses } },
    },
    async (request) => {
      const { id: personId, faceId } = request.params;
      const removed = await persons.removeFace(personId, faceId);
      return { personId, faceId, removed } satisfies RemoveFaceResponse;
    },
  );

  routes.post(
    '/v1/persons/:id/faces',
    {
      config: { role: 'admin' },
      schema: { params: personParamsSchema, response: { 202: addFacesResponseSchema, ...errorResponses } },
    },
    async (request, reply) => {
      const personId = request.params.id;
      persons.person(personId); // 404 before reading an upload for nobody
      if (!request.isMultipart() && request.body !== undefined && !Buffer.isBuffer(request.body))
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', unsupportedMediaMessage(request, 'not an image body'));
      const body = await readImageBody(request);
      if (body === undefined) throw new ApiError(400, 'BAD_REQUEST', `body: expected ${ACCEPTED_IMAGE_BODIES}`);
      const queued = await persons.addPhoto(personId, body);
      return reply.status(202).send({ personId, queued: [queued] } satisfies AddFacesResponse);
    },
  );
}

/** A person as GET /v1/persons/:id answers with a directory: the index's face ids and the gallery's records. */
function personJson(person: DirectoryPerson, faces: string[]): PersonResponse {
  return {
    personId: person.personId,
    faces,
    ...(person.name === undefined ? {} : { name: person.name }),
    enrolled: person.faces.map((face) => ({
      faceId: face.faceId,
      sourceKey: face.sourceKey,
      source: face.source,
      box: face.box,
      score: face.score,
      ...(face.quality === undefined ? {} : { quality: face.quality }),
      ...(face.flags === undefined ? {} : { flags: face.flags }),
      enrolledAt: face.enrolledAt,
    })),
  };
}
