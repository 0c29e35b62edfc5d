import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { hasImageExtension } from '../files/image-files.js';
import { compareKeys } from '../storage/compare-keys.js';

export interface OpenSetImage {
  personId: string;
  /** Path relative to the LFW root. */
  key: string;
}

export interface OpenSetSplit {
  /** One image per enrolled identity: its first. */
  gallery: OpenSetImage[];
  /** The other images of the enrolled identities. */
  genuine: OpenSetImage[];
  /** Every image of the identities not enrolled. */
  impostor: OpenSetImage[];
}

/**
 * The open-set protocol on an LFW-layout folder (<Name>/<Name>_0001.jpg): of the identities with two
 * or more images, in name order, every other one is enrolled from its first image and probed with
 * the rest; every image of the other half probes as a stranger. Deterministic.
 */
export async function openSetSplit(
  root: string,
  people: (personId: string) => boolean = () => true,
): Promise<OpenSetSplit> {
  const entries = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && people(d.name))
    .map((d) => d.name);
  const images = await Promise.all(
    entries.map(async (personId) =>
      (await readdir(path.join(root, personId)))
        .filter(hasImageExtension)
        .map((file) => ({ personId, key: `${personId}/${file}` })),
    ),
  );
  return splitOpenSet(images.flat());
}

/** The same protocol on images already listed (e.g. labelled embeddings): person and key order decide. */
export function splitOpenSet(images: readonly OpenSetImage[]): OpenSetSplit {
  const byPerson = new Map<string, OpenSetImage[]>();
  for (const image of images) byPerson.set(image.personId, [...(byPerson.get(image.personId) ?? []), image]);
  const split: OpenSetSplit = { gallery: [], genuine: [], impostor: [] };
  let multi = 0;
  for (const personId of [...byPerson.keys()].sort(compareKeys)) {
    const keys = byPerson.get(personId)!.sort((a, b) => compareKeys(a.key, b.key));
    if (keys.length < 2) continue;
    if (multi++ % 2 === 0) {
      split.gallery.push(keys[0]);
      split.genuine.push(...keys.slice(1));
    } else {
      split.impostor.push(...keys);
    }
  }
  return split;
}
