import { compareKeys } from '../storage/compare-keys.js';
import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import type { IdentifyRunRecord } from './types.js';

export const DEFAULT_RUNS_ROOT = 'facepipe/runs';

/**
 * Identification runs in storage, `<root>/<run>.json`: the source, the time window and the job plan
 * of each run. A re-run of the same run re-enqueues from this plan, so its job ids never change.
 */
export class RunStore {
  private readonly root: string;

  constructor(
    private readonly storage: Storage,
    root: string = DEFAULT_RUNS_ROOT,
  ) {
    this.root = root.replace(/\/+$/, '');
  }

  async get(run: string): Promise<IdentifyRunRecord | undefined> {
    const head = await this.storage.head(this.key(run));
    if (head === null) return undefined;
    return JSON.parse(Buffer.from(await this.storage.get(this.key(run))).toString('utf8')) as IdentifyRunRecord;
  }

  async save(record: IdentifyRunRecord): Promise<void> {
    await this.storage.put(this.key(record.run), JSON.stringify(record), { contentType: 'application/json' });
  }

  /** The runs of one source, newest first. */
  async forSource(source: string): Promise<IdentifyRunRecord[]> {
    return (await this.list()).filter((record) => record.source === source);
  }

  /** Every run, newest first. */
  async list(): Promise<IdentifyRunRecord[]> {
    const records: IdentifyRunRecord[] = [];
    for await (const { key } of listAll(this.storage, `${this.root}/`)) {
      if (!key.endsWith('.json')) continue;
      records.push(JSON.parse(Buffer.from(await this.storage.get(key)).toString('utf8')) as IdentifyRunRecord);
    }
    return records.sort((a, b) => compareKeys(b.createdAt, a.createdAt) || compareKeys(b.run, a.run));
  }

  private key(run: string): string {
    return `${this.root}/${run}.json`;
  }
}
