import { personIdProblem } from '../gallery/person-id.js';
import path from 'node:path';
import { hasImageExtension } from '../files/image-files.js';
import { compareKeys } from '../storage/compare-keys.js';
import { listAll } from '../storage/list-all.js';
import type { Storage } from '../storage/storage.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import type { EnrollItem } from '../queue/jobs.js';
import type { EnrollListing, InvalidPersonKey, ManifestEntry, MissingKey, SkippedKey } from './types.js';

export interface ListEnrollItemsOptions {
  /** When given, the images and persons come from it instead of the folder layout. */
  manifest?: ManifestEntry[];
  /** Folder layout only: list below this key prefix ('' or ending in '/'); default ''. */
  prefix?: string;
  /** Manifest only: concurrent `head` calls (default 16). */
  headConcurrency?: number;
}

/**
 * The images to enroll from a source storage, ordered by key:
 * - folder layout: `<prefix><personId>/<image>`; files that are not images, files directly under the
 *   prefix and files deeper than one folder are reported in `skipped` with the reason;
 * - manifest: every entry's key is `head`ed for its etag and size; keys the source does not hold are
 *   returned in `missing` (the run summary records them as MISSING_FILE).
 */
export async function listEnrollItems(source: Storage, options: ListEnrollItemsOptions = {}): Promise<EnrollListing> {
  return options.manifest !== undefined
    ? fromManifest(source, options.manifest, options.headConcurrency ?? 16)
    : fromFolders(source, options.prefix ?? '');
}

async function fromFolders(source: Storage, prefix: string): Promise<EnrollListing> {
  if (prefix !== '' && !prefix.endsWith('/'))
    throw new Error(`source prefix must be '' or end with '/', got ${JSON.stringify(prefix)}`);
  const items: EnrollItem[] = [];
  const skipped: SkippedKey[] = [];
  const invalid: InvalidPersonKey[] = [];
  for await (const object of listAll(source, prefix)) {
    const parts = object.key.slice(prefix.length).split('/');
    if (!hasImageExtension(object.key))
      skipped.push({ key: object.key, reason: `not an image (${path.extname(object.key) || 'no extension'})` });
    else if (parts.length === 1)
      skipped.push({ key: object.key, reason: 'not in a person folder (expected <personId>/<image>)' });
    else if (parts.length > 2)
      skipped.push({ key: object.key, reason: 'nested deeper than one folder (expected <personId>/<image>)' });
    else {
      const problem = personIdProblem(parts[0]);
      if (problem !== undefined)
        invalid.push({ key: object.key, reason: `${object.key}: folder ${JSON.stringify(parts[0])}: ${problem}` });
      else items.push({ key: object.key, personId: parts[0], etag: object.etag, size: object.size });
    }
  }
  return { items, skipped, missing: [], invalid };
}

async function fromManifest(source: Storage, manifest: ManifestEntry[], concurrency: number): Promise<EnrollListing> {
  const items: EnrollItem[] = [];
  const missing: MissingKey[] = [];
  const skipped: SkippedKey[] = [];
  const invalid: InvalidPersonKey[] = [];
  await forEachConcurrent(manifest, concurrency, async (entry) => {
    if (entry.personIdProblem !== undefined) {
      invalid.push({
        key: entry.key,
        reason: `manifest line ${entry.line}: person id ${JSON.stringify(entry.personId.slice(0, 200))}: ${entry.personIdProblem}`,
      });
      return;
    }
    if (!hasImageExtension(entry.key)) {
      skipped.push({
        key: entry.key,
        reason: `not an image (${path.extname(entry.key) || 'no extension'}), manifest line ${entry.line}`,
      });
      return;
    }
    const object = await source.head(entry.key);
    if (object === null) {
      missing.push({ key: entry.key, personId: entry.personId, line: entry.line });
      return;
    }
    const item: EnrollItem = { key: entry.key, personId: entry.personId, etag: object.etag, size: object.size };
    if (entry.name !== undefined) item.name = entry.name;
    items.push(item);
  });
  items.sort((a, b) => compareKeys(a.key, b.key));
  missing.sort((a, b) => a.line - b.line);
  skipped.sort((a, b) => compareKeys(a.key, b.key));
  invalid.sort((a, b) => compareKeys(a.key, b.key));
  return { items, skipped, missing, invalid };
}
