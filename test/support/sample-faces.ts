import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { ROOT } from './cli-process.js';

export const SAMPLES = path.join(ROOT, 'node_modules/@vladmandic/face-api/demo');
export const sample = (n: number) => path.join(SAMPLES, `sample${n}.jpg`);

/**
 * Single-face crops of people in the group photos (boxes found by `detect` on these pinned samples),
 * chosen far apart in embedding space so that they are clearly different people.
 */
export const PEOPLE = {
  A: { sample: 2, box: [1447, 153, 193, 242] },
  B: { sample: 4, box: [1276, 143, 145, 243] },
  C: { sample: 5, box: [1406, 389, 165, 271] },
  D: { sample: 5, box: [376, 859, 172, 300] },
} as const;
export type Person = keyof typeof PEOPLE;

/** The person's face with `margin` x its size around it; `variant` mirrors and brightens it (a second photo). */
export async function faceImage(person: Person, margin: number, variant = false): Promise<Sharp> {
  const { sample: n, box } = PEOPLE[person];
  const [x, y, w, h] = box;
  const { width = 0, height = 0 } = await sharp(sample(n)).metadata();
  const left = Math.max(0, Math.round(x - margin * w));
  const top = Math.max(0, Math.round(y - margin * h));
  const image = sharp(sample(n)).extract({
    left,
    top,
    width: Math.min(width, Math.round(x + w + margin * w)) - left,
    height: Math.min(height, Math.round(y + h + margin * h)) - top,
  });
  return variant ? image.flop().modulate({ brightness: 1.1 }) : image;
}
