import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

interface Operation {
  summary?: string;
  description?: string;
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  $ref?: string;
}
interface Spec {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

let t: TestApp;
let spec: Spec;
beforeAll(async () => {
  t = await createTestApp();
  spec = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<Spec>();
});
afterAll(async () => t.close());

describe('the API docs', () => {
  it('open with a getting-started paragraph: keys, the first admin key, a round from era to resolution', () => {
    const text = spec.info.description;
    expect(text).toContain('Getting started');
    for (const step of ['Authorization: Bearer', 'BOOTSTRAP_ADMIN_KEY', 'POST /v1/accounts', 'PUT /v1/eras/{number}/universe', 'POST /v1/models/{modelId}/submissions', 'resolves']) {
      expect(text).toContain(step);
    }
  });

  it('describe the rule language on POST /v1/policies: every op, every action, the order', () => {
    const text = spec.paths['/v1/policies'].post.description ?? '';
    for (const op of ['eq', 'neq', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'prefix', 'contains', 'exists', 'missing']) expect(text).toContain(`\`${op}\``);
    for (const action of ['"exclude"', '"side": "long"', '"scale"', '"observe"', 'neutralize', 'groupCap', 'onMissingData', 'shadow']) expect(text).toContain(action);
    expect(text).toMatch(/observe → exclude \(both sides\) → scale → neutralize → the hard constraints held together on the final signal \(side-limited exclusions, groupCap, and neutralize with proportion 1/);
  });

  it('explain each payout parameter of an era', () => {
    const body = spec.paths['/v1/eras'].post.requestBody!.content['application/json'].schema;
    const payout = body.properties!.payout;
    expect(payout.description).toContain('pf = min(1, stakeThreshold / Σ at-risk stakes)');
    for (const name of ['corrMultiplier', 'mmcMultiplier', 'clip', 'stakeThreshold']) expect(payout.properties![name].description).toMatch(/default/);
  });

  it('say in words when a close snapshots the stakes', () => {
    const close = spec.paths['/v1/eras/{number}/close'].post.description ?? '';
    expect(close).toContain('the earlier of closesAt and now');
    expect(close).not.toContain('least(');
  });

  it('describe the header-driven universe CSV', () => {
    const text = spec.paths['/v1/eras/{number}/universe'].put.description ?? '';
    expect(text).toContain('`id` is required');
    expect(text).toContain('any order');
  });
});
