import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditService } from '../../services/audit.js';
import { ADMIN } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const MAX_LIMIT = 1000;

const entry = z
  .object({
    id: z.number().int(),
    at: z.date(),
    actorId: z.uuid().nullable().describe('null for changes the service made by itself (bootstrap, scheduled closes) and for the command line'),
    actorName: z
      .string()
      .nullable()
      .describe("the account's name, or `command line`, `scheduler` or `BOOTSTRAP_ADMIN_KEY` when no account acted"),
    keyId: z.uuid().nullable().describe('the API key the actor used; null when no key was used (command line, scheduler, bootstrap) and on entries written before keys were recorded'),
    action: z.string(),
    subject: z.string().describe('what changed, as kind:id (e.g. era:12, policy:<uuid>, account:<uuid>)'),
    reason: z.string().nullable(),
    details: z.unknown().describe('before/after where it applies'),
  })
  .meta({ id: 'AuditEntry' });

export const auditLogRoutes: FastifyPluginAsyncZod<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/v1/audit-log',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['audit'],
        summary: 'Every change made by an operator or admin, newest first; page with `before` = the previous nextCursor',
        querystring: z
          .strictObject({
            subject: z.string().min(1).max(200).optional(),
            from: z.iso.datetime({ offset: true }).optional().describe('entries at or after this instant'),
            to: z.iso.datetime({ offset: true }).optional().describe('entries at or before this instant'),
            before: z.coerce.number().int().positive().optional().describe('entries with an id below this cursor'),
            limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100),
          })
          .refine((q) => !q.from || !q.to || new Date(q.from) <= new Date(q.to), { message: 'from must not be after to', path: ['from'] }),
        response: {
          200: z.object({ entries: z.array(entry), nextCursor: z.number().int().nullable().describe('pass as `before` for the next page; null on the last') }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { subject, from, to, before, limit } = request.query;
      return audit.list({ subject, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, before, limit });
    },
  );
};
