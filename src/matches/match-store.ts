import type { Redis } from 'ioredis';
import { logger } from '../logger.js';
import { folderCamera } from '../results/capture-time.js';
import { parseResult, parseResultFile } from '../results/result-schema.js';
import type { ResultJson } from '../results/result-types.js';
import { listAll } from '../storage/list-all.js';
import type { Storage, StorageObject } from '../storage/storage.js';
import {
  DEFAULT_MATCHES_LIMIT,
  MAX_MATCHES_LIMIT,
  type MatchPage,
  type MatchQuery,
  type MatchRebuildSummary,
  type MatchRecord,
  type SeenFrom,
} from './types.js';

/** Re-exported for existing importers of match-store. */
export { parseIsoTime } from './parse-iso-time.js';

export const DEFAULT_RESULTS_PREFIX = 'facepipe/results/';

/** Result files read and recorded at once by rebuild (storage gets and Redis round trips overlap). */
const REBUILD_CONCURRENCY = 16;

/** What a person's hash holds per sighting (the person is the hash's). */
type StoredMatch = Omit<MatchRecord, 'personId'>;

/**
 * Replaces everything one result recorded by its new sightings, atomically.
 * KEYS[1]: the result's hash (member -> personId); KEYS[2]: the camera it recorded under (encoded).
 * ARGV[1]: the prefix; ARGV[2]: the result's camera, encoded, or ''; then per sighting personId,
 * member, score (ms), details JSON.
 */
const RECORD_SCRIPT = `
local prefix = ARGV[1]
local camera = ARGV[2]
local old = redis.call('HGETALL', KEYS[1])
local oldCamera = redis.call('GET', KEYS[2])
for i = 1, #old, 2 do
  redis.call('ZREM', prefix .. ':seen:' .. old[i + 1], old[i])
  redis.call('HDEL', prefix .. ':face:' .. old[i + 1], old[i])
  if oldCamera then redis.call('ZREM', prefix .. ':seen-camera:' .. oldCamera .. ':' .. old[i + 1], old[i]) end
end
redis.call('DEL', KEYS[1], KEYS[2])
for i = 3, #ARGV, 4 do
  local person = ARGV[i]
  redis.call('ZADD', prefix .. ':seen:' .. person, ARGV[i + 2], ARGV[i + 1])
  redis.call('HSET', prefix .. ':face:' .. person, ARGV[i + 1], ARGV[i + 3])
  redis.call('HSET', KEYS[1], ARGV[i + 1], person)
  if camera ~= '' then
    redis.call('ZADD', prefix .. ':seen-camera:' .. camera .. ':' .. person, ARGV[i + 2], ARGV[i + 1])
  end
end
if camera ~= '' and #ARGV > 2 then redis.call('SET', KEYS[2], camera) end
return (#ARGV - 2) / 4
`;

const RECORD_COMMAND = 'facepipeRecordMatches';

/**
 * Re-files every sighting of one person under another (a merge), atomically.
 * KEYS[1], KEYS[2]: seen of from, into; KEYS[3], KEYS[4]: face of from, into; then pairs of
 * per-camera seen keys (from's, into's). ARGV[1]: the prefix; ARGV[2]: into's id.
 * The results' hashes (member -> personId) follow, so re-recording a result cleans into's keys.
 */
const MOVE_SCRIPT = `
local prefix = ARGV[1]
local into = ARGV[2]
local seen = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #seen, 2 do
  local member = seen[i]
  redis.call('ZADD', KEYS[2], seen[i + 1], member)
  local details = redis.call('HGET', KEYS[3], member)
  if details then redis.call('HSET', KEYS[4], member, details) end
  local result = string.match(member, '^(.*)|[0-9]+$')
  if result then redis.call('HSET', prefix .. ':result:' .. result, member, into) end
end
for j = 5, #KEYS, 2 do
  local camera = redis.call('ZRANGE', KEYS[j], 0, -1, 'WITHSCORES')
  for i = 1, #camera, 2 do redis.call('ZADD', KEYS[j + 1], camera[i + 1], camera[i]) end
  redis.call('DEL', KEYS[j])
end
redis.call('DEL', KEYS[1], KEYS[3])
return #seen / 2
`;

const MOVE_COMMAND = 'facepipeMoveMatches';

type MoveCommand = (numberOfKeys: number, ...args: string[]) => Promise<number>;

type RecordCommand = (resultHash: string, resultCamera: string, ...args: (string | number)[]) => Promise<number>;

