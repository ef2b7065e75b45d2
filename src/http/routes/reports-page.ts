import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** public/reports: a hand-written page, its script and its stylesheet; no build step. */
const PAGE_DIR = new URL('../../../public/reports/', import.meta.url);

const ASSETS = [
  { url: '/reports', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/reports/reports.js', file: 'reports.js', type: 'text/javascript; charset=utf-8' },
  { url: '/reports/reports.css', file: 'reports.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * The public /reports page. Its script and styles are same-origin files, so helmet's default
 * CSP (script-src 'self') applies unchanged; the files are read once, at start.
 */
export async function reportsPageRoutes(app: FastifyInstance) {
  for (const { url, file, type } of ASSETS) {
    const body = await readFile(new URL(file, PAGE_DIR));
    app.get(url, { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}
