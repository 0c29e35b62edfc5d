import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { calibrateThreshold } from '../src/identification/calibration.js';
import { IdentificationSettingsStore } from '../src/identification/identification-settings-store.js';
import { LiveIdentificationRule } from '../src/identification/live-identification-rule.js';
import { openStorage } from '../src/storage/open-storage.js';

const RULE = { marginWeight: 1.5, maxDistance: 0.65 };
/** A stranger face with this score, close enough for the cap to allow it. */
const s = (score: number, distance = 0.6) => ({ score, distance });

describe('calibrateThreshold', () => {
  it('names at most the target share of the strangers, in the middle of the gap to the first refused', () => {
    // 200 strangers with scores 0.300, 0.301, ...: 1% allows 2 of them (0.300 and 0.301).
    const strangers = Array.from({ length: 200 }, (_, i) => s(0.3 + i / 1000));
    const r = calibrateThreshold(strangers, 0.01, RULE);
    expect(r.threshold).toBeCloseTo(0.3015, 9);
    expect(r).toMatchObject({
      strangers: 200,
      strangersNamed: 2,
      fpir: 0.01,
      tpir: null,
      mated: 0,
      tooFewStrangers: false,
      targetMet: true,
    });
    // Shuffled input, same answer.
    expect(calibrateThreshold([...strangers].reverse(), 0.01, RULE).threshold).toBe(r.threshold);
  });

  it('stays just under the first refused stranger when it ties with the last one named', () => {
    // 0.30, 0.31, 0.31, ...: 1% of 100 allows one, but the second ties with the third.
    const strangers = [s(0.3), s(0.31), s(0.31), ...Array.from({ length: 97 }, (_, i) => s(0.4 + i / 1000))];
    const r = calibrateThreshold(strangers, 0.01, RULE);
    expect(r).toMatchObject({ strangersNamed: 1, targetMet: true });
    expect(r.threshold).toBeCloseTo(0.305, 9);
    const tied = [s(0.3), s(0.3), ...Array.from({ length: 98 }, (_, i) => s(0.4 + i / 1000))];
    expect(calibrateThreshold(tied, 0.01, RULE)).toMatchObject({ strangersNamed: 0, targetMet: true });
  });

  it('gives the TPIR of the mated probes: rank 1 right and named', () => {
    const strangers = Array.from({ length: 100 }, (_, i) => s(0.3 + i / 1000));
    const mated = [
      { score: 0.1, distance: 0.4, rank1: true },
      { score: 0.2, distance: 0.5, rank1: true },
      { score: 0.1, distance: 0.4, rank1: false }, // the wrong person first: a miss
      { score: 0.5, distance: 0.6, rank1: true }, // above the threshold: a miss
      { score: null, rank1: false }, // no face: a miss
    ];
    const r = calibrateThreshold(strangers, 0.01, RULE, mated);
    expect(r.strangersNamed).toBe(1);
    expect(r.tpir).toBeCloseTo(2 / 5);
  });

  it('counts strangers beyond the distance cap as never named, and never returns more than the cap', () => {
    // Every stranger is beyond the cap: only the cap decides, the threshold is the cap itself.
    const far = Array.from({ length: 50 }, () => s(0.1, 0.9));
    expect(calibrateThreshold(far, 0.01, RULE)).toMatchObject({ threshold: 0.65, strangersNamed: 0, fpir: 0 });
    // Low scores beyond the cap do not pull the threshold down.
    const mixed = [...far, ...Array.from({ length: 50 }, (_, i) => s(0.4 + i / 100))];
    const r = calibrateThreshold(mixed, 0.01, RULE);
    expect(r.strangersNamed).toBe(1);
    expect(r.threshold).toBeCloseTo(0.405, 9); // between 0.40 (named) and 0.41 (refused)
  });

  it('keeps the threshold at 0 or above, and says when the target is then out of reach', () => {
    // Two strangers who look like an enrolled person (score below 0): 1% of 100 allows one.
    const strangers = [s(-0.5, 0.1), s(-0.4, 0.12), ...Array.from({ length: 98 }, (_, i) => s(0.3 + i / 1000))];
    const r = calibrateThreshold(strangers, 0.01, RULE);
    expect(r).toMatchObject({ threshold: 0, strangersNamed: 2, fpir: 0.02, targetMet: false });
    expect(calibrateThreshold(strangers, 0.02, RULE)).toMatchObject({ strangersNamed: 2, targetMet: true });
  });

  it('says when there are too few strangers to resolve the target, and refuses bad input', () => {
    const r = calibrateThreshold([s(0.3), s(0.4)], 0.01, RULE);
    expect(r).toMatchObject({ strangersNamed: 0, tooFewStrangers: true });
    expect(r.threshold).toBeLessThan(0.3);
    expect(() => calibrateThreshold([s(0.3)], 0, RULE)).toThrow(/between 0 and 1/);
    expect(() => calibrateThreshold([], 0.01, RULE)).toThrow(/at least one stranger/);
  });
});

describe('the deployment rule, stored and followed', () => {
  const dirs: string[] = [];
  const rules: LiveIdentificationRule[] = [];
  afterEach(async () => {
    await Promise.all(rules.splice(0).map((r) => r.stop()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  async function setup(overrides = {}) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facepipe-rule-'));
    dirs.push(dir);
    const store = new IdentificationSettingsStore(openStorage(dir), 'model/x');
    const live = new LiveIdentificationRule(store, {
      fallback: { threshold: 0.32, marginWeight: 1.5 },
      overrides,
      pollMs: 20,
    });
    rules.push(live);
    return { dir, store, live };
  }

  it('starts with the model card, follows a stored rule within the poll interval, and explicit settings win', async () => {
    const { store, live } = await setup();
    expect(store.key).toBe('facepipe/settings/model%2Fx/identification.json');
    await live.start();
    expect(live.current()).toEqual({ threshold: 0.32, marginWeight: 1.5 });
    expect(live.source()).toBe('model');
    await store.write({ schema: 'facepipe.identification/v1', threshold: 0.25, marginWeight: 1 });
    await expect
      .poll(() => live.current(), { timeout: 2000, interval: 20 })
      .toEqual({ threshold: 0.25, marginWeight: 1 });
    expect(live.source()).toBe('deployment');
    expect(await store.read()).toEqual({ schema: 'facepipe.identification/v1', threshold: 0.25, marginWeight: 1 });

    const { store: store2, live: pinned } = await setup({ threshold: 0.4 });
    await store2.write({ schema: 'facepipe.identification/v1', threshold: 0.25, marginWeight: 1 });
    await pinned.start();
    // The explicit threshold wins; the margin weight stays the stored one.
    expect(pinned.current()).toEqual({ threshold: 0.4, marginWeight: 1 });
    expect(pinned.source()).toBe('settings');
  });

  it('keeps the rule in force when the stored one is not valid, naming the key', async () => {
    const { dir, store, live } = await setup();
    await store.write({ schema: 'facepipe.identification/v1', threshold: 0.25, marginWeight: 1 });
    await live.start();
    expect(live.current().threshold).toBe(0.25);
    await openStorage(dir).put(store.key, '{"schema":"facepipe.identification/v1","threshold":7}');
    await expect(store.read()).rejects.toThrow(
      /identification\.json: not facepipe\.identification\/v1 settings: threshold/,
    );
    await live.refresh();
    expect(live.current().threshold).toBe(0.25);
  });
});
