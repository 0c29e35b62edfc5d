import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';

describe('facepipe demo (npm run demo)', () => {
  it('enrolls, identifies and answers "where was this person seen", from npm-shipped images alone', async () => {
    const run = await runCli(['--threads', '2', 'demo']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/6 of 6 photos enrolled, 6 persons/);
    expect(run.stdout).toMatch(/4 snapshots, \d+ faces: \d+ identified, \d+ unknown/);
    const named = Number(/named correctly: (\d+) of 6/.exec(run.stdout)?.[1]);
    expect(named).toBeGreaterThanOrEqual(4);
    expect(run.stdout).toMatch(/facepipe matches guest-01\n {2}1 sighting/);
  }, 180_000);
});
