import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { indexLiveIds } from '../../src/ingest/aligned.js';
import type { IngestBody } from '../../src/ingest/id-value.js';
import { prepareSubmission } from '../../src/ingest/prepare.js';
import { InvalidBodyError } from '../../src/ingest/problems.js';
import { parseTargetText } from '../../src/ingest/targets.js';
import { WORKER_MIN_CHARS, workerPreparer } from '../../src/ingest/worker-preparer.js';
import { liveIds, predictionsCsv, rng } from '../support/fixtures.js';

const random = rng(11);
const universeOf = (ids: string[], digest: string) => ({ ...indexLiveIds(ids), digest });
const first = universeOf(liveIds(500, 'a'), 'digest-a');
const second = universeOf(liveIds(300, 'b'), 'digest-b');
const options = { era: 7, minCoverage: 0.9 };
const csv = (ids: readonly string[], values: number[]): IngestBody => ({ kind: 'csv', text: predictionsCsv([...ids], values) });

// Every body to a worker, however small: these bodies are below the size prepared on the event loop.
const preparer = workerPreparer(2, { minChars: 0 });
afterAll(() => preparer.close());

/** What prepareSubmission on this thread makes of the body, or the problems it finds. */
function inline(body: IngestBody, universe: typeof first) {
  try {
    return prepareSubmission(body, universe, options);
  } catch (error) {
    return error;
  }
}

