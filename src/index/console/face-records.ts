import type { GalleryRecord } from '../../gallery/gallery-record.js';
import type { GalleryStore } from '../../gallery/gallery-store.js';

/** Where one enrolled face comes from: enough to cut its thumbnail out of its photo. */
export type FaceSource = Pick<GalleryRecord, 'faceId' | 'personId' | 'source' | 'sourceKey' | 'box'>;

/** One face's source by face id, or undefined when the gallery holds no such live face. */
export type FaceRecordLookup = (faceId: string) => Promise<FaceSource | undefined>;

/**
 * The gallery's faces by id, only what the console needs (no embeddings). A face not known yet is
 * looked for in the read in flight, else in a read of the gallery that starts after it was asked
 * for: callers ask only for faces the index holds, and the index takes a face from the gallery,
 * so that read has it. Asks meanwhile share one read in flight and one queued behind it. Stands in for the
 * gallery directory's faceRecord() of the person routes (issue 23, console-api) until both meet.
 */
export class GalleryFaceRecords {
  private faces = new Map<string, FaceSource>();
  private reading?: { startedAt: number; done: Promise<void> };
  private queued?: Promise<void>;

  constructor(private readonly gallery: GalleryStore) {}

  readonly lookup: FaceRecordLookup = async (faceId) => {
    const known = this.faces.get(faceId);
    if (known !== undefined) return known;
    const askedAt = performance.now();
    // The read in flight has it when the face is older than that read (the case at start-up).
    if (this.reading !== undefined) {
      await this.reading.done.catch(() => {});
      const read = this.faces.get(faceId);
      if (read !== undefined) return read;
    }
    await this.readStartedAfter(askedAt);
    return this.faces.get(faceId);
  };

  /** Reads the gallery now (the service calls it once loaded, so the first thumbnail does not wait). */
  refresh(): Promise<void> {
    return this.readStartedAfter(performance.now());
  }

  /** A read of the gallery that starts at or after `time`: the one in flight, or the next one. */
  private readStartedAfter(time: number): Promise<void> {
    const reading = this.reading;
    if (reading === undefined) return this.read();
    if (reading.startedAt >= time) return reading.done;
    this.queued ??= reading.done
      .catch(() => {}) // its caller hears of its failure; the queued read is another try
      .then(() => {
        this.queued = undefined;
        return this.read();
      });
    return this.queued;
  }

  private read(): Promise<void> {
    const startedAt = performance.now();
    const done = this.gallery
      .readAll()
      .then((records) => {
        this.faces = new Map(
          records.map(({ faceId, personId, source, sourceKey, box }) => [
            faceId,
            { faceId, personId, source, sourceKey, box },
          ]),
        );
      })
      .finally(() => {
        if (this.reading?.done === done) this.reading = undefined;
      });
    this.reading = { startedAt, done };
    return done;
  }
}
