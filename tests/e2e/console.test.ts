import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { REPOSITORY } from '../support/bundles.js';
import { ok } from '../support/e2e.js';
import { liveIds, predictionsCsv, rng, universeCsv } from '../support/fixtures.js';
import { PAB_POLICY } from '../support/policies.js';

/** Debian's chromium, driven by playwright-core (no browser download); .ci/run installs it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** `npm run screenshots` sets this: each role's main screen is written to docs/console/ at both widths. */
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1' ? path.join(REPOSITORY, 'docs/console') : null;

/** Each width plays one era (the phone plays the era whose universe the desktop operator uploaded) and uploads the next one's universe. */
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900, first: 1 },
  { name: 'phone', width: 390, height: 844, first: 2 },
] as const;
const IDS = liveIds(60, 'c');
const HOSTILE_NAME = '<img src=x id=injected>';

let t: TestApp;
let base: string;
let browser: Browser;
let approver: string;
let operator: string;
let author: { id: string; apiKey: string };
let modelId: string;
/** Where the author's webhook points: a receiver on 127.0.0.1, the only host the test server allows (nothing else is ever called). */
let receiver: Server;
let receiverBase: string;

interface Watched {
  page: Page;
  problems: string[];
  /** Refusals the test provokes on purpose (method and path): the page shows them, so they are not errors. */
  expected: string[];
}

async function openConsole(width: number, height: number): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width, height } });
  const watched: Watched = { page, problems: [], expected: [] };
  const refusals: string[] = [];
  page.on('pageerror', (error) => watched.problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => watched.problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const what = `${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`;
    if (watched.expected.includes(what)) refusals.push(what);
    else watched.problems.push(`HTTP ${what}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    // Chromium logs every 4xx fetch as "Failed to load resource"; one per expected refusal is the browser, not the page.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()) && refusals.length > 0) {
      refusals.shift();
      return;
    }
    watched.problems.push(`console ${message.type()}: ${message.text()}`);
  });
  const res = await page.goto(`${base}/console`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
  return watched;
}

async function signIn({ page }: Watched, key: string, role: string) {
  await page.waitForSelector('body[data-state="signin"]');
  expect(await page.locator('#key').getAttribute('type')).toBe('password');
  await page.fill('#key', key);
  await page.press('#key', 'Enter');
  await page.waitForSelector(`body[data-role="${role}"][data-state="ready"]`);
  expect(await page.locator('#signin').isVisible()).toBe(false);
  expect(await page.locator('#tabs').isVisible()).toBe(true);
  expect(await page.evaluate("sessionStorage.getItem('stakeweight.key')")).toBe(key);
}

const ready = (page: Page) => page.waitForSelector('body[data-state="ready"]');

async function view({ page }: Watched, id: string) {
  await page.click(`#tabs button[data-view="${id}"]`);
  await page.waitForSelector(`body[data-view="${id}"][data-state="ready"]`);
}

/** Nothing wider than the screen, no error shown, nothing logged. */
async function checkPage(watched: Watched, width: number, shot?: string) {
  const scroll = await watched.page.evaluate<number>('document.documentElement.scrollWidth');
  expect(scroll).toBeLessThanOrEqual(width);
  expect(await watched.page.locator('#error').isHidden()).toBe(true);
  // A missing value never shows as a word of the page.
  expect(await watched.page.locator('body').innerText()).not.toMatch(/\bnull\b|\bundefined\b|\[object Object\]|\bNaN\b/);
  if (SCREENSHOTS && shot) {
    await mkdir(SCREENSHOTS, { recursive: true });
    await watched.page.screenshot({ path: path.join(SCREENSHOTS, `${shot}-${width}.png`), fullPage: true });
  }
  expect(watched.problems).toEqual([]);
  await watched.page.close();
}

const csvFile = (name: string, text: string) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });

