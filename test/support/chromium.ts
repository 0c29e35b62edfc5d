import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it): nothing is downloaded. */
export const CHROMIUM = process.env.FACEPIPE_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that run it headless in a container, with nothing reaching the network on its own. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The system chromium through playwright-core (a fresh temporary profile each launch). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set FACEPIPE_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

/** What the page functions below use of the DOM (the tests' tsconfig has no DOM types). */
interface PageGlobals {
  document: { querySelectorAll(selector: string): ArrayLike<{ complete?: boolean; naturalWidth?: number }> };
  sessionStorage: { getItem(name: string): string | null };
}

/**
 * Waits until `count` elements match `selector` and every one is an image fetched and decoded
 * (naturalWidth > 0). Functions, not strings: the console's content-security policy forbids eval.
 */
export async function waitForImages(page: Page, selector: string, count: number, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    ({ selector, count }) => {
      const images = Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll(selector));
      return images.length === count && images.every((img) => img.complete === true && (img.naturalWidth ?? 0) > 0);
    },
    { selector, count },
    { timeout },
  );
}

/** Waits until exactly `count` elements match `selector`. */
export async function waitForCount(page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(
    ({ selector, count }) =>
      (globalThis as unknown as PageGlobals).document.querySelectorAll(selector).length === count,
    { selector, count },
  );
}

/** A value of the page's sessionStorage. */
export async function sessionValue(page: Page, name: string): Promise<string | null> {
  return page.evaluate((name) => (globalThis as unknown as PageGlobals).sessionStorage.getItem(name), name);
}
