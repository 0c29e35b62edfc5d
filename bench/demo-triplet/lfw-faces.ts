// LFW people (lfw-dev/<Name>/<Name>_NNNN.jpg, 250x250 colour) cut to the AT&T photos' framing,
// for demo:triplet's --pretrain: many more identities than AT&T's 30 training subjects.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { downscaleGrey } from './pgm.js';
import { forEachConcurrent } from '../../src/util/for-each-concurrent.js';
import { standardise, type Subject } from './att-faces.js';

/**
 * The 92x112 window of a deep-funneled LFW photo that frames a face as the AT&T photos do: the
 * engine's landmarks put the eyes' midpoint at (44.5, 49.5) with 33.3 px between the eyes in
 * AT&T photos, and at (124.7, 112.4) with 41.1 px in LFW photos (means over 42 and 50 photos).
 */
const ATT_FRAME_IN_LFW = { left: 70, top: 51, width: 114, height: 138 };

/** People with at least `minImages` photos, each photo grey, cropped to the AT&T framing, downscaled by `factor`, standardised. */
export async function loadLfwPeople(dir: string, factor: number, minImages = 2): Promise<Subject[]> {
  if (!existsSync(dir))
    throw new Error(`--pretrain: ${dir} is absent (expected an LFW folder, <Name>/<Name>_NNNN.jpg)`);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const people: Subject[] = [];
  await forEachConcurrent(names, 8, async (name) => {
    const files = (await readdir(path.join(dir, name))).filter((f) => f.endsWith('.jpg')).sort();
    if (files.length < minImages) return;
    const images = await Promise.all(
      files.map(async (f) => {
        const { data, info } = await sharp(path.join(dir, name, f))
          .extract(ATT_FRAME_IN_LFW)
          .resize(92, 112, { fit: 'fill' })
          .greyscale()
          .raw()
          .toBuffer({ resolveWithObject: true });
        if (info.channels !== 1) throw new Error(`${name}/${f}: expected one grey channel, got ${info.channels}`);
        return standardise(downscaleGrey({ width: 92, height: 112, data }, factor).data);
      }),
    );
    people.push({ name: `lfw/${name}`, images });
  });
  if (people.length < 2)
    throw new Error(`--pretrain: ${dir} holds ${people.length} people with ${minImages}+ photos, need at least 2`);
  return people.sort((a, b) => a.name.localeCompare(b.name));
}
