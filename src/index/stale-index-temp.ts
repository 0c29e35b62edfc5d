import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { logger } from '../logger.js';

/** Prefix of the temp folders FaceIndex writes index files through: `facepipe-index-<pid>-<random>`. */
export const INDEX_TEMP_PREFIX = 'facepipe-index-';

/** Folders without a pid (older versions) are removed once this old. */
const UNOWNED_STALE_MS = 60 * 60_000;

/**
 * Removes the temp folders of index writers that died (killed mid serialize/restore: each holds a
 * whole index file). A folder whose pid is still alive is kept. Returns how many were removed.
 */
export async function removeStaleIndexTemp(dir: string = tmpdir()): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(INDEX_TEMP_PREFIX)) continue;
    const full = path.join(dir, name);
    const pid = /^facepipe-index-(\d+)-/.exec(name)?.[1];
    const stale =
      pid !== undefined
        ? !alive(Number(pid))
        : await stat(full).then(
            (s) => Date.now() - s.mtimeMs > UNOWNED_STALE_MS,
            () => false,
          );
    if (!stale) continue;
    await rm(full, { recursive: true, force: true }).then(
      () => removed++,
      () => undefined,
    );
  }
  if (removed > 0) logger.info({ dir, removed }, 'removed temp folders of index writers that died');
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}
