import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type AppError, forbidden, unauthorized } from '../../errors.js';
import { type AccountsService, type Principal, REVOKED, type Role } from '../../services/accounts.js';

/** Who may call a route: 'public', or the roles whose keys are accepted. */
export type Access = 'public' | readonly Role[];

export const ANY_KEY: readonly Role[] = ['admin', 'operator', 'author'];
export const STAFF: readonly Role[] = ['admin', 'operator'];
export const ADMIN: readonly Role[] = ['admin'];

/** One registered route and who may call it: what the authorisation-matrix test walks. */
export interface RouteRule {
  method: string;
  url: string;
  access: Access;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * The route's write checks the key itself (store_submission) and its refusals re-check it
     * (refuseRevokedKeys), so the principal may come from the process's memory of live keys
     * (AccountsService.authenticateRemembered).
     */
    keyCheckedByWrite?: true;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every route that declares an access rule (every /v1 route must), in registration order. */
    routeTable: readonly RouteRule[];
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * For the errors plugin's `overrule`: a refusal to a request whose key may have come from
 * memory first checks the key is still live (and forgets it if not), so a revoked key is told
 * 401 whatever else was wrong with the request (a bad body, a bad parameter, its rate limit,
 * its role).
 */
export function refuseRevokedKeys(accounts: AccountsService) {
  return async (request: FastifyRequest): Promise<AppError | undefined> => {
    if (!request.principal || request.routeOptions.config?.keyCheckedByWrite !== true) return undefined;
    return (await accounts.isLive(request.principal)) ? undefined : unauthorized(REVOKED);
  };
}

/** The caller, or 401 when the route needs one and there is none. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('This route needs an API key: send Authorization: Bearer <key>');
  return request.principal;
}

/**
 * Resolves the bearer key on every request and enforces the route's `config.access`; a /v1
 * route declared without one refuses to start. Revocation is immediate: the key is looked up
 * each time, except on routes whose write checks it itself (`config.keyCheckedByWrite`).
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { accounts: AccountsService }) => {
  app.decorateRequest('principal', null);
  const routeTable: RouteRule[] = [];
  app.decorate('routeTable', routeTable);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1') && route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access rule`);
    }
    const access = route.config?.access;
    if (access !== undefined) {
      for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, access });
    }
    if (access && access !== 'public' && route.schema && !route.schema.hide) {
      route.schema = { ...route.schema, security: [{ bearer: [] }] };
    }
  });

  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header) {
      const match = BEARER.exec(header);
      if (!match) throw unauthorized('Authorization must be "Bearer <key>"');
      const fromMemory = request.routeOptions.config?.keyCheckedByWrite === true;
      const principal = fromMemory ? await opts.accounts.authenticateRemembered(match[1]) : await opts.accounts.authenticate(match[1]);
      if (!principal) throw unauthorized(REVOKED);
      request.principal = principal;
    }
    const access = request.routeOptions.config?.access;
    if (!access || access === 'public') return;
    const principal = requirePrincipal(request);
    if (!access.includes(principal.role)) {
      throw forbidden(`This route is for ${access.join(' or ')} keys; yours is ${principal.role}`);
    }
  });
});
