import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** public/console: the staff and author console, hand-written ES modules and one stylesheet; no build step. */
const PAGE_DIR = new URL('../../../public/console/', import.meta.url);

const JS = 'text/javascript; charset=utf-8';
const ASSETS = [
  { url: '/console', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/console/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
  { url: '/console/console.js', file: 'console.js', type: JS },
  { url: '/console/ui.js', file: 'ui.js', type: JS },
  { url: '/console/admin.js', file: 'admin.js', type: JS },
  { url: '/console/operator.js', file: 'operator.js', type: JS },
  { url: '/console/author.js', file: 'author.js', type: JS },
] as const;

/**
 * Stricter than helmet's default: no inline style either (helmet allows `'unsafe-inline'` styles),
 * and only same-origin fetches. The console sets every server string as text, so nothing it shows can run.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The /console page and its files, read once at start; the key it holds never reaches the server's logs. */
export async function consolePageRoutes(app: FastifyInstance) {
  for (const { url, file, type } of ASSETS) {
    const body = await readFile(new URL(file, PAGE_DIR));
    app.get(url, { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', CONSOLE_CSP).send(body),
    );
  }
}
