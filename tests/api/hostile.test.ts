import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, rng, submitCsv } from '../support/fixtures.js';
import { closeEra } from '../support/metamodel.js';
import { capturedLogger, leaksIn, tableCounts } from '../support/security.js';

/*
 * A corpus of malformed and abusive requests across every write route. Each must be answered
 * with a 4xx problem+json (type, title, status, detail) that carries no stack trace, SQL or
 * source path, and none may change a single row of any table. The whole file runs with a
 * trace-level log captured: a marker placed in bodies, universe attributes and keys must never
 * reach it.
 */

const MARKER = 'Mk7LogMarker3q';
const log = capturedLogger();

const BODY_LIMIT = 64 * 1024;
const IDS = liveIds(30, 'hx');
const random = rng(99);
const values = () => IDS.map(() => Math.round(random() * 1e6) / 1e6);
const csv = (rows: [string, string | number][]) => `id,prediction\n${rows.map(([id, v]) => `${id},${v}`).join('\n')}\n`;
const validRows = (): [string, number][] => IDS.map((id, i) => [id, values()[i]]);

const SQL_ID = `x'; DROP TABLE submissions; -- ${MARKER}`;
const SQL_OR = "1' OR '1'='1";
const SQL_UNION = '1 UNION SELECT secret_hash FROM api_keys --';
const JS_ID = '<script>alert(document.cookie)</script>';
const TRAVERSAL = '../../../../etc/passwd';
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

interface Ctx {
  author: string;
  readOnly: string;
  submitOnly: string;
  expired: string;
  otherAuthor: string;
  operator: string;
  revoked: string;
  ownModel: string;
  otherModel: string;
  accountId: string;
  policyId: string;
}

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: (c: Ctx) => string;
  key?: (c: Ctx) => string | null;
  headers?: Record<string, string>;
  payload?: (c: Ctx) => string | Buffer | object;
  status: number;
  /** strings the client sent that a message may quote back */
  echoes?: string[];
}

const asAuthor = (c: Ctx) => c.author;
const asOperator = (c: Ctx) => c.operator;
const asAdmin = () => ADMIN_KEY;
const submit = (c: Ctx) => `/v1/models/${c.ownModel}/submissions?era=1`;
const CSV = { 'content-type': 'text/csv' };
const JSON_TYPE = { 'content-type': 'application/json' };

