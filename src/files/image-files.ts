import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Extensions taken as images when walking a folder; other files are skipped. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'tif', 'tiff', 'gif'];

export interface ImageFile {
  /** Where to read it. */
  path: string;
  /** Its name in outputs: relative to the folder argument (with /), or the file name for a file argument. */
  key: string;
}

export function hasImageExtension(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).slice(1).toLowerCase());
}

/**
 * The images named by file and folder arguments, folders walked recursively in name order. A file
 * argument is always taken, whatever its extension or even if it is missing: the engine then reports
 * why it cannot be read, as it does for a file with an image extension that is not an image.
 */
export async function listImageFiles(args: readonly string[]): Promise<ImageFile[]> {
  const files: ImageFile[] = [];
  for (const arg of args) {
    const isDir = await stat(arg).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (isDir) await walk(arg, '', files);
    else files.push({ path: arg, key: path.basename(arg) });
  }
  return files;
}

async function walk(root: string, rel: string, out: ImageFile[]): Promise<void> {
  const entries = await readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
    // Symlinked folders are not followed (no cycles); symlinked files are taken like files.
    if (entry.isDirectory()) await walk(root, key, out);
    else if (hasImageExtension(entry.name)) out.push({ path: path.join(root, key), key });
  }
}