/**
 * "Where was person X seen?" (DESIGN.md): every identified face of every result file, queryable
 * by person, newest first. Redis keys, all under `prefix` (see matchKeyPrefix):
 *
 *   <prefix>:seen:<personId>          sorted set: member `<run>|<input key>|<face index>`, score = seen at (ms)
 *   <prefix>:seen-camera:<camera>:<personId>  the same, of one camera (camera URI-encoded: no ':')
 *   <prefix>:face:<personId>          hash: member -> MatchRecord JSON (without personId)
 *   <prefix>:result:<run>|<input key> hash: member -> personId, what that result recorded
 *   <prefix>:result-camera:<run>|<input key>  the camera (encoded) that result recorded under
 *
 * Recording a result replaces what it recorded before (one Lua script, atomic), so re-recording
 * is idempotent and a changed decision leaves no stale sighting behind. The result files stay the
 * truth: `rebuild` recreates all of it from them. The script names per-person keys it is not
 * given, so this needs a standalone Redis (not Redis Cluster), like the rest of facepipe.
 */
export class MatchStore {
  private readonly recordCommand: RecordCommand;
  private readonly moveCommand: MoveCommand;

  constructor(
    private readonly redis: Redis,
    readonly prefix: string,
  ) {
    if (prefix === '') throw new Error('MatchStore: the key prefix is empty');
    const client = redis as unknown as Record<string, unknown>;
    if (typeof client[RECORD_COMMAND] !== 'function') {
      redis.defineCommand(RECORD_COMMAND, { numberOfKeys: 2, lua: RECORD_SCRIPT });
    }
    this.recordCommand = (client[RECORD_COMMAND] as RecordCommand).bind(redis);
    // Its number of keys varies with the person's cameras: given per call.
    if (typeof client[MOVE_COMMAND] !== 'function') redis.defineCommand(MOVE_COMMAND, { lua: MOVE_SCRIPT });
    this.moveCommand = (client[MOVE_COMMAND] as MoveCommand).bind(redis);
  }

  /**
   * Records the identified faces of one result (faces with a non-null personId), replacing what
   * the same result (`run` + `result.input.key`) recorded before. Returns the faces recorded.
   * Throws a TypeError (a ResultFormatError) for a value that is not a facepipe.result/v1 result.
   */
  async recordResult(run: string, resultKey: string, result: ResultJson): Promise<number> {
    return this.record(run, resultKey, parseResult(result));
  }

  /** recordResult of a result already parsed (parseResult): what rebuild read from a file. */
  private async record(
    run: string,
    resultKey: string,
    result: ResultJson,
    erased: (personId: string) => boolean = () => false,
    personOf: (personId: string) => string = (personId) => personId,
  ): Promise<number> {
    if (run === '') throw new TypeError('recordResult: run is empty');
    const { seenAt, seenFrom } = sightingTimeOf(result);
    const score = Date.parse(seenAt);
    const camera = cameraOf(result);
    const args: (string | number)[] = [this.prefix, camera === undefined ? '' : encodeURIComponent(camera)];
    result.faces.forEach((face, faceIndex) => {
      if (face.personId === null || face.personId === '') return;
      const named = face.personId;
      const personId = personOf(named);
      if (erased(personId)) return;
      const { x, y, width, height } = face.box;
      const details: StoredMatch = {
        run,
        key: result.input.key,
        resultKey,
        faceIndex,
        box: { x, y, width, height },
        distance: face.matches.find((m) => m.personId === named)?.distance ?? null,
        seenAt,
        seenFrom,
        ...(camera === undefined ? {} : { camera }),
      };
      args.push(personId, memberOf(run, result.input.key, faceIndex), score, JSON.stringify(details));
    });
    return Number(
      await this.recordCommand(
        this.resultHashKey(run, result.input.key),
        this.resultCameraKey(run, result.input.key),
        ...args,
      ),
    );
  }

