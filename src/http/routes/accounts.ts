import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES, type AccountsService } from '../../services/accounts.js';
import { ADMIN, ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const account = z.object({ id: z.uuid(), name: z.string(), role: z.enum(ROLES) });

export const accountRoutes: FastifyPluginAsyncZod<{ accounts: AccountsService }> = async (app, { accounts }) => {
  app.post(
    '/v1/accounts',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account and its first API key (shown once)',
        body: z.strictObject({ name: z.string().trim().min(1).max(100), role: z.enum(ROLES) }),
        response: { 201: account.extend({ keyId: z.uuid(), apiKey: z.string() }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await accounts.createAccount(request.principal!.accountId, request.body);
      return reply.status(201).send(created);
    },
  );

  app.post(
    '/v1/accounts/:id/keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Issue another API key for an account (shown once)',
        params: z.object({ id: z.uuid() }),
        response: {
          201: z.object({ id: z.uuid(), accountId: z.uuid(), apiKey: z.string(), createdAt: z.date() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const key = await accounts.createKey(request.principal!.accountId, request.params.id);
      return reply.status(201).send(key);
    },
  );

  app.delete(
    '/v1/keys/:keyId',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Revoke an API key; it stops working at once',
        params: z.object({ keyId: z.uuid() }),
        response: { 200: z.object({ id: z.uuid(), revokedAt: z.date().nullable() }), ...problemResponses },
      },
    },
    async (request) => accounts.revokeKey(request.principal!.accountId, request.params.keyId),
  );

  app.get(
    '/v1/me',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['accounts'], summary: 'The account behind the key', response: { 200: account, ...problemResponses } },
    },
    async (request) => {
      const me = requirePrincipal(request);
      return { id: me.accountId, name: me.name, role: me.role };
    },
  );
};
