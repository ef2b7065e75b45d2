import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ACCOUNT_STATUSES, ROLES, SCOPES, type AccountsService } from '../../services/accounts.js';
import { ADMIN, ANY_KEY, requirePrincipal } from '../plugins/auth.js';
import { problemResponses } from '../schemas.js';

const account = z.object({ id: z.uuid(), name: z.string(), role: z.enum(ROLES), status: z.enum(ACCOUNT_STATUSES) });

const SCOPES_TEXT =
  '`scopes`: `all` (everything the role may; the default) or any of `submit` (POST submissions), `stake` (PUT stake) and `read` (every GET the role may). ' +
  '`expiresAt`: an ISO 8601 time in the future after which the key gets 401; none by default.';

/** What a new key may do; both optional, and so is the body (Fastify gives an absent one as null). */
const keyLimits = z
  .strictObject({
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length).optional(),
    expiresAt: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
  })
  .nullish();

const scopes = z.array(z.enum(SCOPES));

const issuedKey = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  apiKey: z.string(),
  scopes,
  expiresAt: z.date().nullable(),
  createdAt: z.date(),
});

const keyParams = z.object({ keyId: z.uuid() });
const revokedKey = z.object({ id: z.uuid(), revokedAt: z.date().nullable() });

export const accountRoutes: FastifyPluginAsyncZod<{ accounts: AccountsService }> = async (app, { accounts }) => {
  app.post(
    '/v1/accounts',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account and its first API key (shown once)',
        description:
          'An admin account made here is `pending`: its keys get 403 everywhere until an admin other than you confirms it ' +
          '(POST /v1/accounts/{id}/confirm). Other roles are `active` at once. `keyId` names the first key.',
        body: z.strictObject({ name: z.string().trim().min(1).max(100), role: z.enum(ROLES) }),
        response: { 201: account.extend({ keyId: z.uuid(), apiKey: z.string() }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await accounts.createAccount(requirePrincipal(request), request.body);
      return reply.status(201).send(created);
    },
  );

  app.post(
    '/v1/accounts/:id/keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['accounts'],
        summary: 'Issue another API key for an account (shown once), optionally scoped and expiring',
        description:
          `The body is optional. ${SCOPES_TEXT} ` +
          "Refused (403) for another admin's account: no one mints keys for another admin; each admin makes its own (POST /v1/me/keys).",
        params: z.object({ id: z.uuid() }),
        body: keyLimits,
        response: { 201: issuedKey, ...problemResponses },
      },
    },
    async (request, reply) => {
      const key = await accounts.createKey(requirePrincipal(request), request.params.id, request.body ?? {});
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
        params: keyParams,
        response: { 200: revokedKey, ...problemResponses },
      },
    },
    async (request) => accounts.revokeKey(requirePrincipal(request), request.params.keyId),
  );

  app.get(
    '/v1/me',
    {
      config: { access: ANY_KEY },
      schema: { tags: ['accounts'], summary: 'The account behind the key', response: { 200: account, ...problemResponses } },
    },
    async (request) => {
      const me = requirePrincipal(request);
      return { id: me.accountId, name: me.name, role: me.role, status: me.status };
    },
  );

  app.post(
    '/v1/me/keys',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['accounts'],
        summary: 'Issue a key for your own account (shown once), e.g. a submit-only key for automation',
        description: `Needs a key with the \`all\` scope; the new key has your role, narrowed by its scopes. At most 20 live keys per account. ${SCOPES_TEXT}`,
        body: keyLimits,
        response: { 201: issuedKey, ...problemResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await accounts.createOwnKey(requirePrincipal(request), request.body ?? {})),
  );

  app.get(
    '/v1/me/keys',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['accounts'],
        summary: "Your account's keys that are not revoked (first characters only, never the secret)",
        response: {
          200: z.object({
            keys: z.array(z.object({ id: z.uuid(), hint: z.string(), scopes, expiresAt: z.date().nullable(), createdAt: z.date() })),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => ({ keys: await accounts.listOwnKeys(requirePrincipal(request)) }),
  );

  app.delete(
    '/v1/me/keys/:keyId',
    {
      config: { access: ANY_KEY },
      schema: {
        tags: ['accounts'],
        summary: 'Revoke one of your own keys; it stops working at once',
        params: keyParams,
        response: { 200: revokedKey, ...problemResponses },
      },
    },
    async (request) => accounts.revokeOwnKey(requirePrincipal(request), request.params.keyId),
  );
};
