/**
 * npm run load -- --seconds S --concurrency C [--ids N] [--url URL --admin-key KEY] [--json]
 *
 * A submission burst at close time, then a check that nothing was lost. C authors each own a
 * staked model and submit as fast as the service answers, for S seconds, against an era whose
 * closesAt falls halfway through: the scheduler closes it under load, and later submissions
 * are accepted as late. Afterwards, through the API:
 *   - no 5xx, no dropped connection, no 4xx other than 429 (every body sent is valid);
 *   - every 2xx-acknowledged submission is stored, with its digest and its late flag;
 *   - nothing is stored twice, and each model has one current on-time and one current late submission at most;
 *   - the closing run took exactly each model's last acknowledged on-time submission.
 * Exits 1 on any violation. Against a running service with --url (or STAKEWEIGHT_URL) and
 * --admin-key (or ADMIN_KEY); otherwise it starts one on DATABASE_URL, or on an embedded
 * PostgreSQL in a temporary directory. Loopback only; every loop is bounded in time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { spawnServer, type ServerProcess } from '../tests/support/server-process.js';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '100' },
    ids: { type: 'string', default: '1000' },
    url: { type: 'string', default: process.env.STAKEWEIGHT_URL },
    'admin-key': { type: 'string', default: process.env.ADMIN_KEY },
    json: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(opts.seconds);
const CONCURRENCY = Number(opts.concurrency);
const N = Number(opts.ids);
if (!(SECONDS > 0 && SECONDS <= 600)) throw new Error('--seconds must be in (0, 600]');
if (!(Number.isInteger(CONCURRENCY) && CONCURRENCY >= 1 && CONCURRENCY <= 2000)) throw new Error('--concurrency must be 1..2000');
if (!(Number.isInteger(N) && N >= 10 && N <= 50_000)) throw new Error('--ids must be 10..50000');

const REQUEST_TIMEOUT_MS = 30_000;
const log = (message: string) => process.stderr.write(`[load] ${message}\n`);

interface Reply {
  status: number;
  body: string;
}

/** One request on a keep-alive agent; status 0 when the connection failed or timed out. */
function request(agent: http.Agent, base: URL, method: string, url: string, key: string, body?: string, type = 'application/json'): Promise<Reply> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${key}` };
    if (body !== undefined) Object.assign(headers, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    const req = http.request({ host: base.hostname, port: base.port, path: url, method, agent, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end(body);
  });
}

/** Runs `fn` over `items` with at most `width` at once. */
async function inParallel<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

interface Receipt {
  id: string;
  sha256: string;
  late: boolean;
}

interface Ack extends Receipt {
  status: number;
  /** order of acknowledgement within the model's worker */
  seq: number;
}

interface Stored extends Receipt {
  superseded: boolean;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startOwnService(): Promise<{ url: string; adminKey: string; output: () => string; stop: () => Promise<void> }> {
  const adminKey = `sw_load_${randomBytes(16).toString('hex')}`;
  let databaseUrl = process.env.DATABASE_URL;
  let cleanup = async () => {};
  if (!databaseUrl) {
    const dir = await mkdtemp(path.join(tmpdir(), 'stakeweight-load-'));
    log('DATABASE_URL is not set: starting an embedded PostgreSQL');
    const embedded = await startEmbeddedPostgres(dir, { persistent: false });
    databaseUrl = embedded.url;
    cleanup = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  log('starting the service');
  let server: ServerProcess;
  try {
    server = await spawnServer(
      { DATABASE_URL: databaseUrl, BOOTSTRAP_ADMIN_KEY: adminKey, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '1000000', SCHEDULER_INTERVAL_MS: '250' },
      { timeoutMs: 90_000 },
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    url: server.url,
    adminKey,
    output: () => server.output(),
    stop: async () => {
      await server.stop();
      await cleanup();
    },
  };
}

async function main(): Promise<number> {
  const own = opts.url ? null : await startOwnService();
  const baseUrl = opts.url ?? own!.url;
  const adminKey = opts['admin-key'] ?? own?.adminKey;
  if (!adminKey) throw new Error('--admin-key (or ADMIN_KEY) is needed with --url');
  const base = new URL(baseUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) throw new Error('load is only ever sent to this machine');
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 8 });

  try {
    const api = async <T>(method: string, url: string, key: string, body?: unknown, type?: string): Promise<T> => {
      const res = await request(agent, base, method, url, key, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), type);
      if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.body.slice(0, 300)}`);
      return JSON.parse(res.body) as T;
    };

    // ---------------------------------------------------------------- set-up
    const tag = randomBytes(3).toString('hex');
    const operator = (await api<{ apiKey: string }>('POST', '/v1/accounts', adminKey, { name: `load-operator-${tag}`, role: 'operator' })).apiKey;
    log(`creating ${CONCURRENCY} authors, each with a staked model`);
    const authors = await inParallel(Array.from({ length: CONCURRENCY }, (_, i) => i), 16, async (i) => {
      const { id, apiKey } = await api<{ id: string; apiKey: string }>('POST', '/v1/accounts', adminKey, { name: `load-author-${tag}-${i}`, role: 'author' });
      // Stakes are paid from the author's wallet (STAKE_FUNDING=wallet, the default).
      await api('POST', `/v1/accounts/${id}/wallet/credits`, operator, { amount: '100', reference: `load ${tag}` });
      const model = await api<{ id: string }>('POST', '/v1/models', apiKey, { name: `load_${tag}_${i}` });
      await api('PUT', `/v1/models/${model.id}/stake`, apiKey, { amount: '100' });
      return { key: apiKey, modelId: model.id };
    });

    const { eras } = await api<{ eras: { number: number }[] }>('GET', '/v1/eras', operator);
    const era = Math.max(0, ...eras.map((e) => e.number)) + 1;
    const ids = Array.from({ length: N }, (_, i) => `ld${String(i).padStart(6, '0')}`);
    const closesAt = new Date(Date.now() + 1_000 + (SECONDS * 1000) / 2);
    await api('POST', '/v1/eras', operator, { number: era, opensAt: new Date(Date.now() - 60_000).toISOString(), closesAt: closesAt.toISOString() });
    await api('PUT', `/v1/eras/${era}/universe`, operator, `id,sector,industry,country,tags\n${ids.map((id, i) => `${id},${10 + (i % 8) * 5},,US,`).join('\n')}\n`, 'text/csv');
    log(`era ${era}: ${N} ids, closes at ${closesAt.toISOString()} (mid-run)`);

    // Every body differs (the first value encodes worker and request), so every 2xx stores a new row.
    const rest = ids.slice(1).map((id, i) => `${id},${((i * 7919) % 9973) / 9973}`).join('\n');
    const body = (worker: number, i: number) => `id,prediction\n${ids[0]},0.5${String(worker).padStart(4, '0')}${String(i).padStart(6, '0')}\n${rest}\n`;

    // ---------------------------------------------------------------- the burst
    log(`submitting for ${SECONDS} s from ${CONCURRENCY} authors`);
    const statuses: Record<string, number> = {};
    const acks: Ack[][] = authors.map(() => []);
    const transportErrors = new Array<number>(CONCURRENCY).fill(0);
    const unexpected: string[] = [];
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      authors.map(async ({ key, modelId }, worker) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const t0 = performance.now();
          const res = await request(agent, base, 'POST', `/v1/models/${modelId}/submissions?era=${era}`, key, body(worker, i), 'text/csv');
          latencies.push(performance.now() - t0);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status >= 200 && res.status < 300) {
            const receipt = JSON.parse(res.body) as Receipt;
            acks[worker].push({ id: receipt.id, sha256: receipt.sha256, late: receipt.late, status: res.status, seq: i });
          } else if (res.status === 0) {
            transportErrors[worker]++;
          } else if (res.status !== 429 && unexpected.length < 20) {
            unexpected.push(`${res.status} ${res.body.slice(0, 200)}`);
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;

    // ---------------------------------------------------------------- verification
    // Closing is idempotent: this returns the run the scheduler made, or closes the era now.
    const closed = await api<{ run: { id: string; seq: number } }>('POST', `/v1/eras/${era}/close`, operator);
    const { runs } = await api<{ runs: { id: string; seq: number; trigger: string; models: number; inputs: { modelId: string; submissionId: string; sha256: string }[] }[] }>(
      'GET',
      `/v1/eras/${era}/meta-model/runs?inputs=true`,
      operator,
    );
    const stored = await inParallel(authors, 16, async ({ modelId }) =>
      (await api<{ submissions: (Stored & { era: number })[] }>('GET', `/v1/models/${modelId}/submissions`, operator)).submissions.filter((s) => s.era === era),
    );

    const violations: string[] = [];
    const fiveHundreds = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((n, [, c]) => n + c, 0);
    if (fiveHundreds > 0) violations.push(`${fiveHundreds} responses were 5xx`);
    const dropped = transportErrors.reduce((a, b) => a + b, 0);
    if (dropped > 0) violations.push(`${dropped} requests failed at the connection (no HTTP status)`);
    for (const u of unexpected) violations.push(`a valid submission was refused: ${u}`);

    const closingRuns = runs.filter((r) => r.trigger === 'close');
    if (closingRuns.length !== 1 || closingRuns[0].seq !== 1 || closingRuns[0].id !== closed.run.id) {
      violations.push(`expected exactly one closing run (seq 1), found ${JSON.stringify(closingRuns.map((r) => ({ id: r.id, seq: r.seq })))}`);
    }
    const inputs = new Map((closingRuns[0]?.inputs ?? []).map((input) => [input.modelId, input]));

    let onTime = 0;
    let late = 0;
    authors.forEach(({ modelId }, worker) => {
      const rows = stored[worker];
      const byId = new Map(rows.map((r) => [r.id, r]));
      if (byId.size !== rows.length) violations.push(`model ${modelId}: a submission id is listed twice`);
      const digests = new Set(rows.map((r) => r.sha256));
      if (digests.size !== rows.length) violations.push(`model ${modelId}: ${rows.length - digests.size} submissions stored twice (same digest)`);
      for (const ack of acks[worker]) {
        const row = byId.get(ack.id);
        if (!row) violations.push(`model ${modelId}: acknowledged submission ${ack.id} (${ack.status}) is not stored`);
        else if (row.sha256 !== ack.sha256 || row.late !== ack.late) violations.push(`model ${modelId}: submission ${ack.id} is stored with another digest or late flag`);
      }
      const acked = new Set(acks[worker].map((a) => a.id));
      const unacked = rows.filter((r) => !acked.has(r.id));
      // A request cut off at the connection may have been stored without its answer arriving; nothing else may.
      if (unacked.length > transportErrors[worker]) violations.push(`model ${modelId}: ${unacked.length} stored submissions were never acknowledged`);
      for (const flag of [false, true]) {
        const current = rows.filter((r) => r.late === flag && !r.superseded);
        if (current.length > 1) violations.push(`model ${modelId}: ${current.length} current ${flag ? 'late' : 'on-time'} submissions`);
        const lastAck = acks[worker].filter((a) => a.late === flag).at(-1);
        if (lastAck && current[0]?.id !== lastAck.id) violations.push(`model ${modelId}: the current ${flag ? 'late' : 'on-time'} submission is not the last acknowledged one`);
      }
      const lastOnTime = acks[worker].filter((a) => !a.late).at(-1);
      const input = inputs.get(modelId);
      if (lastOnTime && input?.submissionId !== lastOnTime.id) violations.push(`model ${modelId}: the closing run did not take its last on-time submission`);
      if (!lastOnTime && input) violations.push(`model ${modelId}: the closing run took a submission that was never acknowledged on time`);
      onTime += acks[worker].filter((a) => !a.late).length;
      late += acks[worker].filter((a) => a.late).length;
    });

    latencies.sort((a, b) => a - b);
    const acknowledged = onTime + late;
    const summary = {
      seconds: Math.round(elapsed * 10) / 10,
      concurrency: CONCURRENCY,
      ids: N,
      era,
      requests: latencies.length,
      acknowledged,
      onTime,
      late,
      stored: stored.reduce((n, rows) => n + rows.length, 0),
      perSecond: Math.round(acknowledged / elapsed),
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      statuses,
      closingRunModels: closingRuns[0]?.models ?? null,
      violations: violations.length,
    };
    const lines = [
      `Stakeweight load — ${CONCURRENCY} submitters × ${summary.seconds} s, ${N} ids, era ${era} closing mid-run`,
      `  requests ${summary.requests}, acknowledged ${acknowledged} (${onTime} on time, ${late} late), stored ${summary.stored}`,
      `  ${summary.perSecond} acknowledged/s, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, statuses ${JSON.stringify(statuses)}`,
      `  closing run: ${summary.closingRunModels} models`,
      violations.length === 0 ? '  OK: every acknowledged submission is stored, none twice, no 5xx' : `  ${violations.length} VIOLATION(S):`,
      ...violations.slice(0, 50).map((v) => `    - ${v}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return violations.length === 0 ? 0 : 1;
  } catch (error) {
    // The service this script started may be why: show what it said.
    if (own) process.stderr.write(`[load] the service's output:\n${own.output().slice(-4000)}\n`);
    throw error;
  } finally {
    agent.destroy();
    await own?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[load] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
