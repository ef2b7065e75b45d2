import type { FastifyInstance } from 'fastify';
import { ADMIN_KEY, bearer, createAccount } from './app.js';
import { createEra, createModel, predictionsCsv, rng, submitCsv } from './fixtures.js';
import { closeEra, setStake } from './metamodel.js';
import { putUniverseRows, type UniverseJsonRow } from './policies.js';

const SECTORS = ['10', '15', '20', '25', '30', '35', '40', '45', '50', '55'];
const TARGET_BINS = [0, 0.25, 0.5, 0.75, 1];

export const REPORT_POLICY = {
  name: 'ethical-core',
  description: 'PAB-style product exclusions, half sector neutral',
  mode: 'enforce',
  rules: [
    {
      id: 'tobacco',
      description: 'tobacco tag',
      rationale: 'Tobacco products harm health; excluded by most ethical mandates',
      reference: 'EU PAB Art. 12(1)(b)',
      match: { field: 'tags', op: 'contains', value: 'tobacco' },
      action: { type: 'exclude' },
    },
    { id: 'controversial-weapons', description: 'controversial weapons tag', match: { field: 'tags', op: 'contains', value: 'controversial_weapons' }, action: { type: 'exclude' } },
    {
      id: 'thermal-coal',
      description: 'thermal coal revenue ≥ 1 %',
      rationale: 'Coal is the first asset the transition strands',
      reference: 'EU PAB Art. 12(1)(d)',
      match: { field: 'attributes.thermal_coal_revenue_share', op: 'gte', value: 0.01 },
      action: { type: 'exclude' },
    },
    { id: 'defense-watch', description: 'defense tag', match: { field: 'tags', op: 'contains', value: 'defense' }, action: { type: 'observe' } },
  ],
  neutralize: { by: 'sector', proportion: 0.5 },
};

/** The second version, scheduled from era 5: severe controversies at half weight. */
export const REPORT_POLICY_V2 = {
  ...REPORT_POLICY,
  description: 'PAB-style product exclusions, controversies halved, half sector neutral',
  rules: [
    ...REPORT_POLICY.rules,
    {
      id: 'controversy',
      description: 'controversy score ≥ 4',
      rationale: 'Severe, unresolved controversies get half the weight until resolved',
      match: { field: 'attributes.controversy', op: 'gte', value: 4 },
      action: { type: 'scale', multiplier: 0.5 },
    },
  ],
};

/** n ids over ten sectors, the last two too small to show (folded into 'other'), with rule-matching tags. */
export function reportUniverse(era: number, n: number): UniverseJsonRow[] {
  return Array.from({ length: n }, (_, i) => {
    const sector = i % 50 === 49 ? SECTORS[9] : i % 50 === 48 ? SECTORS[8] : SECTORS[i % 8];
    const tags = [...(i % 17 === 3 ? ['tobacco'] : []), ...(i % 29 === 11 ? ['controversial_weapons', 'defense'] : []), ...(i % 13 === 6 ? ['defense'] : [])];
    return { id: `pg${era}i${String(i).padStart(4, '0')}`, sector, industry: `${sector}1010`, country: 'US', tags, attributes: { thermal_coal_revenue_share: i % 23 === 9 ? 0.04 : 0, carbon_intensity: Math.round((((i * 37) % 101) / 100 + (sector === '10' ? 0.5 : 0)) * 1000) / 1000, controversy: (i * 7) % 6 } };
  });
}

export interface SeededEras {
  eras: number[];
  /** every id, model id and name, account id and name the seed created: none may appear publicly */
  secrets: string[];
}

/**
 * Closed eras as a running service would have them: a dozen staked models that lean by sector
 * (large stakes towards 10, small ones towards 25), stakes drifting towards the largest, an
 * exclusion policy from the third era on, and targets for all eras but the last.
 */
export async function seedReportEras(app: FastifyInstance, options: { eras?: number; ids?: number; models?: number } = {}): Promise<SeededEras> {
  const eraCount = options.eras ?? 5;
  const n = options.ids ?? 200;
  const modelCount = options.models ?? 12;
  const operator = await createAccount(app, 'operator');
  const author = await createAccount(app, 'author');
  const checker = await createAccount(app, 'admin');
  const secrets = [operator.id, operator.name, author.id, author.name, checker.id, checker.name];
  const random = rng(2024);
  const models = [];
  for (let k = 0; k < modelCount; k++) {
    const model = await createModel(app, author.apiKey, `page_model_${k}`, String(Math.round(20_000 / (k + 1) ** 1.6)));
    models.push(model);
    secrets.push(model.id, model.name);
  }
  const eras: number[] = [];
  for (let era = 1; era <= eraCount; era++) {
    if (era === 3) {
      const created = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: REPORT_POLICY });
      if (created.statusCode !== 201) throw new Error(`policy: ${created.statusCode} ${created.body}`);
      const { id } = created.json<{ id: string }>();
      const activated = await app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker.apiKey), payload: { reason: 'first rules: PAB product exclusions' } });
      if (activated.statusCode !== 200) throw new Error(`activate: ${activated.statusCode} ${activated.body}`);
    }
    if (era === 4) {
      // Scheduled while era 4 is open: era 4 closes under v1, era 5 under v2.
      const created = await app.inject({ method: 'POST', url: '/v1/policies', headers: bearer(ADMIN_KEY), payload: REPORT_POLICY_V2 });
      if (created.statusCode !== 201) throw new Error(`policy v2: ${created.statusCode} ${created.body}`);
      const { id } = created.json<{ id: string }>();
      const activated = await app.inject({ method: 'POST', url: `/v1/policies/${id}/activate`, headers: bearer(checker.apiKey), payload: { reason: 'board decision: halve severe controversies', fromEra: 5 } });
      if (activated.statusCode !== 200) throw new Error(`activate v2: ${activated.statusCode} ${activated.body}`);
    }
    if (era > 1) await setStake(app, author.apiKey, models[0].id, String(20_000 + 6_000 * (era - 1)));
    await createEra(app, { number: era, mainTarget: 'target' }, operator.apiKey);
    const rows = reportUniverse(era, n);
    await putUniverseRows(app, era, rows, operator.apiKey);
    const ids = rows.map((r) => r.id);
    secrets.push(...ids);
    for (const [k, model] of models.entries()) {
      const favourite = k < 3 ? '10' : '25';
      const values = rows.map((r) => Math.round(Math.min(1, Math.max(0, 0.3 + (r.sector === favourite ? 0.3 : 0) + 0.4 * random())) * 1e6) / 1e6);
      const res = await submitCsv(app, author.apiKey, model.id, era, predictionsCsv(ids, values));
      if (res.statusCode !== 201) throw new Error(`submission: ${res.statusCode} ${res.body}`);
    }
    await closeEra(app, era, operator.apiKey);
    if (era < eraCount) {
      // The main target rewards sector 10 (where the large stakes lean), cyrus_60 sector 25.
      for (const [target, rewarded] of [['target', '10'], ['cyrus_60', '25']]) {
        const values = rows.map((r) => TARGET_BINS[Math.min(4, Math.floor(random() * 4) + (r.sector === rewarded ? 1 : 0))]);
        const csv = `id,target\n${ids.map((id, i) => `${id},${values[i]}`).join('\n')}\n`;
        const res = await app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets/${target}`, headers: { ...bearer(operator.apiKey), 'content-type': 'text/csv' }, payload: csv });
        if (res.statusCode !== 200) throw new Error(`target: ${res.statusCode} ${res.body}`);
      }
    }
    eras.push(era);
  }
  return { eras, secrets };
}
