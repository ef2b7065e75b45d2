import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ACCOUNT_STATUSES, ROLES, SCOPES, type AccountsService } from '../../services/accounts.js';
import { ADMIN, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const MAX_LIMIT = 500;

const listedAccount = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: z.enum(ROLES),
    status: z.enum(ACCOUNT_STATUSES).describe('`pending`: an admin made over HTTP, awaiting confirmation by another admin; `disabled`: its keys are revoked'),
    createdAt: z.date(),
    createdBy: z.uuid().nullable().describe('the admin who made it over HTTP; null for the command line and BOOTSTRAP_ADMIN_KEY'),
    keys: z
      .array(z.object({ id: z.uuid(), hint: z.string(), scopes: z.array(z.enum(SCOPES)), expiresAt: z.date().nullable(), createdAt: z.date() }))
      .describe('its keys that are not revoked, newest first (expired ones included); first characters only, never the secret'),
  })
  .meta({ id: 'Account' });

const params = z.object({ id: z.uuid() });

/** The console's account administration: list and search, confirm a pending admin, disable. */
export const accountAdminRoutes: FastifyPluginAsyncZod<{ accounts: AccountsService }> = async (app, { accounts }) => {
  app.get(
    '/v1/accounts',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Accounts by name with their live keys; filter by role, search by part of the name or the whole id',
        querystring: z.strictObject({
          role: z.enum(ROLES).optional(),
          q: z.string().trim().min(1).max(100).optional().describe('part of the name (any case), or an account id'),
          limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100),
        }),
        response: { 200: z.object({ accounts: z.array(listedAccount) }), ...problemResponses },
      },
    },
    async (request) => ({ accounts: await accounts.list(request.query) }),
  );

  app.post(
    '/v1/accounts/:id/confirm',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Confirm a pending admin account (four-eyes: not by the admin who made it)',
        description: 'The admin who made the account gets 403; an account that is not pending gets 409.',
        params,
        response: { 200: listedAccount, ...problemResponses },
      },
    },
    async (request) => accounts.confirm(requirePrincipal(request), request.params.id),
  );

  app.post(
    '/v1/accounts/:id/disable',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Disable an account: every key it holds is revoked at once and gets 401',
        description: 'The body is optional. You cannot disable your own account (403). Disabling a disabled account changes nothing.',
        params,
        body: z.strictObject({ reason: z.string().trim().min(1).max(1000).optional() }).nullish(),
        response: { 200: listedAccount, ...problemResponses },
      },
    },
    async (request) => accounts.disable(requirePrincipal(request), request.params.id, request.body?.reason),
  );
};
