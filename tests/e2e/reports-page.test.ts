import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { seedReportEras, type SeededEras } from '../support/reports.js';

/** Debian's chromium, driven by playwright-core (no browser download); .ci/run installs it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface EraReport {
  era: number;
  sectorTilt: { sector: string; traded: number | null }[];
  byRule: { ruleId: string; action: string }[];
  metaModelCorr: { target: string }[];
  performanceCost: { target: string; byRule: { ruleId: string }[] }[];
  exposures: { traded: { attributes: Record<string, unknown>; tags: Record<string, unknown> }; unconstrained: { attributes: Record<string, unknown>; tags: Record<string, unknown> } };
  stake: { gini: number };
}

let t: TestApp;
let base: string;
let seeded: SeededEras;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const summaryPages: string[] = [];

async function eraReport(era: number): Promise<EraReport> {
  return (await fetch(`${base}/v1/reports/eras/${era}`)).json() as Promise<EraReport>;
}

/** Waits until the page has drawn the era from live data. */
async function ready(era: number) {
  await page.waitForSelector(`body[data-state="ready"][data-era="${era}"]`);
}

describe.skipIf(!hasChromium)(`the /reports page in headless chromium (${CHROMIUM}; apt-get install -y chromium)`, () => {
  beforeAll(async () => {
    t = await createTestApp();
    seeded = await seedReportEras(t.app);
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    // Pages of 2 eras, so the page has to follow `next` across several pages to draw every era.
    await page.route(/\/v1\/reports\/summary\?/, async (route) => {
      summaryPages.push(route.request().url());
      await route.continue({ url: route.request().url().replace('limit=100', 'limit=2') });
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads without a key and draws every chart from the latest era', async () => {
    const res = await page.goto(`${base}/reports`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    const latest = seeded.eras[seeded.eras.length - 1];
    await ready(latest);
    const report = await eraReport(latest);

    // Sector tilt: one bar per sector for M, one per sector with tradable ids for S, labelled by sector.
    const unconstrained = await page.locator('#chart-tilt rect.bar[data-series="unconstrained M"]').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-category')));
    expect(unconstrained).toEqual(report.sectorTilt.map((s) => s.sector));
    expect(unconstrained).toContain('other');
    // GICS sector codes are named on the axis and in the decile table.
    const axis = await page.locator('#chart-tilt text.category').allTextContents();
    expect(axis).toContain('10 Energy');
    expect(axis).toContain('45 Information Technology');
    expect(axis).toContain('other');
    expect(await page.locator('#chart-deciles td.sector[data-sector="25"]').textContent()).toBe('25 Consumer Discretionary');
    const traded = await page.locator('#chart-tilt rect.bar[data-series^="traded S"]').count();
    expect(traded).toBe(report.sectorTilt.filter((s) => s.traded !== null).length);
    expect(await page.locator('#chart-tilt svg').textContent()).toContain('mean signal');
    expect(await page.locator('#chart-tilt .legend').textContent()).toContain('ethical-core v2');

    // What each rule did: one bar per part of the policy, the scale rule and the neutralization included.
    const rules = await page.locator('#chart-rules rect.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-category')));
    expect(rules).toEqual(report.byRule.map((r) => r.ruleId));
    expect(rules).toEqual(['tobacco', 'controversial-weapons', 'thermal-coal', 'defense-watch', 'controversy', 'neutralize:sector']);

    // Exposures: a row per attribute and tag, with both legs of M and of S.
    const names = [...Object.keys(report.exposures.unconstrained.attributes).sort(), ...Object.keys(report.exposures.unconstrained.tags).sort().map((tag) => `tag: ${tag}`)];
    expect(await page.locator('#chart-exposures g.exposure-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')))).toEqual(names);
    expect(names).toContain('carbon_intensity');
    expect(await page.locator('#chart-exposures circle.leg[data-series="S long"]').count()).toBe(names.length);
    expect(await page.locator('#chart-exposures circle.leg[data-series="M short"]').count()).toBe(names.length);
    // Each exposure row prints its scale as numbers.
    const scale = await page.locator('#chart-exposures g.exposure-row >> nth=0').locator('text.scale-tick').allTextContents();
    expect(scale).toHaveLength(3);
    for (const tick of scale) expect(Number.isFinite(Number(tick.replace(/,/g, '')))).toBe(true);

    // The last era has no targets yet: the page says so instead of drawing.
    expect(report.metaModelCorr).toEqual([]);
    expect(await page.locator('#chart-corr').textContent()).toContain('No targets yet');
    expect(await page.locator('#chart-cost-rules').textContent()).toContain('No targets yet');

    // The terms are explained where they appear.
    expect(await page.locator('.terms').textContent()).toMatch(/meta-model[\s\S]*traded signal[\s\S]*unit of stake/);

    // Decile attribution table: a row per sector.
    expect(await page.locator('#chart-deciles tbody tr td.sector').count()).toBe(report.sectorTilt.length + 1);

    // Headline figures from the report.
    expect(await page.locator('#headline').textContent()).toContain(report.stake.gini.toFixed(3));
  });

  it('draws the history: concentration, exclusions and CORR by target over every closed era', async () => {
    const summary = (await (await fetch(`${base}/v1/reports/summary`)).json()) as { eras: { era: number }[]; targets: string[] };
    expect(summary.eras).toHaveLength(seeded.eras.length);
    // Every page was fetched: the first without a cursor, each next one with the previous page's `next`.
    expect(summaryPages.length).toBe(Math.ceil(seeded.eras.length / 2));
    expect(summaryPages.slice(1).every((url) => url.includes('cursor='))).toBe(true);
    for (const chart of ['#chart-gini', '#chart-effective', '#chart-excluded']) {
      expect(await page.locator(`${chart} g.series`).count()).toBe(2);
      expect(await page.locator(`${chart} g.series >> nth=0`).locator('circle.point').count()).toBe(summary.eras.length);
      expect(await page.locator(`${chart} svg`).textContent()).toContain('era');
    }
    const targets = await page.locator('#chart-corr-history g.series').evaluateAll((series) => series.map((g) => g.getAttribute('data-series')));
    expect(targets).toEqual(summary.targets);
    expect(summary.targets).toEqual(['cyrus_60', 'target']);
    // The cost of the policy cumulated per target: a point per era with a cost.
    const cost = await page.locator('#chart-cost-history g.series').evaluateAll((series) => series.map((g) => [g.getAttribute('data-series'), g.querySelectorAll('circle.point').length]));
    expect(cost.map(([name]) => String(name).split(' ')[0])).toEqual(['cyrus_60', 'target']);
    expect(cost.map(([, points]) => points)).toEqual([4, 4]);
  });

  it('shows the changelog: both versions, from which era, the reasons and each rule with its rationale', async () => {
    const entries = await page.locator('#changelog li.entry').evaluateAll((items) => items.map((li) => li.getAttribute('data-version')));
    expect(entries).toEqual(['ethical-core v2', 'ethical-core v1']);
    const text = await page.locator('#changelog').textContent();
    expect(text).toContain('board decision: halve severe controversies');
    expect(text).toContain('from era 5');
    expect(text).toContain('eras 3–4');
    expect(text).toContain('Severe, unresolved controversies get half the weight until resolved');
    expect(text).toContain('EU PAB Art. 12(1)(b)');
  });

  it('lists every part of the policy in force: its rules, what each matches, and the neutralisation', async () => {
    const active = (await (await fetch(`${base}/v1/policies/active`)).json()) as { name: string; version: number; document: { rules: { id: string }[]; neutralize?: { by: string } } };
    const shown = await page.locator(`#policy .policy[data-version="${active.name} v${active.version}"] li.rule`).evaluateAll((items) => items.map((li) => li.getAttribute('data-rule')));
    expect(shown).toEqual([...active.document.rules.map((r) => r.id), `neutralize:${active.document.neutralize!.by}`]);
    const text = await page.locator('#policy').textContent();
    expect(text).toContain('proportion 0.5 (a target, not a hard limit)');
    expect(text).toMatch(/tags contains "tobacco"/);
    // A dozen staked models: the top-10 share says something, so it is drawn.
    expect(await page.locator('#chart-gini g.series[data-series="top-10 share"]').count()).toBe(1);
  });

  it('redraws for another era picked in the selector', async () => {
    await page.selectOption('#era-select', '2');
    await ready(2);
    const report = await eraReport(2);
    expect(await page.locator('#chart-corr rect.bar').count()).toBe(2 * report.metaModelCorr.length);
    expect(report.metaModelCorr.length).toBe(2);
    // Era 2 had no policy: nothing excluded, S = M.
    expect(await page.locator('#chart-rules').textContent()).toContain('No policy');
    expect(await page.locator('#chart-tilt rect.bar').count()).toBe(2 * report.sectorTilt.length);

    // Era 4: v1 with targets, its cost by rule drawn per target.
    await page.selectOption('#era-select', '4');
    await ready(4);
    const four = await eraReport(4);
    expect(four.performanceCost.map((c) => c.target)).toEqual(['cyrus_60', 'target']);
    expect(await page.locator('#chart-cost-rules rect.bar').count()).toBe(four.performanceCost.reduce((n, c) => n + c.byRule.length, 0));
    const shot = path.join(tmpdir(), `reports-page-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    // Kept only when asked for (REPORTS_SCREENSHOT=1): tests leave nothing behind in the temporary directory.
    if (process.env.REPORTS_SCREENSHOT === '1') console.info(`reports page screenshot: ${shot}`);
    else await rm(shot);
  });

  it('reads on a phone-width screen: nothing wider than the screen, every chart drawn', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    phone.on('pageerror', (error) => problems.push(`phone page error: ${error.message}`));
    phone.on('console', (message) => {
      if (message.type() === 'error') problems.push(`phone console: ${message.text()}`);
    });
    await phone.goto(`${base}/reports`);
    await phone.waitForSelector('body[data-state="ready"]');
    const widths = await phone.evaluate<{ page: number; screen: number }>('({ page: document.documentElement.scrollWidth, screen: window.innerWidth })');
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    for (const chart of ['#chart-tilt', '#chart-exposures', '#chart-rules', '#chart-gini', '#chart-cost-history', '#chart-corr-history']) {
      const box = await phone.locator(`${chart} svg`).boundingBox();
      expect(box, chart).not.toBeNull();
      expect(box!.width, chart).toBeLessThanOrEqual(390);
      expect(box!.width, chart).toBeGreaterThan(250);
    }
    const shot = path.join(tmpdir(), `reports-page-phone-${process.pid}.png`);
    await phone.screenshot({ path: shot, fullPage: true });
    const era = path.join(tmpdir(), `reports-page-phone-era-${process.pid}.png`);
    await phone.locator('#era-section').screenshot({ path: era });
    console.info(`reports page phone screenshots: ${shot}, ${era}`);
    await phone.close();
  });

  it('shows nothing private and logged no console error, failed request or CSP violation', async () => {
    const html = await page.content();
    for (const secret of seeded.secrets) expect(html.includes(secret), `"${secret}" appears on the page`).toBe(false);
    expect(problems).toEqual([]);
  });
});
