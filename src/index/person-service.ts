import type { Queue } from 'bullmq';
import sharp from 'sharp';
import { decodeImage } from '../engine/decode-image.js';
import { FaceError } from '../errors/face-error.js';
import type { GalleryRecord } from '../gallery/gallery-record.js';
import type { GalleryStore } from '../gallery/gallery-store.js';
import { logger } from '../logger.js';
import type { MatchStore } from '../matches/match-store.js';
import { EnrollProducer } from '../producers/enroll-producer.js';
import { DEFAULT_JOB_OPTIONS } from '../queue/job-defaults.js';
import type { EnrollItem, EnrollJobData } from '../queue/jobs.js';
import { keySegment } from '../storage/key-segment.js';
import type { Storage } from '../storage/storage.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { uniqueName } from '../util/unique-name.js';
import { ApiError } from './index-http-server.js';
import type { IndexService } from './index-service.js';
import type { DirectoryFace, DirectoryPerson } from './person-directory-types.js';

/** Where uploaded photos are kept in the deployment's storage: `<prefix><personId>/<unique>.<ext>`. */
export const UPLOADS_PREFIX = 'facepipe/uploads/';

/** The extensions the enroll listing accepts, by sharp's format name. */
const EXTENSIONS: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff' };

export interface PersonServiceOptions {
  service: IndexService;
  gallery: GalleryStore;
  matches: MatchStore;
  /** The deployment's storage (AppConfig.storage opened): uploads are stored there. */
  storage: Storage;
  /** The deployment's storage URL (AppConfig.storage). */
  storageUrl: string;
  /** The enroll queue of the deployment (queueConnectionOptions). */
  enrollQueue: Queue<EnrollJobData>;
  /** Largest upload, in pixels (HttpLimits.maxPixels). */
  maxPixels: number;
}

/**
 * The changes the console makes to a person (PATCH, merge, face removal, photo upload), each with
 * the gallery's record/tombstone semantics (GalleryStore), published on the change log so that
 * every replica's index and directory follow, and applied to this service at once:
 *
 * - rename: every live face of the person re-recorded with the name (same faceId, later
 *   enrolledAt: the new record wins), so the name is in the gallery and survives any rebuild;
 * - merge: the faces re-recorded under `into`, the sightings re-filed, then the old person
 *   tombstoned (their superseded records are erased by the compaction the deletion triggers);
 * - face removal: a tombstone listing the face, as DELETE /v1/persons/:id does for a whole person;
 * - upload: stored under UPLOADS_PREFIX and enrolled by a worker through the enroll queue.
 *
 * The embeddings of re-recorded faces come from the index (the gallery's values, kept at 7
 * significant digits as the enroll worker writes them), so no change re-reads the gallery.
 * Changes are made one at a time in this process (a second waits for the first).
 */
