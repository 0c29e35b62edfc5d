/**
 * The body of the image routes (/v1/identify, /v1/verify): the encoded image, sent either as the
 * raw body (Content-Type image/* or application/octet-stream: `curl --data-binary @x.jpg`) or as
 * a multipart form (`curl -F image=@x.jpg`), whose first file part is the image, whatever its
 * field name; other fields are ignored.
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadUploadError } from './bad-upload-error.js';

/** The routes whose body is an image (their 415 answers name the accepted types). */
export const IMAGE_ROUTES: ReadonlySet<string> = new Set(['/v1/identify', '/v1/verify', '/v1/persons/:id/faces']);

/** What the image routes accept, for error messages. */
export const ACCEPTED_IMAGE_BODIES =
  'the image bytes with Content-Type image/* or application/octet-stream, or a multipart/form-data ' +
  'upload whose first file part is the image (curl -F image=@photo.jpg)';

/** Registers the raw-body parsers and the multipart plugin, each limited to `maxImageBytes` per image. */
export function registerImageBodies(app: FastifyInstance, maxImageBytes: number): void {
  for (const contentType of ['application/octet-stream', /^image\/[^\s;]+/i]) {
    app.addContentTypeParser(contentType, { parseAs: 'buffer', bodyLimit: maxImageBytes }, (_request, body, done) =>
      done(null, body),
    );
  }
  // A file larger than the limit fails its read with a 413 (throwFileSizeLimit, the default).
  app.register(multipart, { limits: { fileSize: maxImageBytes, fieldSize: 64 * 1024, parts: 100 } });
}

/**
 * The image of a request to an image route: the raw body, or the first file part of a multipart
 * form. Undefined when there is none (no body, or a form without a file part).
 */
export async function readImageBody(request: FastifyRequest): Promise<Buffer | undefined> {
  if (!request.isMultipart()) return Buffer.isBuffer(request.body) ? request.body : undefined;
  try {
    const file = await request.file();
    return file === undefined ? undefined : await file.toBuffer();
  } catch (err) {
    // The plugin's own errors carry their status (413 for a file over the limit); busboy's do not.
    if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err;
    throw new BadUploadError(`body: unreadable multipart/form-data (${(err as Error).message})`, { cause: err });
  }
}

/** The 415 message of a request: on an image route it names the accepted bodies. */
export function unsupportedMediaMessage(request: FastifyRequest, message: string): string {
  if (!IMAGE_ROUTES.has(request.routeOptions.url ?? '')) return message;
  const type = request.headers['content-type'];
  return `body: ${type ? `Content-Type ${type} is not accepted` : 'no Content-Type'}; send ${ACCEPTED_IMAGE_BODIES}`;
}
