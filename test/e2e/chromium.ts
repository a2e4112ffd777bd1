import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`): the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Screenshots of failed tests land here (ignored by git). */
export const ARTIFACTS_DIR = resolve('e2e-artifacts');

/**
 * Headless Chromium as root in a container: no sandbox, no GPU, and nothing that reaches the
 * network on its own. Playwright gives every launch a fresh temporary profile (user-data dir).
 */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install it with \`sudo apt-get install -y chromium\` (or set CHROMIUM_PATH). The tests never download a browser.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Best effort: a screenshot must never hide the failure it documents. */
export async function screenshot(page: Page | undefined, name: string): Promise<void> {
  if (!page || page.isClosed()) return;
  try {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    const file = `${name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80)}-${Date.now()}.png`;
    await page.screenshot({ path: join(ARTIFACTS_DIR, file), fullPage: true });
  } catch {
    // The page may be gone with the browser.
  }
}
