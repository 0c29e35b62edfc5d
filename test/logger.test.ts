import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli-process.js';

/** One line logged by a fresh process (the logger is made once, at import), as its stderr shows it. */
function logOnce(env: Record<string, string>): string {
  const script =
    "const { logger } = await import('./src/logger.ts'); logger.info({ queue: 'enroll', images: 3 }, 'enroll job j1: 3 images');";
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', FACEPIPE_LOG_LEVEL: 'info', FACEPIPE_LOG_FORMAT: '', ...env },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stderr.trim();
}

describe('the logger', () => {
  it('writes JSON lines when stderr is not a terminal', () => {
    const line = logOnce({});
    expect(JSON.parse(line)).toMatchObject({
      level: 30,
      name: 'facepipe',
      queue: 'enroll',
      msg: 'enroll job j1: 3 images',
    });
  });

  it('writes one readable line with FACEPIPE_LOG_FORMAT=pretty (what a terminal gets)', () => {
    const line = logOnce({ FACEPIPE_LOG_FORMAT: 'pretty' });
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(facepipe\): enroll job j1: 3 images \{"queue":"enroll","images":3\}$/,
    );
  });

  it('names a bad FACEPIPE_LOG_FORMAT and falls back to the guess', () => {
    const lines = logOnce({ FACEPIPE_LOG_FORMAT: 'xml' }).split('\n');
    expect(JSON.parse(lines[0]).msg).toBe('FACEPIPE_LOG_FORMAT "xml" is not one of pretty, json; guessing');
  });
});
