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
  /**
   * Persons sorted by id for paging, kept sorted as persons come and go (binary search, splice);
   * after many at once (a gallery read, a big enrollment) sorted again on the next read instead.
   */
  private rows: Row[] = [];
  private rowsStale = false;
  private splices = 0;
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
   * One pass over an array kept sorted as persons change: a few ms at 100,000 persons.
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
      this.splice(face.personId, true);
    }
    if (entry.faces.has(face.faceId)) return;
    entry.faces.add(face.faceId);
    this.faceCount++;
    this.changed(face.personId, entry);
  }

  private unlink(face: DirectoryFace): void {
    const entry = this.persons.get(face.personId);
    if (entry === undefined || !entry.faces.delete(face.faceId)) return;
    this.faceCount--;
    if (entry.faces.size === 0) {
      this.persons.delete(face.personId);
      this.splice(face.personId, false);
    } else this.changed(face.personId, entry);
  }

  /** The person's name follows their newest named face, and their row's search text follows the name. */
  private changed(personId: string, entry: PersonEntry): void {
    let newest: DirectoryFace | undefined;
    for (const faceId of entry.faces) {
      const face = this.latest.get(faceId)!;
      if (face.name === undefined || face.name === '') continue;
      if (newest === undefined || Date.parse(face.enrolledAt) >= Date.parse(newest.enrolledAt)) newest = face;
    }
    entry.name = newest?.name;
    if (!this.rowsStale) this.rows[this.rowIndex(personId)].haystack = haystackOf(personId, entry);
  }

  /** A person's row in or out of the sorted rows, or the rows marked stale after many. */
  private splice(personId: string, insert: boolean): void {
    if (this.rowsStale) return;
    // Each splice moves up to n references: past a few thousand, one sort costs less.
    if (++this.splices > 2000) {
      this.rowsStale = true;
      return;
    }
    if (insert) this.rows.splice(this.rowIndex(personId), 0, { personId, haystack: personId.toLowerCase() });
    else this.rows.splice(this.rowIndex(personId), 1);
  }

  private sortedRows(): Row[] {
    if (this.rowsStale) {
      this.rows = [...this.persons]
        .map(([personId, entry]) => ({ personId, haystack: haystackOf(personId, entry) }))
        .sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
      this.rowsStale = false;
    }
    this.splices = 0;
    return this.rows;
  }

  /** Where `personId`'s row is, or would be inserted, in the sorted rows. */
  private rowIndex(personId: string): number {
    let low = 0;
    let high = this.rows.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.rows[middle].personId < personId) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** What a search looks in: the id and the name, lower-cased. */
function haystackOf(personId: string, entry: PersonEntry): string {
  return `${personId}\n${entry.name ?? ''}`.toLowerCase();
}

function faceKey(personId: string, faceId: string): string {
  return `${personId}\n${faceId}`;
}
