import Fastify from 'fastify';
import { indexLiveIds } from '../src/ingest/aligned.js';
import { parseSubmission } from '../src/ingest/submission.js';

/**
 * The comparison point for ingest: a bare Fastify route that only reads and parses the same
 * CSV bodies (with the same parser), storing nothing. Run as its own process, like the service.
 */
const n = Number(process.env.BENCH_IDS ?? 6000);
const ids = Array.from({ length: n }, (_, i) => `id${String(i).padStart(6, '0')}`);
const universe = indexLiveIds(ids);

const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/parse', async (request, reply) => {
  const parsed = parseSubmission({ kind: 'csv', text: request.body as string }, universe, { era: 1 });
  return reply.status(201).send({ rows: parsed.rows });
});
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
