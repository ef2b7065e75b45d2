import { readFileSync } from 'node:fs';

/** The worked cases computed with numerai-tools 0.6.0 (tests/fixtures/README.md says how), typed once for every test. */
export interface NumeraiReference {
  source: string;
  tolerance: number;
  primitives: {
    tieKeptRank: { input: number[]; output: number[] };
    gaussianOfRanks: { input: number[]; output: number[] };
    power15: { input: number[]; output: number[] };
  };
  era: ReferenceEra;
}

export interface ReferenceEra {
  description: string;
  ids: string[];
  sectors: string[];
  predictions: Record<string, Record<string, number>>;
  stakes: Record<string, number>;
  target: number[];
  prepared: Record<string, number[]>;
  unconstrained: number[];
  value: number[];
  corr: Record<string, number>;
  mmc: Record<string, number>;
  payout: {
    params: { corrMultiplier: number; mmcMultiplier: number; clip: number; stakeThreshold: number };
    totalAtRisk: number;
    payouts: Record<string, number>;
  };
  exclusion: { excluded: string[]; tradable: string[]; value: number[]; mmc: Record<string, number> };
  neutralize: { by: string; proportion1: number[]; proportion05: number[] };
  stakeStats: { models: number; gini: number; nakamoto50: number; effectiveModels: number; top10Share: number };
}

export const reference = JSON.parse(
  readFileSync(new URL('../fixtures/numerai_reference.json', import.meta.url), 'utf8'),
) as NumeraiReference;
