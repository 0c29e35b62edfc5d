import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StorageNotFoundError } from '../../storage/storage-not-found-error.js';
import type { FaceIndex } from '../face-index.js';
import { errorResponses, personParamsSchema } from '../index-api-schemas.js';
import { ApiError } from '../index-http-server.js';
import {
  DEFAULT_SNAPSHOT_SIDE,
  DEFAULT_THUMBNAIL_SIZE,
  faceParamsSchema,
  runParamsSchema,
  snapshotImageQuerySchema,
  thumbnailQuerySchema,
} from './console-schemas.js';
import { boundedImage, cropFace } from './face-image.js';
import type { FaceRecordLookup } from './face-records.js';
import type { ImageCache } from './image-cache.js';
import type { RunBrowser } from './run-browser.js';
import type { SourceImages } from './source-images.js';

export interface ConsoleImageOptions {
  index: () => FaceIndex;
  faceRecord: FaceRecordLookup;
  runs: RunBrowser;
  images: SourceImages;
  cache: ImageCache;
  /** Largest image decoded (width x height), as the HTTP limits say. */
  maxPixels: number;
}

/**
 * The console's images, JPEG, bounded in size, streamed from the storage the records name:
 *   GET /v1/faces/:faceId/thumbnail ?size      an enrolled face cut from its photo (square, <= 256 px)
 *   GET /v1/persons/:id/thumbnail   ?size      the person's first enrolled face, the same way
 *   GET /v1/runs/:run/image         ?key&face&size   a snapshot of the run (longest side <= 1920 px),
 *                                               or with `face` the crop of that face of its result
 * Only faces the index holds and snapshots the run has a result for are read: a client never names
 * a storage key of its own. Role read: faces are biometric data.
 */
export function registerConsoleImageRoutes(app: FastifyInstance, options: ConsoleImageOptions): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { cache, maxPixels } = options;

  const faceThumbnail = async (reply: FastifyReply, faceId: string, size: number) => {
    const cacheKey = `face:${faceId}:${size}`;
    let image = cache.get(cacheKey);
    if (image === undefined) {
      const record = options.index().has(faceId) ? await options.faceRecord(faceId) : undefined;
      if (record === undefined) throw new ApiError(404, 'NOT_FOUND', `face ${faceId} is not in the gallery`);
      const bytes = await readOr404(
        () => options.images.read(record.source, record.sourceKey),
        `the photo face ${faceId} was enrolled from is no longer in its storage`,
      );
      image = await cropFace(bytes, record.box, { size, maxPixels });
      cache.set(cacheKey, image);
    }
    return sendJpeg(reply, image);
  };

  // No 200 schema: the answer is JPEG bytes.
  const response = { ...errorResponses };
  routes.get(
    '/v1/faces/:faceId/thumbnail',
    { config: { role: 'read' }, schema: { params: faceParamsSchema, querystring: thumbnailQuerySchema, response } },
    async (request, reply) => faceThumbnail(reply, request.params.faceId, request.query.size ?? DEFAULT_THUMBNAIL_SIZE),
  );

  routes.get(
    '/v1/persons/:id/thumbnail',
    { config: { role: 'read' }, schema: { params: personParamsSchema, querystring: thumbnailQuerySchema, response } },
    async (request, reply) => {
      const faces = options.index().personFaces(request.params.id);
      if (faces.length === 0) throw new ApiError(404, 'NOT_FOUND', `person ${request.params.id} is not in the index`);
      // The same face every time (the smallest id), so the browser's and this cache hold one image.
      const [faceId] = [...faces].sort();
      return faceThumbnail(reply, faceId, request.query.size ?? DEFAULT_THUMBNAIL_SIZE);
    },
  );

  routes.get(
    '/v1/runs/:run/image',
    { config: { role: 'read' }, schema: { params: runParamsSchema, querystring: snapshotImageQuerySchema, response } },
    async (request, reply) => {
      const { run } = request.params;
      const { key, face } = request.query;
      const size = request.query.size ?? (face === undefined ? DEFAULT_SNAPSHOT_SIDE : DEFAULT_THUMBNAIL_SIZE);
      const cacheKey = `run:${run}:${face ?? '-'}:${size}:${key}`;
      let image = cache.get(cacheKey);
      if (image === undefined) {
        const snapshot = await options.runs.snapshot(run, key);
        if (snapshot === undefined) throw new ApiError(404, 'NOT_FOUND', `run ${run} has no result for that snapshot`);
        const box = face === undefined ? undefined : snapshot.result.faces[face]?.box;
        if (face !== undefined && box === undefined)
          throw new ApiError(404, 'NOT_FOUND', `the snapshot's result has no face ${face}`);
        const bytes = await readOr404(
          () => options.images.read(snapshot.source, key),
          `the snapshot is no longer in run ${run}'s source storage`,
        );
        image =
          box === undefined
            ? await boundedImage(bytes, { maxSide: size, maxPixels })
            : await cropFace(bytes, box, { size, maxPixels });
        cache.set(cacheKey, image);
      }
      return sendJpeg(reply, image);
    },
  );
}

async function readOr404(read: () => Promise<Uint8Array>, message: string): Promise<Uint8Array> {
  try {
    return await read();
  } catch (err) {
    // The message names no storage key: keys stay inside the deployment.
    if (err instanceof StorageNotFoundError) throw new ApiError(404, 'NOT_FOUND', message);
    throw err;
  }
}

function sendJpeg(reply: FastifyReply, image: Buffer) {
  // Private: a face is personal data; an hour: a face id's photo never changes (its id would).
  return reply.header('cache-control', 'private, max-age=3600').type('image/jpeg').send(image);
}
