import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSetMetrics, type OpenSetProbe } from '../src/evaluation/open-set-metrics.js';
import { openSetSplit } from '../src/evaluation/open-set-protocol.js';

const probe = (personId: string, enrolled: boolean, ...ranked: [string, number][]): OpenSetProbe => ({
  personId,
  enrolled,
  matches: ranked.map(([p, distance]) => ({ personId: p, faceId: `${p}-1`, distance })),
});

describe('openSetMetrics', () => {
  const probes = [
    probe('a', true, ['a', 0.3], ['b', 0.9]),
    probe('b', true, ['b', 0.5], ['a', 0.55]), // right but ambiguous
    probe('c', true, ['a', 0.4], ['c', 0.45]), // wrong at rank 1
    probe('d', true), // no face
    probe('x', false, ['a', 0.45], ['b', 0.95]),
    probe('y', false, ['b', 0.7], ['a', 0.72]),
    probe('z', false, ['c', 0.6], ['a', 1.2]),
    probe('w', false), // no face: never a false alarm
  ];

  it('gives rank-1, and FNIR at the threshold that holds strangers to each FPIR', () => {
    const m = openSetMetrics(probes, { threshold: 0.5, marginWeight: 0 }, [0, 0.25, 0.5]);
    expect(m).toMatchObject({ genuineProbes: 4, impostorProbes: 4, rank1: 0.5 });
    // Stranger scores 0.45, 0.6, 0.7, Infinity: FPIR 0 -> threshold below 0.45.
    expect(m.operatingPoints[0].threshold).toBeCloseTo(0.45, 6);
    expect(m.operatingPoints[0].fnir).toBe(0.75); // only a (0.3) is named
    expect(m.operatingPoints[1].threshold).toBeCloseTo(0.6, 6); // one stranger allowed
    expect(m.operatingPoints[1].fnir).toBe(0.5); // a and b
    expect(m.atRule).toEqual({ threshold: 0.5, marginWeight: 0, tpir: 0.5, fpir: 0.25 });
  });

  it('with a margin weight, an ambiguous probe scores worse than a clear one at the same distance', () => {
    const m = openSetMetrics(probes, { threshold: 0.5, marginWeight: 1 }, [0]);
    // Strangers x: 0.45 - 0.5 = -0.05, z: 0.6 - 0.6 = 0, y: 0.68; a: 0.3 - 0.6 = -0.3; b: 0.5 - 0.05 = 0.45.
    expect(m.atRule.tpir).toBe(0.5);
    expect(m.operatingPoints[0].threshold).toBeCloseTo(-0.05, 6);
    expect(m.operatingPoints[0].fnir).toBe(0.75);
  });
});

describe('openSetSplit', () => {
  it('enrolls every other identity with 2+ images from its first image, the rest probe as strangers', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'facepipe-openset-'));
    const people: Record<string, number> = { Ann: 3, Bob: 2, Cid: 1, Dee: 2, Eve: 2 };
    for (const [name, n] of Object.entries(people)) {
      await mkdir(path.join(root, name));
      for (let i = 1; i <= n; i++) await writeFile(path.join(root, name, `${name}_000${i}.jpg`), '');
    }
    await writeFile(path.join(root, 'pairs.txt'), '');
    const split = await openSetSplit(root);
    expect(split.gallery.map((g) => g.key)).toEqual(['Ann/Ann_0001.jpg', 'Dee/Dee_0001.jpg']);
    expect(split.genuine.map((g) => g.key)).toEqual(['Ann/Ann_0002.jpg', 'Ann/Ann_0003.jpg', 'Dee/Dee_0002.jpg']);
    expect(split.impostor.map((g) => g.key)).toEqual([
      'Bob/Bob_0001.jpg',
      'Bob/Bob_0002.jpg',
      'Eve/Eve_0001.jpg',
      'Eve/Eve_0002.jpg',
    ]);
    await rm(root, { recursive: true, force: true });
  });
});
