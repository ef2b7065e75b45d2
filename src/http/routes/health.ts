import type { FastifyInstance } from 'fastify';
import { serviceUnavailable } from '../../errors.js';

const healthSchema = {
  type: 'object',
  properties: { status: { type: 'string' } },
} as const;

/** Liveness says the process answers; readiness says the database does too. */
export async function healthRoutes(app: FastifyInstance, opts: { databaseAnswers: () => Promise<void> }) {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags: ['health'], summary: 'Liveness', response: { 200: healthSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'Readiness: the database answers', response: { 200: healthSchema } },
    },
    async () => {
      try {
        await Promise.race([
          opts.databaseAnswers(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
        ]);
      } catch {
        throw serviceUnavailable('The database does not answer');
      }
      return { status: 'ready' };
    },
  );
}
