import { timingSafeEqual } from 'node:crypto';
import { logger } from '../../logger.js';
import { type ApiKeyRecord, hashApiKey } from './api-key.js';

/** How often the service re-reads the deployment's keys: a new or revoked key counts within this. */
export const DEFAULT_KEY_REFRESH_MS = 2000;

/**
 * The keys a service accepts: the environment's plus the deployment's (re-read every few seconds,
 * so `facepipe keys create|revoke` takes effect on every running service without a restart).
 * When a refresh fails (Redis down), the last keys read stay in force and the failure is logged.
 */
export class ApiKeyRing {
  private stored: ApiKeyRecord[] = [];
  private hashes: { record: ApiKeyRecord; hash: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly envKeys: ApiKeyRecord[],
    private readonly load?: () => Promise<ApiKeyRecord[]>,
    private readonly refreshMs: number = DEFAULT_KEY_REFRESH_MS,
  ) {
    this.index();
  }

  /** Reads the stored keys once (throws when it cannot), then keeps them fresh until stop(). */
  async start(): Promise<void> {
    await this.refresh();
    if (this.load && this.timer === undefined) {
      this.timer = setInterval(() => {
        this.refresh().catch((err: unknown) =>
          logger.warn({ err }, 'could not re-read the API keys; the last ones read stay in force'),
        );
      }, this.refreshMs);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh(): Promise<void> {
    if (!this.load) return;
    this.stored = await this.load();
    this.index();
  }

  /** How many keys are accepted now. */
  get size(): number {
    return this.hashes.length;
  }

  /**
   * The record of `key`, or undefined. The key's hash is compared with every accepted hash in
   * constant time (timingSafeEqual, no early exit), so timing tells nothing about which bytes matched.
   */
  verify(key: string): ApiKeyRecord | undefined {
    const hash = Buffer.from(hashApiKey(key), 'hex');
    let found: ApiKeyRecord | undefined;
    for (const entry of this.hashes) {
      if (timingSafeEqual(hash, entry.hash) && found === undefined) found = entry.record;
    }
    return found;
  }

  private index(): void {
    this.hashes = [...this.envKeys, ...this.stored].map((record) => ({
      record,
      hash: Buffer.from(record.sha256, 'hex'),
    }));
  }
}
