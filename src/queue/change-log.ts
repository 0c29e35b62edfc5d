import type { Redis } from 'ioredis';

/** One change of the gallery, as the index service applies it. */
export type GalleryChange =
  /** New or re-enrolled faces: the records of one gallery segment (read from storage). */
  | { type: 'segment'; key: string }
  /** A deletion (a gallery tombstone): the person's faces enrolled at or before deletedAt. */
  | { type: 'delete'; personId: string; deletedAt: string; faceIds?: string[] };

export type ChangeEntry =
  | {
      /** Redis stream id, 'ms-seq'; ids only grow. */
      id: string;
      change: GalleryChange;
    }
  | {
      id: string;
      /** An entry that is not a GalleryChange (bad JSON, wrong shape): readers skip it, logged. */
      change: null;
      invalid: string;
    };

export interface ChangeLogBounds {
  /** False when the stream does not exist (never written, or Redis lost it). */
  exists: boolean;
  first?: string;
  last?: string;
}

/** The stream position before any entry. */
export const LOG_START = '0-0';

/**
 * The gallery's change log: a Redis stream the workers append to after writing the gallery and the
 * index service reads (DESIGN.md, "Index service"). The gallery stays the truth: the log only says
 * what to look at, and a service that cannot trust it (stream trimmed past its snapshot, or gone)
 * rebuilds from the gallery instead.
 *
 * Blocking reads hold their connection: give the reader its own ioredis client.
 */
export class ChangeLog {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    /** Approximate length the stream is trimmed to on every append. */
    private readonly maxLength = 1_000_000,
  ) {}

  async publish(change: GalleryChange): Promise<string> {
    const id = await this.redis.xadd(
      this.key,
      'MAXLEN',
      '~',
      String(this.maxLength),
      '*',
      'change',
      JSON.stringify(change),
    );
    return id!;
  }

  /** Entries after `after`, oldest first; with blockMs, waits up to that long when there are none. */
  async read(after: string, options: { count?: number; blockMs?: number } = {}): Promise<ChangeEntry[]> {
    const count = String(options.count ?? 500);
    const reply =
      options.blockMs !== undefined
        ? await this.redis.xread('COUNT', count, 'BLOCK', options.blockMs, 'STREAMS', this.key, after)
        : await this.redis.xread('COUNT', count, 'STREAMS', this.key, after);
    if (reply === null) return [];
    return reply[0][1].map(([id, fields]): ChangeEntry => {
      try {
        return { id, change: parseChange(id, fields) };
      } catch (err) {
        // One bad entry must not stop every reader forever: it is handed over as invalid.
        return { id, change: null, invalid: (err as Error).message };
      }
    });
  }

  async bounds(): Promise<ChangeLogBounds> {
    const [first, last] = await Promise.all([
      this.redis.xrange(this.key, '-', '+', 'COUNT', 1),
      this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1),
    ]);
    if (first.length === 0)
      return { exists: (await this.redis.exists(this.key)) === 1, first: undefined, last: undefined };
    return { exists: true, first: first[0][0], last: last[0][0] };
  }
}

function parseChange(id: string, fields: string[]): GalleryChange {
  const at = fields.indexOf('change');
  if (at < 0 || at + 1 >= fields.length) throw new Error(`change log entry ${id} has no 'change' field`);
  let change: GalleryChange;
  try {
    change = JSON.parse(fields[at + 1]) as GalleryChange;
  } catch (err) {
    throw new Error(`change log entry ${id} is not JSON: ${(err as Error).message}`);
  }
  const ok =
    typeof change === 'object' &&
    change !== null &&
    ((change.type === 'segment' && typeof change.key === 'string' && change.key !== '') ||
      (change.type === 'delete' &&
        typeof change.personId === 'string' &&
        change.personId !== '' &&
        typeof change.deletedAt === 'string' &&
        Number.isFinite(Date.parse(change.deletedAt)) &&
        (change.faceIds === undefined ||
          (Array.isArray(change.faceIds) && change.faceIds.every((f) => typeof f === 'string')))));
  if (!ok) throw new Error(`change log entry ${id} is not a gallery change: ${fields[at + 1].slice(0, 200)}`);
  return change;
}

/** Orders two stream ids ('ms-seq'). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}
