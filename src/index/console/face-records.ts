import type { GalleryRecord } from '../../gallery/gallery-record.js';

/** Where one enrolled face comes from: enough to cut its thumbnail out of its photo. */
export type FaceSource = Pick<GalleryRecord, 'faceId' | 'personId' | 'source' | 'sourceKey' | 'box'>;

/**
 * One face's source by face id, or undefined when the gallery holds no such live face. The service
 * answers from its person directory (IndexService.faceRecord), which follows the change log.
 */
export type FaceRecordLookup = (faceId: string) => Promise<FaceSource | undefined>;
