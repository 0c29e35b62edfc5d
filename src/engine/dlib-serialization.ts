/**
 * A reader of dlib's binary serialization (dlib/serialize.h), enough for the model files dlib
 * publishes: packed integers, floats as mantissa and exponent, matrices, and dnn tensors.
 */
export class DlibReader {
  constructor(
    private readonly data: Buffer,
    public offset = 0,
  ) {}

  get atEnd(): boolean {
    return this.offset >= this.data.length;
  }

  /** An integer: one byte with its length (bit 7: negative), then that many little-endian bytes. */
  int(): number {
    const head = this.data[this.offset++];
    const length = head & 0x7f;
    let value = 0;
    for (let i = length - 1; i >= 0; i--) value = value * 256 + this.data[this.offset + i];
    this.offset += length;
    return head & 0x80 ? -value : value;
  }

  /** A float or double: integer mantissa and exponent, value = mantissa x 2^exponent. */
  float(): number {
    const mantissa = this.int();
    return mantissa * 2 ** this.int();
  }

  /** A column vector `matrix<float,0,1>`: its dimensions (stored negated), then each value. */
  vector(): Float32Array {
    const rows = -this.int();
    const cols = -this.int();
    const values = new Float32Array(rows * cols);
    for (let i = 0; i < values.length; i++) values[i] = this.float();
    return values;
  }

  /** A `std::vector`: its length, then each element read by `item`. */
  list<T>(item: () => T): T[] {
    const length = this.int();
    return Array.from({ length }, item);
  }

  /** A dnn `tensor` (version 2): four dimensions, then their product of little-endian float32. */
  tensor(): Float32Array {
    const version = this.int();
    if (version !== 2) throw new Error(`dlib tensor version ${version} at byte ${this.offset}, expected 2`);
    let count = 1;
    for (let i = 0; i < 4; i++) count *= this.int();
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = this.data.readFloatLE(this.offset + 4 * i);
    this.offset += 4 * count;
    return values;
  }

  /** Moves past the next occurrence of a serialized string; false if there is none. */
  skipPast(text: string): boolean {
    const tag = Buffer.concat([Buffer.from([1, text.length]), Buffer.from(text, 'latin1')]);
    const at = this.data.indexOf(tag, this.offset);
    if (at < 0) return false;
    this.offset = at + tag.length;
    return true;
  }
}