describe('preparing CSV submissions on worker threads', () => {
  it('stores exactly what preparing on the event loop stores, for each universe and encoding', async () => {
    const bodies = [
      [first, csv(first.ids, first.ids.map(() => Math.round(random() * 1e6) / 1e6))],
      [second, csv(second.ids, second.ids.map(() => random()))],
      [first, csv(first.ids.slice(0, 460), first.ids.slice(0, 460).map(() => random()))],
      [second, csv(second.ids, second.ids.map((_, i) => (i % 5) / 4))],
    ] as const;
    const prepared = await Promise.all(bodies.map(([universe, body]) => preparer.prepare(body, universe, options)));
    prepared.forEach((result, i) => expect(result).toEqual(inline(bodies[i][1], bodies[i][0])));
    expect(prepared.map((p) => p.rawEncoding)).toEqual(['decimal', 'float64', 'float64', 'decimal']);
  });

  it('rejects an invalid body with the same problems', async () => {
    const ids = [...first.ids.slice(0, 498), 'unknown_id', first.ids[0]];
    const values = ids.map((_, i) => (i === 3 ? 1.5 : random()));
    const body = csv(ids, values);
    const error = await preparer.prepare(body, first, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBodyError);
    expect((error as InvalidBodyError).problems).toEqual((inline(body, first) as InvalidBodyError).problems);
    expect((error as InvalidBodyError).problems.map((p) => p.code)).toEqual(expect.arrayContaining(['unknown_ids', 'duplicate_ids', 'out_of_range']));
  });

  it('sends a universe again to a worker that has let it go', async () => {
    const universes = Array.from({ length: 20 }, (_, k) => universeOf(liveIds(50, `u${k}_`), `digest-u${k}`));
    const bodies = universes.map((u) => csv(u.ids, u.ids.map(() => random())));
    for (const [k, u] of universes.entries()) expect(await preparer.prepare(bodies[k], u, options)).toEqual(inline(bodies[k], u));
    // Each of the two workers has had 10 universes and keeps the last 8: the first ones must come back.
    const again = await Promise.all(universes.slice(0, 4).map((u, k) => preparer.prepare(bodies[k], u, options)));
    again.forEach((result, k) => expect(result).toEqual(inline(bodies[k], universes[k])));
  });

  it('takes more bodies at once than a worker holds, preparing the excess on the event loop', async () => {
    const bodies = Array.from({ length: 200 }, () => csv(second.ids, second.ids.map(() => random())));
    const prepared = await Promise.all(bodies.map((body) => preparer.prepare(body, second, options)));
    prepared.forEach((result, i) => expect(result).toEqual(inline(bodies[i], second)));
  });

  it('keeps a process alive while a body is being prepared, whatever the working directory', () => {
    const script = fileURLToPath(new URL('../support/prepare-child.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [tsx, script], { cwd: tmpdir(), encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('3 decimal\n');
    expect(child.status).toBe(0);
  });

  it('prepares JSON bodies too, and bodies that come after close, on the event loop', async () => {
    const json: IngestBody = { kind: 'json', value: { ids: second.ids, predictions: second.ids.map(() => random()) } };
    expect(await preparer.prepare(json, second, options)).toEqual(inline(json, second));
    await preparer.close();
    const body = csv(first.ids, first.ids.map(() => random()));
    expect(await preparer.prepare(body, first, options)).toEqual(inline(body, first));
  });
});

describe('which bodies go to a worker', () => {
  it('prepares a submission below the size threshold on the event loop and one at or above it on a worker, as it does a target upload', async () => {
    const big = universeOf(liveIds(6000, 'w'), 'digest-w');
    const bodyOf = (universe: typeof big) => csv(universe.ids, universe.ids.map(() => Math.round(random() * 1e6) / 1e6));
    const small = bodyOf(first) as Extract<IngestBody, { kind: 'csv' }>;
    const large = bodyOf(big) as Extract<IngestBody, { kind: 'csv' }>;
    expect(small.text.length).toBeLessThan(WORKER_MIN_CHARS);
    expect(large.text.length).toBeGreaterThanOrEqual(WORKER_MIN_CHARS);
    const sized = workerPreparer(1);
    try {
      expect(await sized.prepare(small, first, options)).toEqual(inline(small, first));
      expect(await sized.parseTargets({ kind: 'csv', text: small.text.replace('prediction', 't0') }, first, { era: 7, maxColumns: 1, mainTarget: 't0' })).toHaveLength(1);
      expect(sized.started()).toBe(0);
      expect(await sized.prepare(large, big, options)).toEqual(inline(large, big));
      expect(sized.started()).toBe(1);
    } finally {
      await sized.close();
    }
  });
});

describe('parsing large target uploads on worker threads', () => {
  const big = universeOf(liveIds(3000, 'g'), 'digest-g');
  const names = Array.from({ length: 8 }, (_, j) => `t${j}`);
  const values = (j: number) => big.ids.map((_, i) => [0, 0.25, 0.5, 0.75, 1][(i * (j + 1)) % 5]);
  const targetOptions = { era: 7, maxColumns: 8, mainTarget: 't0' };
  // A preparer of their own: the one above is closed by then, and a closed one parses here.
  const workers = workerPreparer(1);
  afterAll(() => workers.close());

  it('gives the columns parsing here gives, from CSV and JSON text past the size parsed here', async () => {
    const csvText = `id,${names.join(',')}\n${big.ids.map((id, i) => [id, ...names.map((_, j) => values(j)[i])].join(',')).join('\n')}\n`;
    const jsonText = JSON.stringify({ ids: big.ids, targets: Object.fromEntries(names.map((name, j) => [name, values(j)])) });
    for (const body of [{ kind: 'csv', text: csvText }, { kind: 'json-text', text: jsonText }] as const) {
      expect(body.text.length).toBeGreaterThan(WORKER_MIN_CHARS);
      const parsed = await workers.parseTargets(body, big, targetOptions);
      expect(parsed).toEqual(parseTargetText(body, big, targetOptions));
      expect(parsed.map((t) => t.name)).toEqual(names);
    }
  });

  it('refuses on the worker with the problems parsing here finds', async () => {
    const constant = JSON.stringify({ ids: big.ids, targets: { t0: big.ids.map(() => 0.5), t1: values(1) } });
    const error = await workers.parseTargets({ kind: 'json-text', text: constant }, big, targetOptions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBodyError);
    expect((error as InvalidBodyError).problems.map((p) => p.code)).toEqual(['constant_target']);
  });
});
