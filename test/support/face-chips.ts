import { faceImage, type Person } from './sample-faces.js';

/** A person's face from the sample photos resized to a size x size RGB chip (a stand-in for an aligned chip). */
export async function faceChip(person: Person, margin: number, size: number): Promise<Uint8Array> {
  const image = await faceImage(person, margin);
  const data = await image.resize(size, size, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  return new Uint8Array(data);
}

/** The largest absolute difference between two rows of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
