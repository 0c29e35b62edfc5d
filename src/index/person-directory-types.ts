import type { GalleryRecord } from '../gallery/gallery-record.js';

/** What the person directory keeps of a gallery record: everything but the embedding (the index holds it). */
export type DirectoryFace = Omit<GalleryRecord, 'embedding'>;

/** One person of the directory: their live faces (oldest enrollment first) and display name. */
export interface DirectoryPerson {
  personId: string;
  /** The name of their newest live record that has one (a rename re-records every face with it). */
  name?: string;
  faces: DirectoryFace[];
}

/** One row of a directory page. */
export interface DirectoryListItem {
  personId: string;
  name?: string;
  faces: number;
}

export interface DirectoryPage {
  /** Persons matching the search (all persons without one). */
  total: number;
  items: DirectoryListItem[];
}

/** A gallery deletion as the directory applies it (a Tombstone, or a change-log 'delete'). */
export interface DirectoryDeletion {
  personId: string;
  deletedAt: string;
  faceIds?: string[];
}
