import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type AppError, forbidden, tooManyRequests, unauthorized } from '../../errors.js';
import { type AccountsService, expiredKey, isExpired, PENDING, type Principal, REVOKED, type Role, type Scope } from '../../services/accounts.js';
import { windowCounter } from '../window-counter.js';

/*
 * The key path of a request, in the order it runs (a disabled account's keys are revoked with it;
 * a pending admin account's key gets 403 on every route, public ones included):
 * 1. Throttle: an address whose keys failed `failuresPerMinute` times this minute gets 429
 *    before any lookup, unless its key is one this process remembers as live.
 * 2. Route flag: a route whose write checks the key itself declares `config.keyCheckedByWrite`
 *    (the submission route: store_submission refuses a revoked or expired key with SWK01, which
 *    the submissions service turns into 401).
 * 3. Remembered key: on such a route the principal may come from this process's memory of live
 *    keys (AccountsService.authenticateRemembered), without a round trip.
 * 4. Lookup: every other request, and a key not remembered, is looked up (db/keys.ts
 *    findKeyByHash); a live key is remembered, a refused one forgotten, and each refusal counts
 *    towards the throttle.
 * 5. Refusal: before the errors plugin sends any refusal to a request on a flagged route,
 *    refuseRevokedKeys re-checks the key (AccountsService.isLive, db/keys.ts keyIsLive) and
 *    forgets it if dead, so a revoked remembered key is told 401 whatever else was wrong.
 */

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
    /** The key scope the route needs besides the role: by default `read` for GET and HEAD, else `all`. */
    scope?: Scope;
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

/** The scope a route needs from a key. */
export function routeScope(method: string, declared: Scope | undefined): Scope {
  return declared ?? (method === 'GET' || method === 'HEAD' ? 'read' : 'all');
}

/** The caller, or 401 when the route needs one and there is none. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('This route needs an API key: send Authorization: Bearer <key>');
  return request.principal;
}

/**
 * Resolves the bearer key on every request and enforces the route's `config.access` and the key's
 * scope (`config.scope`); a /v1 route declared without an access rule refuses to start.
 * Revocation is immediate: the key is looked up each time, except on routes whose write checks it
 * itself (`config.keyCheckedByWrite`). An address whose keys failed `failuresPerMinute` times in a
 * minute gets 429 without a lookup for any key this process has not seen live, so a burst of bad
 * keys costs at most that many database round trips per address and replica.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { accounts: AccountsService; failuresPerMinute: number }) => {
  const failures = windowCounter({ limit: opts.failuresPerMinute });
  app.decorateRequest('principal', null);
  const routeTable: RouteRule[] = [];
  app.decorate('routeTable', routeTable);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1') && route.config?.access === undefined) {
      throw new Error(`route ${[route.method].flat().join(',')} ${route.url} declares no access rule`);
    }
    const access = route.config?.access;
    if (access !== undefined) {
      for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, access });
    }
    if (access && access !== 'public' && route.schema && !route.schema.hide) {
      route.schema = { ...route.schema, security: [{ bearer: [] }] };
    }
  });

  const failed = (request: FastifyRequest, error: AppError) => {
    failures.hit(request.ip);
    return error;
  };

  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (header) {
      const match = BEARER.exec(header);
      if (!match) throw failed(request, unauthorized('Authorization must be "Bearer <key>"'));
      const secret = match[1];
      if (failures.isOver(request.ip) && !opts.accounts.remembers(secret)) {
        const seconds = failures.retryAfterSeconds(request.ip);
        reply.header('retry-after', seconds);
        throw tooManyRequests(`Too many requests with unknown, revoked or expired keys from your address; retry in ${seconds} s`);
      }
      const fromMemory = request.routeOptions.config?.keyCheckedByWrite === true;
      const principal = fromMemory ? await opts.accounts.authenticateRemembered(secret) : await opts.accounts.authenticate(secret);
      if (!principal) throw failed(request, unauthorized(REVOKED));
      if (isExpired(principal)) throw failed(request, unauthorized(expiredKey(principal.expiresAt!)));
      // A pending admin can do nothing, on any route: four-eyes holds only once another admin vouched for it.
      if (principal.status !== 'active') throw forbidden(PENDING);
      request.principal = principal;
    }
    const config = request.routeOptions.config;
    const access = config?.access;
    if (!access || access === 'public') return;
    const principal = requirePrincipal(request);
    if (!access.includes(principal.role)) {
      throw forbidden(`This route is for ${access.join(' or ')} keys; yours is ${principal.role}`);
    }
    const scope = routeScope(request.method, config.scope);
    if (!principal.scopes.includes('all') && !principal.scopes.includes(scope)) {
      throw forbidden(`This route needs a key with the "${scope}" scope; this key has ${principal.scopes.map((s) => `"${s}"`).join(', ')}`);
    }
  });
});