export class PersonService {
  private readonly storageUrl: string;
  private readonly jobIds: EnrollProducer;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PersonServiceOptions) {
    this.storageUrl = canonicalStorageUrl(options.storageUrl);
    this.jobIds = new EnrollProducer(options.enrollQueue, options.gallery, {
      chunkSize: 1,
      model: options.gallery.model,
      storageUrl: this.storageUrl,
      sourceUrl: this.storageUrl,
    });
  }

  /** The person with their live faces; a 404 naming them when they have none. */
  person(personId: string): DirectoryPerson {
    const person = this.options.service.directory.person(personId);
    if (person === undefined) throw new ApiError(404, 'NOT_FOUND', `person ${personId} is not in the index`);
    return person;
  }

  /** Gives the person a display name (kept in their gallery records). */
  async rename(personId: string, name: string): Promise<DirectoryPerson> {
    return this.oneAtATime(async () => {
      const person = this.person(personId);
      await this.options.service.recordFaces(this.rerecorded(person.faces, personId, name));
      return this.person(personId);
    });
  }

  /** Moves every face and sighting of `from` to `into`, then deletes `from`. */
  async merge(from: string, into: string): Promise<{ moved: number; sightings: number }> {
    if (from === into) throw new ApiError(400, 'BAD_REQUEST', `body: into must name another person than ${from}`);
    return this.oneAtATime(async () => {
      const source = this.person(from);
      const target = this.options.service.directory.person(into);
      if (target === undefined) throw new ApiError(404, 'NOT_FOUND', `body: into: person ${into} is not in the index`);
      // Sightings first: a merge cut short after them is retried whole (from still has its faces).
      const sightings = await this.options.matches.movePerson(from, into);
      await this.options.service.recordFaces(this.rerecorded(source.faces, into, target.name));
      await this.options.service.recordDeletion(from, { mergedInto: into });
      this.options.service.current.removePerson(from); // none left: the faces moved; kept for symmetry
      logger.info({ from, into, faces: source.faces.length, sightings }, 'persons merged');
      return { moved: source.faces.length, sightings };
    });
  }

  /** Deletes one face of the person (tombstone + log, then erased); the last face takes the person's sightings with it. */
  async removeFace(personId: string, faceId: string): Promise<number> {
    return this.oneAtATime(async () => {
      const person = this.person(personId);
      if (!person.faces.some((face) => face.faceId === faceId))
        throw new ApiError(404, 'NOT_FOUND', `face ${faceId} is not a face of person ${personId}`);
      await this.options.service.recordFaceDeletion(personId, [faceId]);
      // A person without faces is gone from the gallery: "where was X seen" goes too, as on DELETE.
      if (this.options.service.directory.person(personId) === undefined)
        await this.options.matches.forgetPerson(personId);
      return 1; // the gallery record, tombstoned
    });
  }

  /**
   * Stores an uploaded photo of the person and queues its enrollment (a worker detects, embeds and
   * records it). An upload that is not a decodable image is refused with the engine's code
   * (NOT_AN_IMAGE, EMPTY_FILE, TRUNCATED_IMAGE, UNSUPPORTED_FORMAT, TOO_MANY_PIXELS).
   */
  async addPhoto(personId: string, bytes: Buffer, name = 'upload'): Promise<{ key: string; jobId: string }> {
    const person = this.person(personId);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      await decodeImage({ bytes: view, name }, { maxPixels: this.options.maxPixels });
    } catch (err) {
      if (err instanceof FaceError) throw new ApiError(400, err.code, err.message);
      throw err;
    }
    const { format } = await sharp(bytes).metadata();
    const extension = format === undefined ? undefined : EXTENSIONS[format];
    if (extension === undefined)
      throw new ApiError(
        400,
        'UNSUPPORTED_FORMAT',
        `${name}: ${format ?? 'this'} images cannot be enrolled (JPEG, PNG, WebP, GIF or TIFF)`,
      );
    const key = `${UPLOADS_PREFIX}${keySegment(personId)}/${uniqueName()}.${extension}`;
    const { etag } = await this.options.storage.put(key, view, { contentType: `image/${format}` });
    const item: EnrollItem = {
      key,
      personId,
      etag,
      size: bytes.byteLength,
      ...(person.name === undefined ? {} : { name: person.name }),
    };
    const jobId = this.jobIds.jobIdFor([item]);
    const data: EnrollJobData = {
      storageUrl: this.storageUrl,
      sourceUrl: this.storageUrl,
      model: this.options.gallery.model,
      items: [item],
    };
    await this.options.enrollQueue.add('enroll', data, { ...DEFAULT_JOB_OPTIONS, jobId });
    return { key, jobId };
  }

  /**
   * New records of `faces` under `personId` with `name` (absent: none), each enrolled after every
   * record it replaces so that it wins in the gallery and in every directory.
   */
  private rerecorded(faces: readonly DirectoryFace[], personId: string, name: string | undefined): GalleryRecord[] {
    const index = this.options.service.current;
    const latest = Math.max(...faces.map((face) => Date.parse(face.enrolledAt)));
    const enrolledAt = new Date(Math.max(Date.now(), latest + 1)).toISOString();
    return faces.map(({ name: _old, ...face }) => {
      const embedding = index.embedding(face.faceId);
      if (embedding === undefined)
        throw new ApiError(409, 'CONFLICT', `face ${face.faceId} is not in the index yet: retry shortly`);
      return {
        ...face,
        personId,
        ...(name === undefined ? {} : { name }),
        embedding: Array.from(embedding, (v) => Number(v.toPrecision(7))),
        enrolledAt,
      };
    });
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => undefined);
    return next;
  }
}
