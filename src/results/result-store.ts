import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import { shortHash } from '../util/short-hash.js';
import type { ResultJson } from './result-types.js';
import { isTransientResult } from './transient-error.js';

export const DEFAULT_RESULTS_ROOT = 'facepipe/results';

/** The longest file name most file systems take (ext4, APFS, NTFS: 255 bytes). */
const MAX_NAME_BYTES = 255;

/**
 * Result files in storage: `<root>/<run>/<input key>.json`, one per input image, written whole
 * (a retried job overwrites its own files, never adds copies). A result whose error is a transient
 * outage (transient-error.ts) is stored but does not count as done.
 */
export class ResultStore {
  private readonly root: string;

  constructor(
    readonly storage: Storage,
    root: string = DEFAULT_RESULTS_ROOT,
  ) {
    this.root = root.replace(/\/+$/, '');
  }

  /** '<root>/<run>/': where a run's results are. */
  prefix(run: string): string {
    return `${this.root}/${run}/`;
  }

  /**
   * `<root>/<run>/<input key>.json`; a last segment too long for a file name (255 bytes with
   * '.json') is cut and suffixed with a hash of the whole key, so that its result can be written.
   */
  keyFor(run: string, inputKey: string): string {
    const slash = inputKey.lastIndexOf('/');
    const name = inputKey.slice(slash + 1);
    if (Buffer.byteLength(`${name}.json`) <= MAX_NAME_BYTES) return `${this.prefix(run)}${inputKey}.json`;
    const suffix = `~${shortHash(inputKey, 16)}.json`;
    let cut = name;
    while (Buffer.byteLength(cut + suffix) > MAX_NAME_BYTES) cut = [...cut].slice(0, -1).join('');
    return `${this.prefix(run)}${inputKey.slice(0, slash + 1)}${cut}${suffix}`;
  }

  async put(run: string, result: ResultJson): Promise<string> {
    const key = this.keyFor(run, result.input.key);
    await this.storage.put(key, JSON.stringify(result), { contentType: 'application/json' });
    return key;
  }

  async get(resultKey: string): Promise<ResultJson> {
    return JSON.parse(Buffer.from(await this.storage.get(resultKey)).toString('utf8')) as ResultJson;
  }

  /** The result, or undefined when it was removed meanwhile or is not JSON (it is then written again). */
  private async readIfValid(resultKey: string): Promise<ResultJson | undefined> {
    try {
      const result = await this.get(resultKey);
      return typeof result === 'object' && result !== null && 'error' in result ? result : undefined;
    } catch (err) {
      if (err instanceof SyntaxError || (err as { code?: string }).code === 'MISSING_FILE') return undefined;
      throw err;
    }
  }

  /**
   * The input keys of this run that are done: they have a result file, and it is not one of a
   * transient outage (INDEX_UNAVAILABLE, SOURCE_UNAVAILABLE), which a re-run must identify again.
   * Reads every result (`concurrency` at a time): a file's name cannot say what it holds.
   */
  async doneInputKeys(run: string, concurrency = 16): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const { result } of await this.readValid(run, concurrency)) {
      // The key inside the file: a long name's file is named by a hash.
      if (!isTransientResult(result)) keys.add(result.input.key);
    }
    return keys;
  }

  /**
   * Every result of a run that reads as one (`concurrency` files at a time), in no order: a file
   * removed meanwhile or not JSON is left out (it is written again).
   */
  async readValid(run: string, concurrency = 16): Promise<Array<{ resultKey: string; result: ResultJson }>> {
    const resultKeys: string[] = [];
    for await (const { key } of listAll(this.storage, this.prefix(run)))
      if (key.endsWith('.json')) resultKeys.push(key);
    const results: Array<{ resultKey: string; result: ResultJson }> = [];
    await forEachConcurrent(resultKeys, concurrency, async (resultKey) => {
      const result = await this.readIfValid(resultKey);
      if (result !== undefined) results.push({ resultKey, result });
    });
    return results;
  }

  /** Every result of a run. */
  async *read(run: string): AsyncGenerator<{ resultKey: string; result: ResultJson }> {
    for await (const { key } of listAll(this.storage, this.prefix(run))) {
      if (key.endsWith('.json')) yield { resultKey: key, result: await this.get(key) };
    }
  }
}
