import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, createTestApp, type TestApp } from '../support/app.js';
import { createEra, createModel, liveIds, predictionsCsv, putUniverse, submitCsv } from '../support/fixtures.js';

/*
 * An identical re-send returns the first receipt (200, the same submission), whenever it comes:
 * while the era is open, after it closed and after it resolved. A different body after close is
 * still a new, late submission.
 */

let t: TestApp;
let operatorKey: string;
let authorKey: string;
const ids = liveIds(40, 'rs');
const values = (shift: number) => ids.map((_, i) => ((i * 7 + shift) % 40) / 40 + 0.01);
const targetCsv = `id,target\n${ids.map((id, i) => `${id},${[0, 0.25, 0.5, 0.75, 1][i % 5]}`).join('\n')}\n`;

const staff = (method: 'POST' | 'PUT', url: string, payload?: string) =>
  t.app.inject({ method, url, headers: { ...bearer(operatorKey), ...(payload ? { 'content-type': 'text/csv' } : {}) }, payload });

beforeAll(async () => {
  t = await createTestApp();
  operatorKey = (await createAccount(t.app, 'operator')).apiKey;
  authorKey = (await createAccount(t.app, 'author')).apiKey;
});
afterAll(async () => t.close());

describe('identical re-sends', () => {
  it('return the first receipt while open, after close and after resolution', async () => {
    const model = await createModel(t.app, authorKey, 'resender', '100');
    await createEra(t.app, { number: 1, minCoverage: 1 }, operatorKey);
    await putUniverse(t.app, 1, ids, operatorKey);
    const body = predictionsCsv(ids, values(0));
    const first = await submitCsv(t.app, authorKey, model.id, 1, body);
    expect(first.statusCode, first.body).toBe(201);
    const receipt = first.json();
    expect(receipt.late).toBe(false);

    const whileOpen = await submitCsv(t.app, authorKey, model.id, 1, body);
    expect(whileOpen.statusCode, whileOpen.body).toBe(200);
    expect(whileOpen.json()).toEqual(receipt);

    expect((await staff('POST', '/v1/eras/1/close')).statusCode).toBe(200);
    const afterClose = await submitCsv(t.app, authorKey, model.id, 1, body);
    expect(afterClose.statusCode, afterClose.body).toBe(200);
    expect(afterClose.json()).toEqual(receipt);

    const target = await staff('PUT', '/v1/eras/1/targets/target', targetCsv);
    expect(target.statusCode, target.body).toBe(200);
    expect((await staff('POST', '/v1/eras/1/resolve')).statusCode).toBe(200);
    const afterResolve = await submitCsv(t.app, authorKey, model.id, 1, body);
    expect(afterResolve.statusCode, afterResolve.body).toBe(200);
    expect(afterResolve.json()).toEqual(receipt);

    const listed = await t.app.inject({ method: 'GET', url: `/v1/models/${model.id}/submissions`, headers: bearer(authorKey) });
    expect(listed.json().submissions.map((s: { id: string }) => s.id)).toEqual([receipt.id]);
  });

  it('after close, a different body is a late submission, and its own re-send returns it', async () => {
    const model = await createModel(t.app, authorKey, 'changer', '100');
    await createEra(t.app, { number: 2, minCoverage: 1 }, operatorKey);
    await putUniverse(t.app, 2, ids, operatorKey);
    const onTime = await submitCsv(t.app, authorKey, model.id, 2, predictionsCsv(ids, values(0)));
    expect(onTime.statusCode, onTime.body).toBe(201);
    expect((await staff('POST', '/v1/eras/2/close')).statusCode).toBe(200);

    const late = await submitCsv(t.app, authorKey, model.id, 2, predictionsCsv(ids, values(3)));
    expect(late.statusCode, late.body).toBe(201);
    expect(late.json().late).toBe(true);
    const lateAgain = await submitCsv(t.app, authorKey, model.id, 2, predictionsCsv(ids, values(3)));
    expect(lateAgain.statusCode, lateAgain.body).toBe(200);
    expect(lateAgain.json().id).toBe(late.json().id);

    // Going back to the on-time content is a change of mind after the late one: a new late submission.
    const back = await submitCsv(t.app, authorKey, model.id, 2, predictionsCsv(ids, values(0)));
    expect(back.statusCode, back.body).toBe(201);
    expect(back.json().late).toBe(true);
    expect(back.json().id).not.toBe(onTime.json().id);
  });
});