const CORPUS: Case[] = [
  // --- submissions: encodings and bodies
  { name: 'invalid UTF-8 in a CSV body', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400,
    payload: () => Buffer.concat([Buffer.from('id,prediction\n'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x2c, 0x30, 0x2e, 0x35, 0x0a]), Buffer.from(csv(validRows()).slice(14))]) },
  { name: 'a BOM-only CSV body', method: 'POST', url: submit, key: asAuthor, headers: CSV, payload: () => '\uFEFF', status: 400 },
  { name: 'an empty CSV body', method: 'POST', url: submit, key: asAuthor, headers: CSV, payload: () => '', status: 400 },
  { name: 'a CSV header and no rows', method: 'POST', url: submit, key: asAuthor, headers: CSV, payload: () => 'id,prediction\n', status: 400 },
  { name: 'NUL bytes and control characters in a CSV', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400,
    payload: () => `id,prediction\n${IDS[0]}\u0000,0.5\n\u0007\u001b[2J,0.1\n` },
  { name: 'a SQL injection string as a CSV id', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400, echoes: [SQL_ID],
    payload: () => csv([[SQL_ID, 0.5], ...validRows().slice(1)]) },
  { name: 'SQL and script injection strings as JSON ids', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    echoes: [SQL_OR, SQL_UNION, JS_ID],
    payload: () => ({ ids: [SQL_OR, SQL_UNION, JS_ID, ...IDS.slice(3)], predictions: values() }) },
  { name: 'predictions as strings in JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => ({ ids: IDS, predictions: IDS.map(() => '0.5') }) },
  { name: 'huge and tiny numbers in JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => ({ ids: IDS, predictions: IDS.map((_, i) => (i % 2 ? 1e308 : -1e308)) }) },
  { name: 'NaN and Infinity literals in JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => `{"ids": ${JSON.stringify(IDS.slice(0, 3))}, "predictions": [NaN, Infinity, -Infinity]}` },
  { name: 'NaN, Infinity and negative values in CSV', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400,
    payload: () => csv(IDS.map((id, i) => [id, ['NaN', 'Infinity', '-0.5', '-Infinity', '1e999'][i % 5]])) },
  { name: 'duplicate ids', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400,
    payload: () => csv([...validRows(), [IDS[0], 0.3]]) },
  { name: 'constant predictions', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400, payload: () => csv(IDS.map((id) => [id, 0.5])) },
  { name: 'too few ids (coverage)', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400, payload: () => csv(validRows().slice(0, 10)) },
  { name: 'an extra column', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 400,
    payload: () => `id,prediction,secret\n${IDS.map((id, i) => `${id},${(i + 1) / 100},x`).join('\n')}\n` },
  { name: 'extra fields next to ids and predictions', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => ({ ids: IDS, predictions: values(), modelId: UNKNOWN_UUID, era: 7 }) },
  { name: 'a __proto__ key in JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => `{"__proto__": {"role": "admin"}, "ids": ${JSON.stringify(IDS)}, "predictions": ${JSON.stringify(values())}}` },
  { name: 'deeply nested JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400,
    payload: () => `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
  { name: 'truncated JSON', method: 'POST', url: submit, key: asAuthor, headers: JSON_TYPE, status: 400, payload: () => '{"ids": ["hx00000", "hx0' },
  { name: 'a body over the size limit', method: 'POST', url: submit, key: asAuthor, headers: CSV, status: 413,
    payload: () => `id,prediction\n${'hx00000,0.5\n'.repeat(Math.ceil(BODY_LIMIT / 12) + 10)}` },
  { name: 'an unsupported content type', method: 'POST', url: submit, key: asAuthor, headers: { 'content-type': 'application/xml' }, status: 415,
    payload: () => '<ids><id>hx00000</id></ids>' },
  { name: 'path traversal as the model id', method: 'POST', url: () => `/v1/models/${encodeURIComponent(TRAVERSAL)}/submissions?era=1`, key: asAuthor,
    headers: CSV, payload: () => csv(validRows()), status: 400, echoes: [TRAVERSAL, encodeURIComponent(TRAVERSAL)] },
  { name: 'SQL injection as the model id', method: 'POST', url: () => `/v1/models/${encodeURIComponent(SQL_OR)}/submissions?era=1`, key: asAuthor,
    headers: CSV, payload: () => csv(validRows()), status: 400, echoes: [SQL_OR, encodeURIComponent(SQL_OR)] },
  { name: 'SQL injection in the era query', method: 'POST', url: (c) => `/v1/models/${c.ownModel}/submissions?era=${encodeURIComponent('1; DROP TABLE eras')}`,
    key: asAuthor, headers: CSV, payload: () => csv(validRows()), status: 400, echoes: ['1; DROP TABLE eras'] },
  { name: 'a negative era', method: 'POST', url: (c) => `/v1/models/${c.ownModel}/submissions?era=-1`, key: asAuthor, headers: CSV,
    payload: () => csv(validRows()), status: 400 },
  { name: 'an era beyond int64', method: 'POST', url: (c) => `/v1/models/${c.ownModel}/submissions?era=99999999999999999999999`, key: asAuthor,
    headers: CSV, payload: () => csv(validRows()), status: 400 },
  { name: "another author's model", method: 'POST', url: (c) => `/v1/models/${c.otherModel}/submissions?era=1`, key: asAuthor, headers: CSV,
    payload: () => csv(validRows()), status: 403 },
  { name: 'an operator submitting', method: 'POST', url: submit, key: asOperator, headers: CSV, payload: () => csv(validRows()), status: 403 },
  { name: 'a revoked key', method: 'POST', url: submit, key: (c) => c.revoked, headers: CSV, payload: () => csv(validRows()), status: 401 },
  { name: 'an unknown key', method: 'POST', url: submit, key: () => `sw_${MARKER}00000000000000000000000000000`, headers: CSV,
    payload: () => csv(validRows()), status: 401 },
  { name: 'a malformed Authorization header', method: 'POST', url: submit, key: () => null,
    headers: { ...CSV, authorization: `Bearer ${SQL_OR} ${MARKER}` }, payload: () => csv(validRows()), status: 401 },
  { name: 'a read-only key submitting', method: 'POST', url: submit, key: (c) => c.readOnly, headers: CSV, payload: () => csv(validRows()), status: 403 },
  { name: 'an expired key submitting', method: 'POST', url: submit, key: (c) => c.expired, headers: CSV, payload: () => csv(validRows()), status: 401 },
  { name: 'a submit-only key setting a stake', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: (c) => c.submitOnly, status: 403,
    payload: () => ({ amount: '5' }) },
  { name: 'a submit-only key creating a model', method: 'POST', url: () => '/v1/models', key: (c) => c.submitOnly, status: 403, payload: () => ({ name: 'scoped_model' }) },
  { name: 'an expired key creating a model', method: 'POST', url: () => '/v1/models', key: (c) => c.expired, status: 401, payload: () => ({ name: 'expired_model' }) },
  { name: 'no key at all', method: 'POST', url: submit, key: () => null, headers: CSV, payload: () => csv(validRows()), status: 401 },
  // --- wallets: money from outside only through staff, never through a float, a negative or someone else
  { name: 'a credit with an exponent amount', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/wallet/credits`, key: asOperator, status: 400,
    payload: () => ({ amount: '1e9', reference: 'x' }) },
  { name: 'an author crediting itself', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/wallet/credits`, key: asAuthor, status: 403,
    payload: () => ({ amount: '1000000', reference: 'self' }) },
  { name: 'a negative withdrawal', method: 'POST', url: () => '/v1/me/wallet/withdrawals', key: asAuthor, status: 400, payload: () => ({ amount: '-5' }) },
  { name: 'a withdrawal above what the wallet holds', method: 'POST', url: () => '/v1/me/wallet/withdrawals', key: asAuthor, status: 409,
    payload: () => ({ amount: '99999999999' }) },
  { name: 'completing an unknown withdrawal', method: 'POST', url: () => `/v1/withdrawals/${UNKNOWN_UUID}/complete`, key: asOperator, status: 404,
    payload: () => ({ reference: 'x' }) },
  { name: 'SQL injection as a withdrawal id', method: 'POST', url: () => `/v1/withdrawals/${encodeURIComponent(SQL_OR)}/reject`, key: asAdmin, status: 400,
    payload: () => ({ reason: 'x' }), echoes: [SQL_OR, encodeURIComponent(SQL_OR)] },

  // --- accounts and keys
  { name: 'an unknown role', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, payload: () => ({ name: 'mallory', role: 'superuser' }) },
  { name: 'an injection name with an extra field', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, echoes: ["Robert'); DROP TABLE accounts;--"],
    payload: () => ({ name: "Robert'); DROP TABLE accounts;--", role: 'author', isAdmin: true }) },
  { name: 'a name of the wrong type', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, payload: () => ({ name: { $ne: null }, role: 'admin' }) },
  { name: 'a blank name', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, payload: () => ({ name: '   ', role: 'author' }) },
  { name: 'a 10,000-character name', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, payload: () => ({ name: 'a'.repeat(10_000), role: 'author' }) },
  { name: 'a missing role', method: 'POST', url: () => '/v1/accounts', key: asAdmin, status: 400, payload: () => ({ name: 'norole' }) },
  { name: 'an operator creating an admin', method: 'POST', url: () => '/v1/accounts', key: asOperator, status: 403, payload: () => ({ name: 'x', role: 'admin' }) },
  { name: 'an author creating an admin', method: 'POST', url: () => '/v1/accounts', key: asAuthor, status: 403, payload: () => ({ name: 'x', role: 'admin' }) },
  { name: 'path traversal as an account id', method: 'POST', url: () => `/v1/accounts/${encodeURIComponent(TRAVERSAL)}/keys`, key: asAdmin, status: 400,
    echoes: [TRAVERSAL, encodeURIComponent(TRAVERSAL)] },
  { name: 'a key for an unknown account', method: 'POST', url: () => `/v1/accounts/${UNKNOWN_UUID}/keys`, key: asAdmin, status: 404 },
  { name: 'confirming an unknown account', method: 'POST', url: () => `/v1/accounts/${UNKNOWN_UUID}/confirm`, key: asAdmin, status: 404 },
  { name: 'confirming an author, who is never pending', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/confirm`, key: asAdmin, status: 409 },
  { name: 'SQL injection as an account to confirm', method: 'POST', url: () => `/v1/accounts/${encodeURIComponent(SQL_OR)}/confirm`, key: asAdmin, status: 400,
    echoes: [SQL_OR, encodeURIComponent(SQL_OR)] },
  { name: 'an operator confirming an account', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/confirm`, key: asOperator, status: 403 },
  { name: 'disabling an unknown account', method: 'POST', url: () => `/v1/accounts/${UNKNOWN_UUID}/disable`, key: asAdmin, status: 404 },
  { name: 'a disable with an unknown field', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/disable`, key: asAdmin, status: 400,
    payload: () => ({ reason: 'x', keepKeys: true }) },
  { name: 'a disable reason of the wrong type', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/disable`, key: asAdmin, status: 400,
    payload: () => ({ reason: { $ne: null } }) },
  { name: 'an author disabling an account', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/disable`, key: asAuthor, status: 403 },
  { name: 'an author minting a key for itself', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/keys`, key: asAuthor, status: 403 },
  { name: 'SQL injection as a key id', method: 'DELETE', url: () => `/v1/keys/${encodeURIComponent("' OR 1=1 --")}`, key: asAdmin, status: 400,
    echoes: ["' OR 1=1 --", encodeURIComponent("' OR 1=1 --")] },
  { name: 'revoking an unknown key', method: 'DELETE', url: () => `/v1/keys/${UNKNOWN_UUID}`, key: asAdmin, status: 404 },
  { name: 'an author revoking a key', method: 'DELETE', url: () => `/v1/keys/${UNKNOWN_UUID}`, key: asAuthor, status: 403 },
  { name: 'a scoped key minting itself a key', method: 'POST', url: () => '/v1/me/keys', key: (c) => c.submitOnly, status: 403, payload: () => ({ scopes: ['all'] }) },
  { name: 'an expired key minting itself a key', method: 'POST', url: () => '/v1/me/keys', key: (c) => c.expired, status: 401, payload: () => ({}) },
  { name: 'an unknown scope', method: 'POST', url: () => '/v1/me/keys', key: asAuthor, status: 400, echoes: [`admin${MARKER}`],
    payload: () => ({ scopes: ['submit', `admin${MARKER}`] }) },
  { name: 'no scopes', method: 'POST', url: () => '/v1/me/keys', key: asAuthor, status: 400, payload: () => ({ scopes: [] }) },
  { name: 'an expiry in the past', method: 'POST', url: () => '/v1/me/keys', key: asAuthor, status: 400, payload: () => ({ expiresAt: '2001-01-01T00:00:00Z' }) },
  { name: 'an expiry that is not a time', method: 'POST', url: () => '/v1/me/keys', key: asAuthor, status: 400, echoes: [`next week ${MARKER}`],
    payload: () => ({ expiresAt: `next week ${MARKER}` }) },
  { name: 'a role asked for a new key', method: 'POST', url: () => '/v1/me/keys', key: asAuthor, status: 400, payload: () => ({ scopes: ['read'], role: 'admin' }) },
  { name: 'an admin key with an unknown scope', method: 'POST', url: (c) => `/v1/accounts/${c.accountId}/keys`, key: asAdmin, status: 400,
    payload: () => ({ scopes: ['everything'] }) },
  { name: "revoking another account's key as your own", method: 'DELETE', url: () => `/v1/me/keys/${UNKNOWN_UUID}`, key: asAuthor, status: 404 },
  { name: 'SQL injection as an own key id', method: 'DELETE', url: () => `/v1/me/keys/${encodeURIComponent("1' OR '1'='1")}`, key: asAuthor, status: 400,
    echoes: ["1' OR '1'='1", encodeURIComponent("1' OR '1'='1")] },
  { name: 'a read-only key revoking its own keys', method: 'DELETE', url: () => `/v1/me/keys/${UNKNOWN_UUID}`, key: (c) => c.readOnly, status: 403 },

  // --- webhooks
  { name: 'a webhook to the cloud metadata address', method: 'POST', url: () => '/v1/webhooks', key: asAuthor, status: 400,
    payload: () => ({ url: 'https://169.254.169.254/latest/meta-data', events: ['era.closed'] }) },
  { name: 'a webhook with a script URL', method: 'POST', url: () => '/v1/webhooks', key: asAuthor, status: 400, echoes: [`javascript:alert(1)//${MARKER}`],
    payload: () => ({ url: `javascript:alert(1)//${MARKER}`, events: ['era.closed'] }) },
  { name: 'a webhook for an unknown event type', method: 'POST', url: () => '/v1/webhooks', key: asAuthor, status: 400, echoes: ['__proto__'],
    payload: () => ({ url: 'https://example.com/hook', events: ['__proto__'] }) },
  { name: 'a webhook claiming another account', method: 'POST', url: () => '/v1/webhooks', key: asAuthor, status: 400,
    payload: (c) => ({ url: 'https://10.0.0.1/hook', events: ['era.closed'], accountId: c.accountId }) },
  { name: 'SQL injection as a webhook id', method: 'DELETE', url: () => `/v1/webhooks/${encodeURIComponent("' OR 1=1 --")}`, key: asAuthor, status: 400,
    echoes: ["' OR 1=1 --", encodeURIComponent("' OR 1=1 --")] },
  { name: 'removing an unknown webhook', method: 'DELETE', url: () => `/v1/webhooks/${UNKNOWN_UUID}`, key: asAuthor, status: 404 },
  { name: 'retrying a delivery of an unknown webhook', method: 'POST', url: () => `/v1/webhooks/${UNKNOWN_UUID}/deliveries/${UNKNOWN_UUID}/retry`, key: asAuthor, status: 404 },

  // --- models and stakes
  { name: 'a SQL injection model name', method: 'POST', url: () => '/v1/models', key: asAuthor, status: 400, echoes: ["x'; DROP TABLE models;--"],
    payload: () => ({ name: "x'; DROP TABLE models;--" }) },
  { name: 'a script model name', method: 'POST', url: () => '/v1/models', key: asAuthor, status: 400, echoes: [JS_ID], payload: () => ({ name: JS_ID }) },
  { name: "a model claiming another's account", method: 'POST', url: () => '/v1/models', key: asAuthor, status: 400,
    payload: (c) => ({ name: 'claimed', accountId: c.accountId }) },
  { name: 'a model name as an array', method: 'POST', url: () => '/v1/models', key: asAuthor, status: 400, payload: () => ({ name: ['a', 'b'] }) },
  { name: 'a taken model name', method: 'POST', url: () => '/v1/models', key: asAuthor, status: 409, payload: () => ({ name: 'hostile_own' }) },
  { name: 'a negative stake', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400, payload: () => ({ amount: -1 }) },
  { name: 'a stake of 1e309', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400, payload: () => ({ amount: '1e309' }) },
  { name: 'a stake of NaN', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400, payload: () => ({ amount: 'NaN' }) },
  { name: 'a stake beyond 20 digits', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400,
    payload: () => ({ amount: '123456789012345678901234567890' }) },
  { name: 'a stake as a JSON number in exponent form', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400,
    payload: () => ({ amount: 1e21 }) },
  { name: 'a hexadecimal stake', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400, payload: () => ({ amount: '0x10' }) },
  { name: "a stake on another's model", method: 'PUT', url: (c) => `/v1/models/${c.otherModel}/stake`, key: asAuthor, status: 403, payload: () => ({ amount: '1' }) },
  { name: 'a stake with an injected balance', method: 'PUT', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 400,
    payload: () => ({ amount: '1', balance: '1000000' }) },

  // --- eras and universes
  { name: 'a negative era number', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400,
    payload: () => ({ number: -1, closesAt: new Date(Date.now() + 3_600_000).toISOString() }) },
  { name: 'an era number past int32', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400,
    payload: () => ({ number: 2 ** 31, closesAt: new Date(Date.now() + 3_600_000).toISOString() }) },
  { name: 'an era number as an injection string', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400, echoes: ['5; DROP TABLE eras'],
    payload: () => ({ number: '5; DROP TABLE eras', closesAt: new Date(Date.now() + 3_600_000).toISOString() }) },
  { name: 'closesAt that is not a date', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400, payload: () => ({ number: 50, closesAt: 'tomorrow' }) },
  { name: 'closesAt before opensAt', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400,
    payload: () => ({ number: 51, opensAt: '2030-01-02T00:00:00Z', closesAt: '2030-01-01T00:00:00Z' }) },
  { name: 'an infinite payout clip', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 400, headers: JSON_TYPE,
    payload: () => `{"number": 52, "closesAt": "2030-01-01T00:00:00Z", "payout": {"clip": 1e999}}` },
  { name: 'an era that exists', method: 'POST', url: () => '/v1/eras', key: asOperator, status: 409,
    payload: () => ({ number: 1, closesAt: new Date(Date.now() + 3_600_000).toISOString() }) },
  { name: 'an author creating an era', method: 'POST', url: () => '/v1/eras', key: asAuthor, status: 403,
    payload: () => ({ number: 53, closesAt: new Date(Date.now() + 3_600_000).toISOString() }) },
  { name: 'path traversal ids in a universe', method: 'PUT', url: () => '/v1/eras/3/universe', key: asOperator, headers: CSV, status: 400, echoes: [TRAVERSAL],
    payload: () => `id,sector,industry,country,tags\n${TRAVERSAL},10,101010,US,\nok1,10,101010,US,\n` },
  { name: 'a universe attribute that is an object', method: 'PUT', url: () => '/v1/eras/3/universe', key: asOperator, status: 400,
    payload: () => ({ rows: [{ id: 'ok1', attributes: { nested: { $gt: 1 } } }] }) },
  { name: 'private attributes for an era that has submissions', method: 'PUT', url: () => '/v1/eras/1/universe', key: asOperator, status: 409,
    payload: () => ({ rows: [{ id: 'ok1', sector: MARKER, tags: [MARKER], attributes: { note: MARKER, share: 0.5 } }, { id: 'ok2', attributes: { note: MARKER } }] }) },
  { name: 'a universe for an era that has submissions', method: 'PUT', url: () => '/v1/eras/1/universe', key: asOperator, headers: CSV, status: 409,
    payload: () => 'id,sector,industry,country,tags\nok1,10,101010,US,\nok2,10,101010,US,\n' },
  { name: 'an era number that is not a number', method: 'PUT', url: () => `/v1/eras/${encodeURIComponent('1 OR 1=1')}/universe`, key: asOperator, headers: CSV,
    status: 400, echoes: ['1 OR 1=1', encodeURIComponent('1 OR 1=1')], payload: () => 'id,sector,industry,country,tags\nok1,10,101010,US,\n' },

  // --- close, compute, targets, resolve
  { name: 'closing an unknown era', method: 'POST', url: () => '/v1/eras/99999/close', key: asOperator, status: 404 },
  { name: 'closing an era without a universe', method: 'POST', url: () => '/v1/eras/3/close', key: asOperator, status: 409 },
  { name: 'closing with a float era', method: 'POST', url: () => '/v1/eras/1.5/close', key: asOperator, status: 400 },
  { name: 'an author closing an era', method: 'POST', url: () => '/v1/eras/1/close', key: asAuthor, status: 403 },
  { name: 'recomputing an open era', method: 'POST', url: () => '/v1/eras/1/meta-model/compute', key: asOperator, status: 409 },
  { name: 'recomputing with a negative era', method: 'POST', url: () => '/v1/eras/-5/meta-model/compute', key: asOperator, status: 400 },
  { name: 'a target name with a path', method: 'PUT', url: () => `/v1/eras/2/targets/${encodeURIComponent('../../etc')}`, key: asOperator, headers: CSV,
    status: 400, echoes: ['../../etc', encodeURIComponent('../../etc')], payload: () => `id,target\n${IDS[0]},0.5\n` },
  { name: 'a target name with SQL', method: 'PUT', url: () => `/v1/eras/2/targets/${encodeURIComponent("t';drop table targets;--")}`, key: asOperator,
    headers: CSV, status: 400, echoes: ["t';drop table targets;--", encodeURIComponent("t';drop table targets;--")], payload: () => `id,target\n${IDS[0]},0.5\n` },
  { name: 'target values out of range', method: 'PUT', url: () => '/v1/eras/2/targets/target', key: asOperator, headers: CSV, status: 400,
    payload: () => `id,target\n${IDS.map((id, i) => `${id},${i % 2 ? 2 : -1}`).join('\n')}\n` },
  { name: 'target values as strings', method: 'PUT', url: () => '/v1/eras/2/targets/target', key: asOperator, status: 400,
    payload: () => ({ ids: IDS, values: IDS.map(() => 'high') }) },
  { name: 'targets for an open era', method: 'PUT', url: () => '/v1/eras/1/targets/target', key: asOperator, headers: CSV, status: 409,
    payload: () => `id,target\n${IDS.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][i % 5]}`).join('\n')}\n` },
  { name: 'an author uploading targets', method: 'PUT', url: () => '/v1/eras/2/targets/target', key: asAuthor, headers: CSV, status: 403,
    payload: () => `id,target\n${IDS[0]},0.5\n` },
  { name: 'several targets with a bad column name', method: 'PUT', url: () => '/v1/eras/2/targets', key: asOperator, headers: CSV, status: 400,
    echoes: ["t';drop"], payload: () => `id,ender_20,t';drop\n${IDS[0]},0.5,0.5\n` },
  { name: 'several targets with values out of range', method: 'PUT', url: () => '/v1/eras/2/targets', key: asOperator, status: 400,
    payload: () => ({ ids: IDS, targets: { ender_20: IDS.map(() => 0.5), cyrus_60: IDS.map(() => 7) } }) },
  { name: 'several targets as a bare array', method: 'PUT', url: () => '/v1/eras/2/targets', key: asOperator, status: 400, payload: () => [1, 2, 3] },
  { name: 'several targets for an open era', method: 'PUT', url: () => '/v1/eras/1/targets', key: asOperator, headers: CSV, status: 409,
    payload: () => `id,ender_20\n${IDS.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][i % 5]}`).join('\n')}\n` },
  { name: 'an author uploading several targets', method: 'PUT', url: () => '/v1/eras/2/targets', key: asAuthor, headers: CSV, status: 403,
    payload: () => `id,ender_20\n${IDS[0]},0.5\n` },
  { name: 'resolving before the main target', method: 'POST', url: () => '/v1/eras/2/resolve', key: asOperator, status: 409 },
  { name: 'an author resolving', method: 'POST', url: () => '/v1/eras/2/resolve', key: asAuthor, status: 403 },

  // --- policies
  { name: 'a policy with an unknown op', method: 'POST', url: () => '/v1/policies', key: asAdmin, status: 400,
    payload: () => ({ name: 'bad', rules: [{ id: 'r', match: { field: 'sector', op: 'regex', value: '.*' }, action: { type: 'exclude' } }] }) },
  { name: 'a policy with an unknown field', method: 'POST', url: () => '/v1/policies', key: asAdmin, status: 400,
    payload: () => ({ name: 'bad', rules: [{ id: 'r', match: { field: 'secret_hash', op: 'eq', value: 'x' }, action: { type: 'exclude' } }] }) },
  { name: 'a policy with a script action', method: 'POST', url: () => '/v1/policies', key: asAdmin, status: 400, echoes: [JS_ID],
    payload: () => ({ name: JS_ID, rules: [{ id: SQL_OR, match: { field: 'id', op: 'eq', value: 'x' }, action: { type: 'eval', code: 'process.exit(1)' } }] }) },
  { name: 'a deeply nested policy predicate', method: 'POST', url: () => '/v1/policies', key: asAdmin, headers: JSON_TYPE, status: 400,
    payload: () => `{"name": "deep", "rules": [{"id": "r", "match": ${'{"not": '.repeat(3000)}{"field": "id", "op": "eq", "value": "x"}${'}'.repeat(3000)}, "action": {"type": "exclude"}}]}` },
  { name: 'an operator creating a policy', method: 'POST', url: () => '/v1/policies', key: asOperator, status: 403,
    payload: () => ({ name: 'op', rules: [{ id: 'r', match: { field: 'id', op: 'eq', value: 'x' }, action: { type: 'observe' } }] }) },
  { name: 'a preview of no eras', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/preview`, key: asOperator, status: 400, payload: () => ({ eras: [] }) },
  { name: 'a preview of eras as strings', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/preview`, key: asOperator, status: 400,
    payload: () => ({ eras: ['1; DROP TABLE policies'] }), echoes: ['1; DROP TABLE policies'] },
  { name: 'a preview of an unknown era', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/preview`, key: asOperator, status: 404, payload: () => ({ eras: [4242] }) },
  { name: 'activation by the policy author', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/activate`, key: asAdmin, status: 403,
    payload: () => ({ reason: 'four eyes?' }) },
  { name: 'activation without a reason', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/activate`, key: asAdmin, status: 400, payload: () => ({}) },
  { name: 'activation of an unknown policy', method: 'POST', url: () => `/v1/policies/${UNKNOWN_UUID}/activate`, key: asAdmin, status: 404,
    payload: () => ({ reason: 'x' }) },
  { name: 'a withdrawal by an operator', method: 'DELETE', url: (c) => `/v1/policies/${c.policyId}`, key: asOperator, status: 403 },
  { name: 'a withdrawal of an unknown policy', method: 'DELETE', url: () => `/v1/policies/${UNKNOWN_UUID}`, key: asAdmin, status: 404 },
  { name: 'a rejection by the policy author', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/reject`, key: asAdmin, status: 403, payload: () => ({ reason: 'mine' }) },
  { name: 'a rejection without a reason', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/reject`, key: asAdmin, status: 400, payload: () => ({}) },
  { name: 'a replay of too many eras', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/replay`, key: asOperator, status: 400, payload: () => ({ lastEras: 261 }) },
  { name: 'a replay of eras as a string', method: 'POST', url: (c) => `/v1/policies/${c.policyId}/replay`, key: asOperator, status: 400,
    payload: () => ({ lastEras: '1; DROP TABLE eras' }) },
  { name: 'a method no route has', method: 'PATCH', url: (c) => `/v1/models/${c.ownModel}/stake`, key: asAuthor, status: 404, payload: () => ({ amount: '1' }) },
];

let t: TestApp;
let ctx: Ctx;

/** A universe whose private attributes (a tag, a sector, a string and a numeric attribute) carry the marker. */
const markedUniverse = () =>
  `id,sector,industry,country,tags,note,share\n${IDS.map((id, i) => `${id},${i % 2 ? '10' : `10${MARKER}`},101010,US,${MARKER};tobacco,${MARKER}-${i},${i / 100}`).join('\n')}\n`;

beforeAll(async () => {
  t = await createTestApp({ BODY_LIMIT_BYTES: String(BODY_LIMIT) }, { logger: log.logger });
  const author = await createAccount(t.app, 'author');
  const otherAuthor = await createAccount(t.app, 'author');
  const operator = await createAccount(t.app, 'operator');
  const revoked = await createAccount(t.app, 'author');
  await t.app.inject({ method: 'DELETE', url: `/v1/keys/${revoked.keyId}`, headers: bearer(ADMIN_KEY) });

  const hour = 3_600_000;
  for (const number of [1, 2]) {
    await createEra(t.app, { number, opensAt: new Date(Date.now() - hour).toISOString(), closesAt: new Date(Date.now() + hour).toISOString() });
    const universe = await t.app.inject({ method: 'PUT', url: `/v1/eras/${number}/universe`, headers: { ...bearer(ADMIN_KEY), ...CSV }, payload: markedUniverse() });
    if (universe.statusCode !== 200) throw new Error(`universe: ${universe.statusCode} ${universe.body}`);
  }
  await createEra(t.app, { number: 3 });
  const own = await createModel(t.app, author.apiKey, 'hostile_own', '100');
  const other = await createModel(t.app, otherAuthor.apiKey, 'hostile_other', '100');
  for (const era of [1, 2]) {
    for (const [key, model] of [[author.apiKey, own.id], [otherAuthor.apiKey, other.id]] as const) {
      const res = await submitCsv(t.app, key, model, era, predictionsCsv(IDS, values()));
      if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
    }
  }
  await closeEra(t.app, 2);
  const policy = await t.app.inject({
    method: 'POST',
    url: '/v1/policies',
    headers: bearer(ADMIN_KEY),
    payload: { name: 'hostile_policy', rules: [{ id: 'r', match: { field: 'sector', op: 'eq', value: '10' }, action: { type: 'observe' } }] },
  });
  if (policy.statusCode !== 201) throw new Error(`policy: ${policy.statusCode} ${policy.body}`);
  const ownKey = async (scopes: string[]) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/me/keys', headers: bearer(author.apiKey), payload: { scopes } });
    if (res.statusCode !== 201) throw new Error(`scoped key: ${res.statusCode} ${res.body}`);
    return res.json<{ id: string; apiKey: string }>();
  };
  const readOnly = await ownKey(['read']);
  const submitOnly = await ownKey(['submit']);
  const expired = await ownKey(['all']);
  await t.database.pool.query(`update api_keys set expires_at = now() - interval '1 minute' where id = $1`, [expired.id]);
  ctx = {
    author: author.apiKey,
    readOnly: readOnly.apiKey,
    submitOnly: submitOnly.apiKey,
    expired: expired.apiKey,
    otherAuthor: otherAuthor.apiKey,
    operator: operator.apiKey,
    revoked: revoked.apiKey,
    ownModel: own.id,
    otherModel: other.id,
    accountId: author.id,
    policyId: policy.json().id,
  };
});
afterAll(async () => t.close());

/** Why a response is not a clean problem: wrong status, not problem+json, a missing member, or a leak. */
function faults(res: LightMyRequestResponse, status: number, echoes: readonly string[]): string[] {
  const found: string[] = [];
  if (res.statusCode !== status) found.push(`status ${res.statusCode}, expected ${status}`);
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) found.push(`content-type ${String(res.headers['content-type'])}`);
  let body: { type?: unknown; title?: unknown; status?: unknown; detail?: unknown } = {};
  try {
    body = res.json();
  } catch {
    found.push('body is not JSON');
  }
  for (const member of ['type', 'title', 'detail'] as const) if (typeof body[member] !== 'string' || !body[member]) found.push(`no ${member}`);
  if (body.status !== res.statusCode) found.push(`body status ${String(body.status)}`);
  for (const leak of leaksIn(res.body, echoes)) found.push(`leaks a ${leak}`);
  return found;
}

describe('hostile input', () => {
  it(`has a corpus of at least 40 requests over every write route`, () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    const writeRoutes = t.app.routeTable.filter((r) => !['GET', 'HEAD'].includes(r.method) && r.url.startsWith('/v1'));
    const covered = new Set<string>();
    for (const route of writeRoutes) {
      const pattern = new RegExp(`^${route.url.replace(/:\w+/g, '[^/]+')}(\\?.*)?$`);
      if (CORPUS.some((c) => c.method === route.method && pattern.test(c.url(ctx)))) covered.add(`${route.method} ${route.url}`);
    }
    expect(writeRoutes.map((r) => `${r.method} ${r.url}`).filter((r) => !covered.has(r))).toEqual([]);
  });

  it('answers each with a clean 4xx problem and changes nothing in the database', async () => {
    const before = await tableCounts(t.database.pool);
    const failures: string[] = [];
    for (const c of CORPUS) {
      const key = c.key ? c.key(ctx) : null;
      const res = await t.app.inject({
        method: c.method,
        url: c.url(ctx),
        headers: { ...(key ? bearer(key) : {}), ...c.headers },
        ...(c.payload ? { payload: c.payload(ctx) } : {}),
      });
      const found = faults(res, c.status, c.echoes ?? []);
      if (found.length > 0) failures.push(`${c.name}: ${found.join('; ')} — ${res.body.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    expect(await tableCounts(t.database.pool)).toEqual(before);
  });

  it('never lets an HTTP-level fuzz of the submission route crash it, and accepts only valid bodies', async () => {
    // Bodies built from a small alphabet of ids and cells, some valid, most not; the oracle is docs/concepts.md, submission.
    type Cell = { text: string; ok: boolean; value: number };
    const validCell = fc.double({ min: 0, max: 1, noNaN: true }).map((v): Cell => ({ text: String(v), ok: true, value: v }));
    const badCell = fc.constantFrom('NaN', 'inf', '-1', '2', '', 'abc', '1e400', '0x1', '0.5.5').map((text): Cell => ({ text, ok: false, value: NaN }));
    const cells = fc.oneof({ weight: 6, arbitrary: validCell }, { weight: 1, arbitrary: badCell });
    const badId = fc.constantFrom(SQL_OR, 'zz', '', 'HX00001', TRAVERSAL);
    const ids = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...IDS) }, { weight: 1, arbitrary: badId });
    const complete = fc
      .tuple(fc.shuffledSubarray(IDS, { minLength: IDS.length }), fc.array(validCell, { minLength: IDS.length, maxLength: IDS.length }))
      .map(([order, cs]) => order.map((id, i): [string, Cell] => [id, cs[i]]));
    // A complete, valid body with one fault put in: a bad cell, a bad id, a dropped or a repeated row.
    const oneFault = fc.tuple(complete, fc.nat(IDS.length - 1), fc.integer({ min: 0, max: 3 }), badCell, badId).map(([rows, at, kind, cell, id]) => {
      const out = rows.slice();
      if (kind === 0) out[at] = [out[at][0], cell];
      if (kind === 1) out[at] = [id, out[at][1]];
      if (kind === 2) out.splice(at, 1);
      if (kind === 3) out.push(out[at]);
      return out;
    });
    const body = fc.oneof(fc.array(fc.tuple(ids, cells), { maxLength: 36 }), complete, oneFault);
    const before = await tableCounts(t.database.pool);
    let created = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), fc.boolean(), async (rows, asJson, crlf) => {
        const valid =
          rows.length > 0 &&
          rows.every(([id, cell]) => IDS.includes(id) && cell.ok) &&
          new Set(rows.map(([id]) => id)).size === rows.length &&
          rows.length === IDS.length &&
          new Set(rows.map(([, cell]) => cell.value)).size > 1;
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/models/${ctx.ownModel}/submissions?era=1`,
          headers: { ...bearer(ctx.author), 'content-type': asJson ? 'application/json' : 'text/csv' },
          payload: asJson
            ? `{"rows": [${rows.map(([id, cell]) => `{"id": ${JSON.stringify(id)}, "prediction": ${cell.ok ? cell.text : JSON.stringify(cell.text)}}`).join(',')}]}`
            : `id,prediction${crlf ? '\r\n' : '\n'}${rows.map(([id, cell]) => `${id},${cell.text}`).join(crlf ? '\r\n' : '\n')}`,
        });
        expect(res.statusCode).toBeLessThan(500);
        if (valid) {
          expect([200, 201]).toContain(res.statusCode);
          accepted++;
          if (res.statusCode === 201) created++;
        } else {
          expect(faults(res, 400, rows.map(([id]) => id))).toEqual([]);
        }
      }),
      { numRuns: 150, seed: 20261124 },
    );
    const after = await tableCounts(t.database.pool);
    expect(accepted).toBeGreaterThan(0);
    expect(after.submissions - before.submissions).toBe(created);
    // Each new submission announces itself to its owner (submission.received); nothing else changes.
    expect(after.events - before.events).toBe(created);
    expect({ ...after, submissions: 0, events: 0 }).toEqual({ ...before, submissions: 0, events: 0 });
  });

  it('never writes the marker placed in bodies, universe attributes and keys to the log', () => {
    const text = log.text();
    // The log really was written at trace level, a line per request and more.
    expect(text.match(/"msg":"request completed"/g)?.length ?? 0).toBeGreaterThan(CORPUS.length + 150);
    expect(text).toContain('"msg":"incoming request"');
    const lines = text.split('\n').filter((line) => line.includes(MARKER));
    expect(lines.slice(0, 3)).toEqual([]);
  });
});
