import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli-process.js';

describe('the ONNX networks and onnxruntime-node', () => {
  it('load onnxruntime on first use, not on import: the tfjs backends start where it cannot load', () => {
    const script = `
      import { createRequire } from 'node:module';
      await import('./src/engine/onnx/onnx-dlib-resnet-embedder.ts');
      await import('./src/engine/onnx/onnx-face-landmarks.ts');
      await import('./src/engine/onnx/onnx-faceres-embedder.ts');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('onnxruntime'));
      console.log(JSON.stringify(loaded));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual([]);
  });
});