  /**
   * One person's sightings, newest first (ties: by member, descending), with the total in range;
   * with `camera`, those of that camera alone.
   */
  async query(personId: string, options: MatchQuery = {}): Promise<MatchPage> {
    if (typeof personId !== 'string' || personId === '') throw new TypeError('query: personId is empty');
    const limit = options.limit ?? DEFAULT_MATCHES_LIMIT;
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_MATCHES_LIMIT) {
      throw new RangeError(`query: limit must be an integer from 1 to ${MAX_MATCHES_LIMIT}, got ${limit}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new RangeError(`query: offset must be an integer >= 0, got ${offset}`);
    const min = options.since === undefined ? '-inf' : String(timeOf(options.since, 'since'));
    const max = options.until === undefined ? '+inf' : `(${timeOf(options.until, 'until')}`;

    if (options.camera !== undefined && (typeof options.camera !== 'string' || options.camera === ''))
      throw new TypeError('query: camera is empty');
    const seen = options.camera === undefined ? this.seenKey(personId) : this.cameraSeenKey(personId, options.camera);
    const reply = await this.redis
      .multi()
      .zcount(seen, min, max)
      .zrevrangebyscore(seen, max, min, 'LIMIT', offset, limit)
      .exec();
    if (reply === null) throw new Error('query: the Redis transaction was aborted');
    for (const [err] of reply) if (err) throw err;
    const total = Number(reply[0][1]);
    const members = reply[1][1] as string[];
    if (members.length === 0) return { personId, total, items: [] };

    const details = await this.redis.hmget(this.faceKey(personId), ...members);
    const items: MatchRecord[] = [];
    // A result re-recorded between the two reads may have taken a member away: leave it out.
    for (const json of details) if (json !== null) items.push({ personId, ...(JSON.parse(json) as StoredMatch) });
    return { personId, total, items };
  }

  /**
   * Recreates the record from the result files alone: clears every key of this prefix, then
   * records every `.json` under `resultsPrefix` (run = its first path segment after the prefix).
   * Files that cannot be read or are not results are logged and counted as skipped. Queries
   * during a rebuild see a partial record. `deletedPersons` (person id -> time of their deletion,
   * from the gallery's tombstones) keeps erased people erased: a sighting in a result file written
   * before the person's deletion is not recorded again (one written after a re-enrollment is).
   * `mergedPersons` (person id -> the person merged into and when, GalleryStore.mergedPersons)
   * files a sighting written before a merge under the person it was merged into (through chains).
   */
  async rebuild(
    storage: Storage,
    resultsPrefix = DEFAULT_RESULTS_PREFIX,
    deletedPersons: ReadonlyMap<string, Date> = new Map(),
    mergedPersons: ReadonlyMap<string, { into: string; at: Date }> = new Map(),
  ): Promise<MatchRebuildSummary> {
    const prefix = resultsPrefix === '' || resultsPrefix.endsWith('/') ? resultsPrefix : `${resultsPrefix}/`;
    await this.clear();
    const summary: MatchRebuildSummary = { results: 0, faces: 0, skipped: 0 };
    const files = listAll(storage, prefix);
    const lane = async (): Promise<void> => {
      for (let next = await files.next(); !next.done; next = await files.next()) {
        const object: StorageObject = next.value;
        if (!object.key.endsWith('.json')) continue;
        const rest = object.key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash <= 0) {
          skip(object.key, 'not in a run folder (<prefix><run>/<input key>.json)');
          continue;
        }
        let result: ResultJson;
        try {
          result = parseResultFile(await storage.get(object.key));
        } catch (err) {
          skip(object.key, err instanceof Error ? err.message : String(err));
          continue;
        }
        const written = object.modified.getTime();
        const erased = (personId: string): boolean => (deletedPersons.get(personId)?.getTime() ?? -1) >= written;
        const personOf = (personId: string): string => {
          let current = personId;
          // A bounded walk: merges cannot loop (each one's target is live), a corrupt set could.
          for (let hops = 0; hops < 100; hops++) {
            const merge = mergedPersons.get(current);
            if (merge === undefined || merge.at.getTime() < written) break;
            current = merge.into;
          }
          return current;
        };
        const faces = await this.record(rest.slice(0, slash), object.key, result, erased, personOf);
        summary.faces += faces;
        summary.results += 1;
      }
    };
    const skip = (key: string, reason: string): void => {
      summary.skipped += 1;
      logger.warn({ key, reason }, 'matches rebuild: skipping a file that is not a readable result');
    };
    const lanes = await Promise.allSettled(Array.from({ length: REBUILD_CONCURRENCY }, lane));
    const failure = lanes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    return summary;
  }

  /**
   * Forgets every sighting of a person (erasure: a deleted person is gone from "where was X seen"
   * too). Returns the keys removed. The result files stay as written; see docs/operations.md.
   */
  async forgetPerson(personId: string): Promise<number> {
    const keys = [this.seenKey(personId), this.faceKey(personId)];
    const pattern = `${escapeGlob(this.prefix)}:seen-camera:*:${escapeGlob(personId)}`;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    return this.redis.unlink(...keys);
  }

  /**
   * Re-files every sighting of `from` under `into` (a merge of two persons), with their cameras;
   * `from` has none left. Returns the sightings moved. Idempotent: a second call moves nothing.
   */
  async movePerson(from: string, into: string): Promise<number> {
    if (from === '' || into === '' || from === into) throw new TypeError('movePerson: two different person ids');
    const keys = [this.seenKey(from), this.seenKey(into), this.faceKey(from), this.faceKey(into)];
    for (const key of await this.scanKeys(`${escapeGlob(this.prefix)}:seen-camera:*:${escapeGlob(from)}`)) {
      // <prefix>:seen-camera:<encoded camera>:<from>; the camera is encoded, so it holds no ':'.
      const camera = key.slice(`${this.prefix}:seen-camera:`.length, key.length - from.length - 1);
      if (camera.includes(':')) continue; // another person whose id ends in ':<from>' cannot exist (ids have no ':')
      keys.push(key, `${this.prefix}:seen-camera:${camera}:${into}`);
    }
    return Number(await this.moveCommand(keys.length, ...keys, this.prefix, into));
  }

  /**
   * When each person was last seen (their newest sighting, ISO 8601), for a page of persons: one
   * Redis round trip. Persons never seen are left out.
   */
  async lastSeen(personIds: readonly string[]): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    if (personIds.length === 0) return seen;
    const pipeline = this.redis.pipeline();
    for (const personId of personIds) pipeline.zrevrange(this.seenKey(personId), 0, 0, 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([err, reply], i) => {
      if (err) throw err;
      const [, score] = reply as string[];
      if (score !== undefined) seen.set(personIds[i], new Date(Number(score)).toISOString());
    });
    return seen;
  }

  private async scanKeys(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }

  /** Removes every key of this prefix (SCAN + UNLINK). */
  async clear(): Promise<number> {
    const pattern = `${escapeGlob(this.prefix)}:*`;
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) removed += await this.redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  }

  private seenKey(personId: string): string {
    return `${this.prefix}:seen:${personId}`;
  }

  private cameraSeenKey(personId: string, camera: string): string {
    return `${this.prefix}:seen-camera:${encodeURIComponent(camera)}:${personId}`;
  }

  private resultCameraKey(run: string, inputKey: string): string {
    return `${this.prefix}:result-camera:${run}|${inputKey}`;
  }

  private faceKey(personId: string): string {
    return `${this.prefix}:face:${personId}`;
  }

  private resultHashKey(run: string, inputKey: string): string {
    return `${this.prefix}:result:${run}|${inputKey}`;
  }
}

function memberOf(run: string, inputKey: string, faceIndex: number): string {
  return `${run}|${inputKey}|${faceIndex}`;
}

/**
 * When the faces of a result were seen: when the snapshot was taken (`input.captured`: EXIF, its
 * key or last-modified), else its last-modified time (`input.modified`), else the result's
 * processedAt; as ISO 8601 (UTC), with where it came from. Throws a TypeError when none is a time.
 */
export function sightingTimeOf(result: ResultJson): { seenAt: string; seenFrom: SeenFrom } {
  // Both are optional: results written before they existed have neither.
  const candidates: [string | undefined, SeenFrom][] = [
    [result.input.captured, result.input.capturedFrom ?? 'modified'],
    [result.input.modified, 'modified'],
    [result.processedAt, 'processed'],
  ];
  for (const [value, seenFrom] of candidates) {
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return { seenAt: new Date(ms).toISOString(), seenFrom };
  }
  throw new TypeError('result has neither input.captured, input.modified nor processedAt as a time');
}

/** When the faces of a result were seen (sightingTimeOf), as ISO 8601 (UTC). */
export function seenAtOf(result: ResultJson): string {
  return sightingTimeOf(result).seenAt;
}

/** The result's camera: `input.camera`, else (results written before it) the key's parent folder. */
export function cameraOf(result: ResultJson): string | undefined {
  return result.input.camera ?? folderCamera(result.input.key);
}

function timeOf(date: Date, name: string): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`query: ${name} is not a valid Date`);
  return ms;
}

/** `value` as a literal in a Redis glob pattern. */
function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\^]/g, (c) => `\\${c}`);
}
