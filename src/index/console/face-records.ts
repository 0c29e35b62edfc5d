import type { GalleryRecord } from '../../gallery/gallery-record.js';
import type { GalleryStore } from '../../gallery/gallery-store.js';

/** Where one enrolled face comes from: enough to cut its thumbnail out of its photo. */
export type FaceSource = Pick<GalleryRecord, 'faceId' | 'personId' | 'source' | 'sourceKey' | 'box'>;

/** One face's source by face id, or undefined when the gallery holds no such live face. */
export type FaceRecordLookup = (faceId: string) => Promise<FaceSource | undefined>;

/**
 * The gallery's faces by id, read from the gallery once and again when a face is asked for that
 * the last read did not hold (a new enrollment), at most once per `refreshMs`. Only what the
 * console needs is kept (no embeddings). Stands in for the gallery directory's faceRecord() of the
 * person routes (issue 23, console-api) until both meet.
 */
export class GalleryFaceRecords {
  private faces = new Map<string, FaceSource>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading?: Promise<void>;

  constructor(
    private readonly gallery: GalleryStore,
    private readonly refreshMs = 5000,
  ) {}

  readonly lookup: FaceRecordLookup = async (faceId) => {
    const known = this.faces.get(faceId);
    if (known !== undefined) return known;
    if (Date.now() - this.readAt >= this.refreshMs) await this.refresh();
    return this.faces.get(faceId);
  };

  /** Reads the gallery now (the service calls it once loaded, so the first thumbnail does not wait). */
  refresh(): Promise<void> {
    this.reading ??= this.gallery
      .readAll()
      .then((records) => {
        this.faces = new Map(
          records.map(({ faceId, personId, source, sourceKey, box }) => [
            faceId,
            { faceId, personId, source, sourceKey, box },
          ]),
        );
        this.readAt = Date.now();
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