describe.skipIf(!hasChromium)(`the /console in headless chromium (${CHROMIUM})`, () => {
  beforeAll(async () => {
    t = await createTestApp({ STAKE_FUNDING: 'wallet', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    receiver = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
    receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    approver = (await createAccount(t.app, 'admin', 'second-admin')).apiKey;
    operator = (await createAccount(t.app, 'operator', 'era-operator')).apiKey;
    author = await createAccount(t.app, 'author', 'ada');
    // A name that would be markup if the page wrote it as HTML.
    await createAccount(t.app, 'author', HOSTILE_NAME);
    await ok(base, 'POST', `/v1/accounts/${author.id}/wallet/credits`, ADMIN_KEY, { amount: '100', reference: 'bank transfer 1' });
    modelId = (await ok<{ id: string }>(base, 'POST', '/v1/models', author.apiKey, { name: 'alpha' })).id;
    // A version in force, so a draft has something to be compared with.
    const v1 = await ok<{ id: string }>(base, 'POST', '/v1/policies', ADMIN_KEY, PAB_POLICY);
    await ok(base, 'POST', `/v1/policies/${v1.id}/activate`, approver, { reason: 'first version' });
    for (const era of [1, 2, 3]) await ok(base, 'POST', '/v1/eras', ADMIN_KEY, { number: era, closesAt: new Date(Date.now() + 7_200_000).toISOString() });
    await ok(base, 'PUT', '/v1/eras/1/universe', ADMIN_KEY, universeCsv(IDS));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((done) => receiver?.close(done));
  });

  for (const { name, width, height, first } of WIDTHS) {
    const era = first;
    const next = first + 1;

    it(`${name} (${width} px): an author sets a stake from the wallet and uploads predictions`, async () => {
      const w = await openConsole(width, height);
      await signIn(w, author.apiKey, 'author');
      await w.page.click('#models-table tr:has-text("alpha") button.open-model');
      await w.page.waitForSelector('#stake-figures');
      await w.page.fill('#stake-set input[name="amount"]', String(8 + era));
      await w.page.click('#stake-set button[type="submit"]');
      await w.page.waitForSelector('#stake-result .ok');
      expect(await w.page.locator('#stake-figures').textContent()).toContain(`Stake ${8 + era}`);
      const random = rng(era);
      await w.page.selectOption('#submit-form select[name="era"]', String(era));
      await w.page.setInputFiles('#submit-form input[type="file"]', csvFile('predictions.csv', predictionsCsv(IDS, IDS.map(() => Math.round(random() * 1e6) / 1e6))));
      await w.page.click('#submit-form button[type="submit"]');
      await w.page.waitForSelector('#submit-result .ok');
      expect(await w.page.locator('#submit-result').textContent()).toContain(`Stored for era ${era}: ${IDS.length} rows`);
      const stake = await ok<{ amount: string }>(base, 'GET', `/v1/models/${modelId}/stake`, author.apiKey);
      expect(stake.amount).toBe(String(8 + era));
      await view(w, 'wallet');
      const wallet = await ok<{ available: string }>(base, 'GET', '/v1/me/wallet', author.apiKey);
      expect(await w.page.locator('#wallet-figures').textContent()).toContain(`available ${wallet.available}.`);
      if (era === 1) expect(wallet.available).toBe('91');
      await checkPage(w, width);
    });

    it(`${name} (${width} px): an admin reviews a draft (diff, preview) and a second admin approves it from a later era`, async () => {
      const draft = await ok<{ id: string; version: number }>(base, 'POST', '/v1/policies', ADMIN_KEY, {
        ...PAB_POLICY,
        rules: PAB_POLICY.rules.filter((r) => r.id !== 'defense-watch'),
        groupCap: undefined,
      });
      // The author of the draft sees it, may withdraw it, and may not approve it.
      const own = await openConsole(width, height);
      await signIn(own, ADMIN_KEY, 'admin');
      const mine = own.page.locator(`.draft[data-id="${draft.id}"]`);
      expect(await mine.locator('button', { hasText: 'Withdraw my draft' }).or(mine.locator('.not-available', { hasText: 'Withdrawing' })).count()).toBe(1);
      expect(await mine.locator('form.approve').count()).toBe(0);
      await checkPage(own, width);

      const w = await openConsole(width, height);
      await signIn(w, approver, 'admin');
      const card = w.page.locator(`.draft[data-id="${draft.id}"]`);
      await card.locator('button.review').click();
      await card.locator('.diff').waitFor();
      expect(await card.locator('.diff').textContent()).toContain('− defense-watch');
      await card.locator('.preview-era, .preview, .problems').first().waitFor();
      expect(await card.locator(`.preview-era[data-era="${era}"]`).textContent()).toMatch(new RegExp(`Era ${era}: \\d+ of ${IDS.length} ids tradable`));
      expect(await card.locator('.replay').count()).toBe(1);
      const fromEra = 10 + era;
      await card.locator('form.approve input[name="fromEra"]').fill(String(fromEra));
      await card.locator('form.approve input[type="text"]').fill('drop the observation rule');
      await card.locator('form.approve button[type="submit"]').click();
      await card.locator('.result .ok, .result .problems').first().waitFor();
      expect(await card.locator('.result').textContent()).toContain(`is scheduled, from era ${fromEra}`);
      const stored = await ok<{ status: string; fromEra: number }>(base, 'GET', `/v1/policies/${draft.id}`, ADMIN_KEY);
      expect([stored.status, stored.fromEra]).toEqual(['scheduled', fromEra]);
      await checkPage(w, width, 'admin');

      // The audit log names who approved; account names are shown as text, never as markup.
      const audit = await openConsole(width, height);
      await signIn(audit, ADMIN_KEY, 'admin');
      await view(audit, 'accounts');
      await audit.page.fill('#account-search input[name="q"]', '<img');
      await audit.page.click('#account-search button[type="submit"]');
      // The search's answer replaces the whole list: wait for it, not for a row the list held before.
      await expect.poll(() => audit.page.locator('#accounts-table tbody tr').count(), { timeout: 10_000 }).toBe(1);
      await audit.page.waitForSelector('#accounts-table tbody tr:has-text("<img")');
      expect(await audit.page.locator('#accounts-table tbody tr td').first().textContent()).toBe(HOSTILE_NAME);
      expect(await audit.page.locator('#injected').count()).toBe(0);
      await view(audit, 'audit');
      expect(await audit.page.locator('#audit-table tbody tr').first().textContent()).toContain('second-admin');
      await checkPage(audit, width);
    });

    it(`${name} (${width} px): an operator sees a refused universe's problem, then closes, scores and resolves an era`, async () => {
      const w = await openConsole(width, height);
      await signIn(w, operator, 'operator');
      await w.page.click(`#eras-table tr[data-id="${next}"] button.open-era`);
      const bad = universeCsv(IDS).replace(`${IDS[3]},`, 'c00001,');
      w.expected.push(`PUT /v1/eras/${next}/universe 400`);
      await w.page.setInputFiles('#universe-upload input[type="file"]', csvFile('universe.csv', bad));
      await w.page.click('#universe-upload button[type="submit"]');
      await w.page.waitForSelector('#universe-result .problems');
      const problem = (await w.page.locator('#universe-result').textContent()) ?? '';
      expect(problem).toContain('(400)');
      expect(problem).toContain('c00001');
      await w.page.setInputFiles('#universe-upload input[type="file"]', csvFile('universe.csv', universeCsv(IDS)));
      await w.page.click('#universe-upload button[type="submit"]');
      await w.page.waitForSelector('#universe-result .ok');
      expect(await w.page.locator('#universe-result').textContent()).toContain(`${IDS.length} ids`);

      await w.page.click(`#eras-table tr[data-id="${era}"] button.open-era`);
      await w.page.click('#close-era');
      await w.page.waitForSelector(`.era[data-era="${era}"] .badge.closed`);
      await ready(w.page);
      const random = rng(100 + era);
      await w.page.setInputFiles('#target-upload input[type="file"]', csvFile('target.csv', `id,target\n${IDS.map((id) => `${id},${Math.round(random() * 4) / 4}`).join('\n')}\n`));
      await w.page.click('#target-upload button[type="submit"]');
      await w.page.waitForSelector('#target-result .ok');
      expect(await w.page.locator('#target-result').textContent()).toContain('1 submissions scored');
      if ((await w.page.locator('#dry-run').count()) > 0) {
        await w.page.click('#dry-run');
        await w.page.waitForSelector('#dry-run-result .ok');
        expect((await ok<{ status: string }>(base, 'GET', `/v1/eras/${era}`, operator)).status).toBe('closed');
      } else expect(await w.page.locator('.era .not-available').last().textContent()).toContain('Resolve dry run: not available');
      await w.page.click('#resolve-era');
      await w.page.waitForSelector('#resolve-result .ok');
      expect(await w.page.locator('#resolve-result').textContent()).toContain(`Era ${era} resolved`);
      expect((await ok<{ status: string }>(base, 'GET', `/v1/eras/${era}`, operator)).status).toBe('resolved');
      await checkPage(w, width, 'operator');
    });

    it(`${name} (${width} px): the author sees the era's scores and performance`, async () => {
      const w = await openConsole(width, height);
      await signIn(w, author.apiKey, 'author');
      await w.page.click('#models-table tr:has-text("alpha") button.open-model');
      await w.page.waitForSelector('#scores-table');
      const scores = await ok<{ scores: { era: number; corr: number | null }[] }>(base, 'GET', `/v1/models/${modelId}/scores`, author.apiKey);
      expect(scores.scores.some((s) => s.era === era)).toBe(true);
      expect(await w.page.locator('#scores-table tbody tr').count()).toBe(scores.scores.length);
      expect(await w.page.locator('#score-chart svg circle.point').count()).toBeGreaterThan(0);
      expect(await w.page.locator('#performance').textContent()).toContain('CORR mean');
      const box = await w.page.locator('#score-chart svg').boundingBox();
      expect(box!.width).toBeLessThanOrEqual(width);
      await checkPage(w, width, 'author');
    });
  }
  // After every other step: the webhook's era opens a new era, which the other steps do not expect.
  for (const { name, width, height, first } of WIDTHS) {
    it(`${name} (${width} px): an author registers a webhook (a private address refused in place), sees its secret once, its deliveries, retries one and deletes it`, async () => {
      const w = await openConsole(width, height);
      await signIn(w, author.apiKey, 'author');
      await view(w, 'webhooks');
      expect(await w.page.locator('#view-webhooks').textContent()).toContain('No webhook yet.');
      for (const type of ['era.opened', 'era.closed', 'era.scored', 'era.resolved', 'policy.scheduled', 'policy.activated', 'submission.received', 'model.settled', 'stake.released']) {
        expect(await w.page.locator(`#webhook-create input[type="checkbox"][value="${type}"]`).count()).toBe(1);
      }
      // A private address: refused, the problem shown where the form is, nothing stored.
      w.expected.push('POST /v1/webhooks 400');
      await w.page.fill('#webhook-create input[name="url"]', 'https://10.0.0.1/hook');
      await w.page.check('#webhook-create input[value="era.opened"]');
      await w.page.click('#webhook-create button[type="submit"]');
      await w.page.waitForSelector('#webhook-result .problems');
      const problem = (await w.page.locator('#webhook-result').textContent()) ?? '';
      expect(problem).toContain('(400)');
      expect(problem).toContain('WEBHOOK_ALLOWED_HOSTS');
      expect((await ok<{ webhooks: unknown[] }>(base, 'GET', '/v1/webhooks', author.apiKey)).webhooks).toEqual([]);

      // An allowed host: registered, the secret shown once as text.
      const url = `${receiverBase}/hook-${width}?a=<b>`;
      await w.page.fill('#webhook-create input[name="url"]', url);
      await w.page.check('#webhook-create input[value="submission.received"]');
      await w.page.click('#webhook-create button[type="submit"]');
      await w.page.waitForSelector('#webhook-secret');
      const secret = (await w.page.locator('#webhook-secret').textContent()) ?? '';
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(await w.page.locator('#webhook-result').textContent()).toContain('store it now');
      const [hook] = (await ok<{ webhooks: { id: string; url: string; events: string[] }[] }>(base, 'GET', '/v1/webhooks', author.apiKey)).webhooks;
      expect([hook.url, hook.events]).toEqual([url, ['era.opened', 'submission.received']]);
      const row = w.page.locator(`#webhooks-table tr[data-id="${hook.id}"]`);
      expect(await row.locator('.url').textContent()).toBe(url);
      expect(await row.locator('.hook-events').textContent()).toBe('era.opened, submission.received');
      expect(await row.textContent()).toContain('active');

      // An era opens: its event waits for delivery to the webhook; the author sees it and queues it again.
      await ok(base, 'POST', '/v1/eras', ADMIN_KEY, { number: 40 + first, closesAt: new Date(Date.now() + 7_200_000).toISOString() });
      await row.locator('button.open-deliveries').click();
      await w.page.waitForSelector('#deliveries-table tbody tr');
      const stored = await ok<{ deliveries: { id: string; type: string; status: string; attempts: number }[] }>(base, 'GET', `/v1/webhooks/${hook.id}/deliveries`, author.apiKey);
      expect(stored.deliveries.map((d) => d.type)).toEqual(['era.opened']);
      const delivery = w.page.locator(`#deliveries-table tr[data-id="${stored.deliveries[0].id}"]`);
      expect(await delivery.textContent()).toContain('era.opened');
      expect(await delivery.textContent()).toContain(`${stored.deliveries[0].status}; ${stored.deliveries[0].attempts} attempt`);
      expect(await delivery.textContent()).toContain('last HTTP status');
      await delivery.locator('button.retry').click();
      await w.page.waitForSelector('#retry-result .ok');
      expect(await w.page.locator('#retry-result').textContent()).toContain('queued again');

      // Shown once: drawn again, the section lists the webhook without its secret.
      await view(w, 'keys');
      await view(w, 'webhooks');
      expect(await w.page.locator('#webhook-secret').count()).toBe(0);
      expect(await w.page.locator('#view-webhooks').textContent()).not.toContain(secret);
      await w.page.locator(`#webhooks-table tr[data-id="${hook.id}"] button.open-deliveries`).click();
      await w.page.waitForSelector('#deliveries-table tbody tr');
      expect(await w.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      if (SCREENSHOTS) await w.page.screenshot({ path: path.join(SCREENSHOTS, `author-webhooks-${width}.png`), fullPage: true });
      await w.page.locator(`#webhooks-table tr[data-id="${hook.id}"] button.delete-webhook`).click();
      await w.page.waitForSelector('#view-webhooks .empty');
      expect(await w.page.locator('#view-webhooks').textContent()).toContain('No webhook yet.');
      expect((await ok<{ webhooks: unknown[] }>(base, 'GET', '/v1/webhooks', author.apiKey)).webhooks).toEqual([]);
      await checkPage(w, width);
    });
  }
});
