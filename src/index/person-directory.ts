import type { GalleryRecord } from '../gallery/gallery-record.js';
import type {
  DirectoryDeletion,
  DirectoryFace,
  DirectoryListItem,
  DirectoryPage,
  DirectoryPerson,
} from './person-directory-types.js';

interface PersonEntry {
  faces: Set<string>;
  name?: string;
}

interface Row {
  personId: string;
  /** personId and name, lower-cased: what a search looks in. */
  haystack: string;
}

/**
 * Who is enrolled, in memory: every live face's gallery record (without its embedding) by faceId
 * and by person, so that the person pages (GET /v1/persons?search=, GET /v1/persons/:id) never
 * re-read the gallery. Fed with what the index service applies (gallery records and deletions,
 * from a gallery read or the change log), with the gallery's own rules (GalleryStore):
 * per faceId the record with the latest `enrolledAt` wins, and a deletion removes the records
 * of its person enrolled at or before it. Those rules do not depend on the order records and
 * deletions arrive in, so a replayed or re-ordered change log leaves the same directory.
 */
export class PersonDirectory {
  /** faceId -> the latest record seen, live or deleted (a deleted latest record keeps older ones out). */
  private readonly latest = new Map<string, DirectoryFace>();
  /** personId -> time (ms) of their latest whole-person deletion. */
  private readonly personDeleted = new Map<string, number>();
  /** `${personId}\n${faceId}` -> time (ms) of the latest deletion of that face of that person. */
  private readonly faceDeleted = new Map<string, number>();
  private readonly persons = new Map<string, PersonEntry>();
  /** Persons sorted by id for paging; rebuilt on the first read after a change. */
  private rows?: Row[];
  private faceCount = 0;

  /** Live faces. */
  get faces(): number {
    return this.faceCount;
  }

  /** Live persons. */
  get size(): number {
    return this.persons.size;
  }

  /** Applies gallery records (a segment, or a gallery read). */
  addRecords(records: readonly GalleryRecord[]): void {
    for (const record of records) {
      const { embedding: _embedding, ...face } = record;
      const previous = this.latest.get(face.faceId);
      if (previous !== undefined && Date.parse(face.enrolledAt) < Date.parse(previous.enrolledAt)) continue;
      if (previous !== undefined) this.unlink(previous);
      this.latest.set(face.faceId, face);
      if (this.isLive(face)) this.link(face);
    }
  }

  /** Applies a deletion (a tombstone): the person's faces (or the listed ones) enrolled at or before it. */
  applyDelete(deletion: DirectoryDeletion): void {
    const at = Date.parse(deletion.deletedAt);
    const { personId } = deletion;
    if (deletion.faceIds === undefined) {
      this.personDeleted.set(personId, Math.max(this.personDeleted.get(personId) ?? -Infinity, at));
    } else {
      for (const faceId of deletion.faceIds) {
        const key = faceKey(personId, faceId);
        this.faceDeleted.set(key, Math.max(this.faceDeleted.get(key) ?? -Infinity, at));
      }
    }
    const candidates = deletion.faceIds ?? [...(this.persons.get(personId)?.faces ?? [])];
    for (const faceId of candidates) {
      const face = this.latest.get(faceId);
      if (face !== undefined && face.personId === personId && !this.isLive(face)) this.unlink(face);
    }
  }

  /** One live face's record (source, sourceKey, box...), or undefined: what the image routes crop from. */
  faceRecord(faceId: string): DirectoryFace | undefined {
    const face = this.latest.get(faceId);
    return face !== undefined && this.persons.get(face.personId)?.faces.has(faceId) ? face : undefined;
  }

  /** One person with their live faces (oldest enrollment first), or undefined when they have none. */
  person(personId: string): DirectoryPerson | undefined {
    const entry = this.persons.get(personId);
    if (entry === undefined) return undefined;
    const faces = [...entry.faces]
      .map((faceId) => this.latest.get(faceId)!)
      .sort((a, b) => Date.parse(a.enrolledAt) - Date.parse(b.enrolledAt) || (a.faceId < b.faceId ? -1 : 1));
    return { personId, ...(entry.name === undefined ? {} : { name: entry.name }), faces };
  }

  /**
   * A page of persons sorted by id; `search` keeps those whose id or name holds it (any case).
   * One pass over an array kept sorted between changes: a few ms at 100,000 persons.
   */
  list(options: { search?: string; limit: number; offset: number }): DirectoryPage {
    const rows = this.sortedRows();
    const needle = options.search?.toLowerCase() ?? '';
    const matching = needle === '' ? rows : rows.filter((row) => row.haystack.includes(needle));
    const items = matching.slice(options.offset, options.offset + options.limit).map((row): DirectoryListItem => {
      const entry = this.persons.get(row.personId)!;
      return {
        personId: row.personId,
        ...(entry.name === undefined ? {} : { name: entry.name }),
        faces: entry.faces.size,
      };
    });
    return { total: matching.length, items };
  }

  private isLive(face: DirectoryFace): boolean {
    const time = Date.parse(face.enrolledAt);
    if (time <= (this.personDeleted.get(face.personId) ?? -Infinity)) return false;
    return !(time <= (this.faceDeleted.get(faceKey(face.personId, face.faceId)) ?? -Infinity));
  }

  private link(face: DirectoryFace): void {
    let entry = this.persons.get(face.personId);
    if (entry === undefined) {
      entry = { faces: new Set() };
      this.persons.set(face.personId, entry);
    }
    if (entry.faces.has(face.faceId)) return;
    entry.faces.add(face.faceId);
    this.faceCount++;
    this.changed(entry);
  }

  private unlink(face: DirectoryFace): void {
    const entry = this.persons.get(face.personId);
    if (entry === undefined || !entry.faces.delete(face.faceId)) return;
    this.faceCount--;
    if (entry.faces.size === 0) {
      this.persons.delete(face.personId);
      this.rows = undefined;
    } else this.changed(entry);
  }

  /** The person's name follows their newest named face; the sorted rows are redone on the next read. */
  private changed(entry: PersonEntry): void {
    let newest: DirectoryFace | undefined;
    for (const faceId of entry.faces) {
      const face = this.latest.get(faceId)!;
      if (face.name === undefined || face.name === '') continue;
      if (newest === undefined || Date.parse(face.enrolledAt) >= Date.parse(newest.enrolledAt)) newest = face;
    }
    entry.name = newest?.name;
    this.rows = undefined;
  }

  private sortedRows(): Row[] {
    if (this.rows === undefined) {
      this.rows = [...this.persons]
        .map(([personId, entry]) => ({ personId, haystack: `${personId}\n${entry.name ?? ''}`.toLowerCase() }))
        .sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
    }
    return this.rows;
  }
}

function faceKey(personId: string, faceId: string): string {
  return `${personId}\n${faceId}`;
}
