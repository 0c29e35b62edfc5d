/**
 * The night benchmark's counting (bench/night/night-metrics.ts) on nights the test writes: false
 * alarms as an operator sees them (issue 22: strangers named, boxes on no face named, second boxes
 * of one face named, and who was named in them), and the label-noise correction of the night
 * builder (a stranger photo that shows an enrolled person counts as that person).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_NIGHT_PARAMS, type NightTruth, withDuplicateIdentities } from '../bench/night/build-night.js';
import { type DetectedSnapshot, nightMetrics } from '../bench/night/night-metrics.js';

const box = (x: number, y: number, width = 50, height = 60) => ({ x, y, width, height });

function night(): NightTruth {
  return {
    params: { ...DEFAULT_NIGHT_PARAMS, seed: 1, snapshots: 2 },
    gallery: { persons: 3, images: 3 },
    snapshots: [
      {
        key: 'cam-01/210000.jpg',
        background: 'bg.jpg',
        quality: 60,
        blur: 0,
        grey: false,
        faces: [
          { box: box(100, 100), personId: 'Ann', enrolled: true, source: 'Ann/Ann_0002.jpg' },
          { box: box(400, 100), personId: 'Sam', enrolled: false, source: 'Sam/Sam_0001.jpg' },
        ],
      },
      {
        key: 'cam-02/210100.jpg',
        background: 'bg.jpg',
        quality: 60,
        blur: 1,
        grey: false,
        faces: [{ box: box(200, 200), personId: 'Tom', enrolled: false, source: 'Tom/Tom_0001.jpg' }],
      },
    ],
  };
}

describe('nightMetrics false alarms', () => {
  it('counts strangers named, no-face boxes named and duplicate boxes named, and who was named in them', () => {
    const detected: DetectedSnapshot[] = [
      {
        key: 'cam-01/210000.jpg',
        faces: [
          { box: box(101, 101), personId: 'Ann' }, // Ann, right
          { box: box(106, 104), personId: 'Ann' }, // a second box of Ann's face, named: a duplicate
          { box: box(400, 100), personId: 'Bob' }, // Sam the stranger, named Bob
          { box: box(900, 500), personId: 'Bob' }, // background, named Bob
          { box: box(1000, 500), personId: null }, // background, not named: no alarm
          { box: box(130, 100), personId: 'Cid' }, // overlaps Ann's face by IoU < 0.3: no face, named
        ],
      },
      { key: 'cam-02/210100.jpg', faces: [{ box: box(200, 200), personId: null }] }, // Tom, not named
    ];
    const m = nightMetrics(night(), detected);
    expect(m).toMatchObject({
      identified: 1,
      strangerFaces: 2,
      strangersNamed: 1,
      falseDetections: 4,
      falseDetectionsNamed: 3,
      noFaceBoxes: 3,
      noFaceBoxesNamed: 2,
      duplicateBoxes: 1,
      duplicateBoxesNamed: 1,
      falseAlarms: 4,
    });
    expect(m.falseAlarmsByPerson).toEqual([
      { personId: 'Bob', falseAlarms: 2, strangers: 1, noFaceBoxes: 1, duplicateBoxes: 0 },
      { personId: 'Ann', falseAlarms: 1, strangers: 0, noFaceBoxes: 0, duplicateBoxes: 1 },
      { personId: 'Cid', falseAlarms: 1, strangers: 0, noFaceBoxes: 1, duplicateBoxes: 0 },
    ]);
  });

  it('a night named by nobody has no false alarm', () => {
    const m = nightMetrics(night(), [
      { key: 'cam-01/210000.jpg', faces: [{ box: box(900, 500), personId: null }] },
      { key: 'cam-02/210100.jpg', faces: [] },
    ]);
    expect(m).toMatchObject({ falseAlarms: 0, noFaceBoxes: 1, falseAlarmsByPerson: [] });
  });
});

describe('withDuplicateIdentities', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('a stranger pasted from a listed photo is the enrolled person it shows; other faces keep their labels', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'facepipe-night-'));
    dirs.push(out);
    for (const person of ['Ann', 'Bob']) await mkdir(path.join(out, 'gallery', person), { recursive: true });
    const truth = night();
    const fixed = await withDuplicateIdentities(truth, out, [
      { person: 'Bob', photos: ['Sam/Sam_0001.jpg'], why: 'test' },
      { person: 'Zed', names: ['Tom'], why: 'test: Zed is not in this gallery' },
      { person: 'Bob', names: ['Ann'], why: 'test: an enrolled face keeps its label' },
    ]);
    const faces = fixed.snapshots.flatMap((s) => s.faces);
    expect(faces.map((f) => [f.personId, f.enrolled, f.filedAs])).toEqual([
      ['Ann', true, undefined],
      ['Bob', true, 'Sam'],
      ['Zed', false, 'Tom'],
    ]);
    expect(truth.snapshots[0].faces[1].personId).toBe('Sam'); // the truth read is not changed in place
    const m = nightMetrics(fixed, [
      { key: 'cam-01/210000.jpg', faces: [{ box: box(400, 100), personId: 'Bob' }] },
      { key: 'cam-02/210100.jpg', faces: [] },
    ]);
    expect(m).toMatchObject({ enrolledFaces: 2, identified: 1, strangerFaces: 1, strangersNamed: 0, falseAlarms: 0 });
  });
});
