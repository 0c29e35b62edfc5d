import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxCacheDir } from '../src/engine/onnx/onnx-graph-cache.js';

describe('the ONNX graph cache folder', () => {
  it('is FACEPIPE_ONNX_CACHE when set, else the user cache, else the temp folder when that cannot be made', () => {
    expect(onnxCacheDir({ FACEPIPE_ONNX_CACHE: '/srv/graphs' })).toBe('/srv/graphs');
    const writable = path.join(tmpdir(), `facepipe-cache-test-${process.pid}`);
    expect(onnxCacheDir({}, writable)).toBe(writable);
    // A folder under a file cannot be created (a read-only home behaves alike): the engine still starts.
    expect(onnxCacheDir({ FACEPIPE_ONNX_CACHE: ' ' }, path.join(process.execPath, 'cache'))).toBe(
      path.join(tmpdir(), 'facepipe-onnx'),
    );
  });
});
