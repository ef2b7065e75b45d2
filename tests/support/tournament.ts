import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { bearer } from './app.js';
import { createEra, putUniverse, submitCsv } from './fixtures.js';
import type { Series } from './numerai-tools.js';

/** Drives eras of a tournament through the API with one operator and one author key. */
export function tournament(app: FastifyInstance, keys: { operator: string; author: string }) {
  const csvOf = (series: Series, header = 'id,prediction') => `${header}\n${[...series].map(([id, v]) => `${id},${v}`).join('\n')}\n`;

  return {
    async openEra(number: number, ids: string[], extra: Record<string, unknown> = {}) {
      await createEra(app, { number, ...extra }, keys.operator);
      await putUniverse(app, number, ids, keys.operator);
    },

    async submit(modelId: string, era: number, predictions: Series, late = false) {
      const res = await submitCsv(app, keys.author, modelId, era, csvOf(predictions));
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().late).toBe(late);
      return res.json<{ id: string }>();
    },

    async close(era: number) {
      const res = await app.inject({ method: 'POST', url: `/v1/eras/${era}/close`, headers: bearer(keys.operator) });
      expect(res.statusCode, res.body).toBe(200);
    },

    /** One multi-target upload as CSV: every target a new version. */
    async putTargets(era: number, targets: Record<string, Series>) {
      const names = Object.keys(targets);
      const ids = [...targets[names[0]].keys()];
      const body = `id,${names.join(',')}\n${ids.map((id) => [id, ...names.map((n) => targets[n].get(id))].join(',')).join('\n')}\n`;
      const res = await app.inject({ method: 'PUT', url: `/v1/eras/${era}/targets`, headers: { ...bearer(keys.operator), 'content-type': 'text/csv' }, payload: body });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ era: number; targets: { target: string; version: number; count: number }[]; scored: number }>();
    },

    async putTarget(era: number, name: string, target: Series) {
      const res = await app.inject({
        method: 'PUT',
        url: `/v1/eras/${era}/targets/${name}`,
        headers: { ...bearer(keys.operator), 'content-type': 'text/csv' },
        payload: csvOf(target, 'id,target'),
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ era: number; target: string; version: number; count: number; scored: number }>();
    },

    async resolve(era: number) {
      const res = await app.inject({ method: 'POST', url: `/v1/eras/${era}/resolve`, headers: bearer(keys.operator) });
      expect(res.statusCode, res.body).toBe(200);
    },

    async eraScores(era: number, target: string, version?: number) {
      const query = `target=${target}${version === undefined ? '' : `&version=${version}`}`;
      const res = await app.inject({ method: 'GET', url: `/v1/eras/${era}/scores?${query}`, headers: bearer(keys.operator) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ era: number; target: string; version: number; scores: ServedScore[] }>();
    },

    async performance(modelId: string, target?: string) {
      const res = await app.inject({ method: 'GET', url: `/v1/models/${modelId}/performance${target ? `?target=${target}` : ''}`, headers: bearer(keys.operator) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<ServedPerformance>();
    },

    async leaderboard(query: string) {
      const res = await app.inject({ method: 'GET', url: `/v1/leaderboard${query}`, headers: bearer(keys.author) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<ServedLeaderboard>();
    },
  };
}

export interface ServedScore {
  modelId: string;
  model: string;
  submissionId: string;
  late: boolean;
  status: string;
  corr: number | null;
  mmc: number | null;
  stake: string | null;
  payout: string | null;
}

interface ServedSummary {
  mean: number | null;
  std: number | null;
  sharpe: number | null;
  maxDrawdown: number | null;
}

export interface ServedPerformance {
  modelId: string;
  model: string;
  target: string;
  eras: { era: number; corr: number | null; mmc: number | null; stake: string | null; payout: string | null }[];
  corr: ServedSummary;
  mmc: ServedSummary;
  payout: { total: string; return: number | null };
}

export interface ServedLeaderboard {
  target: string;
  window: number;
  eras: number[];
  total: number;
  rows: { rank: number; model: string; eras: number; corrRep: number; mmcRep: number; score: number; stake: string | null }[];
}
