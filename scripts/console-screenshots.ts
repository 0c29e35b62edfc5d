/**
 * `npm run docs:screenshots`: the two small PNGs the README shows (docs/images/console-people.png
 * and console-run.png), made by the browser test's setup on `npm run demo`'s data: the demo's six
 * people enrolled and its four snapshots identified, the console opened in Debian's chromium.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { launchChromium, waitForImages } from '../test/support/chromium.js';
import { DEMO_RUN, startConsoleDemo } from '../test/support/console-demo.js';
// @ts-expect-error: a plain ES module script without types
import { buildConsole } from './build-console.mjs';

const IMAGES = fileURLToPath(new URL('../docs/images/', import.meta.url));

/** A screenshot as a small PNG: 800 px wide at most, a 128-colour palette. */
async function small(png: Buffer): Promise<Buffer> {
  return sharp(png)
    .resize({ width: 800, withoutEnlargement: true })
    .png({ palette: true, colors: 128, compressionLevel: 9 })
    .toBuffer();
}

await (buildConsole as () => Promise<string>)();
const demo = await startConsoleDemo();
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  await page.goto(`${demo.url}/`);
  await page.fill('input[name=apiKey]', demo.key);
  await page.click('button[type=submit]');
  await waitForImages(page, 'img[data-testid=person-thumb]', 6);
  await mkdir(IMAGES, { recursive: true });
  const people = await small(await page.screenshot({ clip: { x: 0, y: 0, width: 1100, height: 520 } }));
  await writeFile(path.join(IMAGES, 'console-people.png'), people);

  await page.setViewportSize({ width: 1100, height: 1000 });
  await page.goto(`${demo.url}/#/runs/${DEMO_RUN}`);
  await waitForImages(page, '[data-snapshot] img', 4);
  await page.click('[data-snapshot] svg g.face.named');
  await page.waitForSelector('[data-testid=candidates] li');
  const run = await small(await page.screenshot({ fullPage: true }));
  await writeFile(path.join(IMAGES, 'console-run.png'), run);
  console.log(
    `wrote docs/images/console-people.png (${people.byteLength} bytes), console-run.png (${run.byteLength} bytes)`,
  );
} finally {
  await browser.close();
  await demo.close();
}
