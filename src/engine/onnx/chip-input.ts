import type { InputChip } from '../embedder.js';

/**
 * Chips of one InputChip as a float32 NHWC batch [n, size, size, 3], pixels mapped from 0..255 to
 * its pixelRange: chipBatch()'s values without tfjs. `mirror` appends each chip's mirror image
 * (left-right) after all of them, as the tfjs embedders' flip TTA does.
 */
export function chipInput(chips: readonly Uint8Array[], spec: InputChip, mirror = false): Float32Array {
  const { size } = spec;
  const [min, max] = spec.pixelRange;
  const scale = (max - min) / 255;
  const length = size * size * 3;
  const values = new Float32Array(chips.length * length * (mirror ? 2 : 1));
  chips.forEach((chip, i) => {
    if (chip.length !== length)
      throw new RangeError(`chip ${i}: ${chip.length} bytes, a ${size}x${size} RGB chip has ${length}`);
    const at = i * length;
    for (let k = 0; k < length; k++) values[at + k] = min + chip[k] * scale;
    if (!mirror) return;
    const flipped = (chips.length + i) * length;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++)
          values[flipped + (y * size + x) * 3 + c] = values[at + (y * size + (size - 1 - x)) * 3 + c];
  });
  return values;
}
