import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The engine loads TensorFlow.js models in worker threads: slow to start, heavy to run.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run one at a time: each starts its own engine, and this machine has 2 cores.
    fileParallelism: false,
    // In-process services log at info; the test report is clearer without them (failures still show).
    env: { FACEPIPE_LOG_LEVEL: 'warn' },
  },
});
