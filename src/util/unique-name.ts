import { randomBytes } from 'node:crypto';

/** Time-sortable and unique across writers, safe as a key segment: 20261129T021507120Z-<16 hex>. */
export function uniqueName(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(8).toString('hex')}`;
}
