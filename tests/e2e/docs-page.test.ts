import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

/** Debian's chromium, driven by playwright-core (no browser download); .ci/run installs it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

let t: TestApp;
let base: string;
let browser: Browser;

describe.skipIf(!existsSync(CHROMIUM))(`the API docs at /docs in headless chromium (${CHROMIUM}; apt-get install -y chromium)`, () => {
  beforeAll(async () => {
    t = await createTestApp();
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("show package.json's version and log no error under their CSP (no inline style)", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    const res = await page.goto(`${base}/docs`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await page.waitForSelector('.info .title');
    expect(await page.textContent('.info .title')).toContain(version);
    // Every operation is drawn once the spec has loaded.
    await page.waitForSelector('.opblock');
    await page.waitForLoadState('networkidle');
    expect(problems).toEqual([]);
  });
});
