import type * as tfjs from '@tensorflow/tfjs';
import type { InputChip } from './embedder.js';
import type { TfBackend } from './tf-backend.js';

/** Chips of one InputChip as a float32 batch [n, size, size, 3], pixels mapped from 0..255 to its pixelRange. */
export function chipBatch(tf: TfBackend['tf'], chips: readonly Uint8Array[], spec: InputChip): tfjs.Tensor4D {
  const { size } = spec;
  const [min, max] = spec.pixelRange;
  const scale = (max - min) / 255;
  const values = new Float32Array(chips.length * size * size * 3);
  chips.forEach((chip, i) => {
    if (chip.length !== size * size * 3)
      throw new RangeError(`chip ${i}: ${chip.length} bytes, a ${size}x${size} RGB chip has ${size * size * 3}`);
    const at = i * chip.length;
    for (let k = 0; k < chip.length; k++) values[at + k] = min + chip[k] * scale;
  });
  return tf.tensor4d(values, [chips.length, size, size, 3], 'float32');
}
