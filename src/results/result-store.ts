import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import type { ResultJson } from './result-types.js';

export const DEFAULT_RESULTS_ROOT = 'facepipe/results';

/**
 * Result files in storage: `<root>/<run>/<input key>.json`, one per input image, written whole
 * (a retried job overwrites its own files, never adds copies).
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

  keyFor(run: string, inputKey: string): string {
    return `${this.prefix(run)}${inputKey}.json`;
  }

  async put(run: string, result: ResultJson): Promise<string> {
    const key = this.keyFor(run, result.input.key);
    await this.storage.put(key, JSON.stringify(result), { contentType: 'application/json' });
    return key;
  }

  async get(resultKey: string): Promise<ResultJson> {
    return JSON.parse(Buffer.from(await this.storage.get(resultKey)).toString('utf8')) as ResultJson;
  }

  /** The input keys that have a result in this run. */
  async inputKeys(run: string): Promise<Set<string>> {
    const prefix = this.prefix(run);
    const keys = new Set<string>();
    for await (const { key } of listAll(this.storage, prefix))
      if (key.endsWith('.json')) keys.add(key.slice(prefix.length, -'.json'.length));
    return keys;
  }

  /** Every result of a run. */
  async *read(run: string): AsyncGenerator<{ resultKey: string; result: ResultJson }> {
    for await (const { key } of listAll(this.storage, this.prefix(run))) {
      if (key.endsWith('.json')) yield { resultKey: key, result: await this.get(key) };
    }
  }
}
