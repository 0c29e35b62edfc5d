/**
 * The web console in a real browser (issue 23): Debian's chromium driven by playwright-core, on
 * `npm run demo`'s data (six people, four snapshots) enrolled and identified by the real pipeline,
 * behind an API key. Full-page screenshots of every page go to FACEPIPE_SCREENSHOTS, or a temporary
 * folder the test prints.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without types
import { buildConsole } from '../scripts/build-console.mjs';
import { launchChromium, sessionValue, waitForCount, waitForImages } from './support/chromium.js';
import { type ConsoleDemo, DEMO_RUN, startConsoleDemo } from './support/console-demo.js';

let demo: ConsoleDemo;
let browser: Browser;
let page: Page;
let shots: string;
/** Every URL the page asked for: the console must work offline, from the service alone. */
const requested: string[] = [];

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await (buildConsole as () => Promise<string>)();
  shots = process.env.FACEPIPE_SCREENSHOTS ?? (await mkdtemp(path.join(tmpdir(), 'facepipe-console-shots-')));
  await mkdir(shots, { recursive: true });
  console.log(`console screenshots: ${shots}`);
  demo = await startConsoleDemo();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (request) => requested.push(request.url()));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

/** Every face of the night's result files, and who was named. */
function resultFaces() {
  return [...demo.results.values()].flatMap((r) => r.faces.map((f) => ({ key: r.input.key, personId: f.personId })));
}

describe('the web console on the demo data, in chromium', () => {
  it('asks for the key, then People shows the six people with their thumbnails loaded', async () => {
    await page.goto(`${demo.url}/`);
    await page.fill('input[name=apiKey]', demo.key);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-person]');
    expect(await sessionValue(page, 'facepipe.apiKey')).toBe(demo.key);
    const people = await page.$$eval('[data-person]', (items) => items.map((li) => li.getAttribute('data-person')));
    expect(people.sort()).toEqual(demo.data.enrolled.map((p) => p.personId).sort());
    // Every thumbnail fetched with the key and decoded.
    await waitForImages(page, 'img[data-testid=person-thumb]', 6);
    await screenshot('people');
  });

  it("a person's page shows their sighting with its crop", async () => {
    const named = resultFaces().find((f) => f.personId !== null);
    expect(named).toBeDefined();
    await page.click(`[data-person="${named!.personId}"] a`);
    await page.waitForSelector('[data-testid=sighting]');
    const sightings = await page.$$eval('[data-testid=sighting]', (items) => items.map((li) => li.textContent ?? ''));
    const expected = resultFaces().filter((f) => f.personId === named!.personId);
    expect(sightings).toHaveLength(expected.length);
    expect(sightings.join('\n')).toContain(expected[0].key);
    await waitForImages(page, '[data-testid=sighting] img', expected.length);
    await screenshot('person');
  });

  it('renaming a person shows the new name in the list', async () => {
    const personId = demo.data.enrolled[0].personId;
    await page.goto(`${demo.url}/#/person/${personId}`);
    await page.waitForSelector('[data-testid=person-title]');
    await page.fill('input[name=name]', 'Ada Lovelace');
    await page.click('[data-testid=rename]');
    await page.waitForSelector('[data-testid=action-status]:has-text("rename: done")');
    await page.goto(`${demo.url}/#/people`);
    await page.waitForSelector(`[data-person="${personId}"] [data-testid=person-name]:has-text("Ada Lovelace")`);
    await screenshot('people-renamed');
  });

  it('the run draws one box per face of its result files, named as they name them', async () => {
    await page.goto(`${demo.url}/#/runs`);
    await page.waitForSelector(`[data-testid=runs] a:has-text("${DEMO_RUN}")`);
    await screenshot('runs');
    await page.click(`[data-testid=runs] a:has-text("${DEMO_RUN}")`);
    await page.waitForSelector('[data-snapshot]');
    const drawn = await page.$$eval('[data-snapshot]', (cards) =>
      cards.map((card) => ({
        key: card.getAttribute('data-snapshot'),
        labels: Array.from(
          card.querySelectorAll('svg g.face text'),
          (t) => (t as { textContent: string | null }).textContent,
        ),
      })),
    );
    expect(drawn.map((d) => d.key).sort()).toEqual([...demo.results.keys()].sort());
    for (const { key, labels } of drawn) {
      const faces = demo.results.get(key!)!.faces;
      expect(labels, key!).toEqual(faces.map((f) => f.personId ?? 'unknown'));
    }
    expect(drawn.reduce((n, d) => n + d.labels.length, 0)).toBe(resultFaces().length);
    await waitForImages(page, '[data-snapshot] img', demo.results.size);
    // A face's candidates on click.
    await page.click('[data-snapshot] svg g.face');
    await page.waitForSelector('[data-testid=candidates] li');
    // The first snapshot by key, its first face: the rule's score and threshold as its result has them.
    const { decision } = demo.results.get([...demo.results.keys()].sort()[0])!.faces[0];
    expect(await page.textContent('[data-testid=candidates]')).toContain(
      `score ${decision!.score!.toFixed(3)} vs threshold ${decision!.threshold.toFixed(3)}`,
    );
    await screenshot('run');
    // The "unknown" filter keeps the snapshots with an unknown face.
    await page.click('a.chip:has-text("unknown")');
    const withUnknown = new Set(
      resultFaces()
        .filter((f) => f.personId === null)
        .map((f) => f.key),
    ).size;
    await waitForCount(page, '[data-snapshot]', withUnknown);
  });

  it('Search boxes every face of a dropped photo with its candidates and decision', async () => {
    await page.goto(`${demo.url}/#/search`);
    const [key] = [...demo.results.keys()].sort();
    await page.setInputFiles('input[name=photo]', path.join(demo.data.night, key));
    await page.waitForSelector('[data-testid=search-summary]');
    const boxes = await page.$$eval('.search-result svg g.face', (g) => g.length);
    expect(boxes).toBe(demo.results.get(key)!.faces.length);
    await screenshot('search');
  });

  it('System shows the index status and links to the dashboard, metrics and docs', async () => {
    await page.goto(`${demo.url}/#/system`);
    await page.waitForSelector('[data-testid=index-status]');
    const text = await page.textContent('[data-testid=index-status]');
    expect(text).toMatch(/faces6/);
    expect(await page.$$eval('a[href="/queues"], a[href="/metrics"], a[href="/docs"]', (a) => a.length)).toBe(3);
    await screenshot('system');
  });

  it('asked for nothing outside the service: no CDN, no external font', () => {
    const outside = requested.filter((url) => !url.startsWith(`${demo.url}/`) && !/^(blob|data):/.test(url));
    expect(requested.length).toBeGreaterThan(20);
    expect(outside).toEqual([]);
  });
});
