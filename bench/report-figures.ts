/**
 * npm run bench:report [-- --ids N --attributes A --tags T --rules R]
 *
 * What the report adds to a close and to a target upload, in process: the run's figures (exposures
 * of M and of the traded value to A numeric attributes and T tags, tilts, stake figures) over N
 * ids, and the cost of a policy of R exclude rules plus sector neutralization on one target
 * (leave-one-out values, then each part's CORR). Median wall and CPU time of 7 after 2 warm-ups.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runFigures } from '../src/domain/era-report.js';
import { leaveOneOutValues, policyCost } from '../src/domain/policy/cost.js';
import { enforcePolicy, type PolicyDocument } from '../src/domain/policy/index.js';
import type { UniverseRow } from '../src/domain/universe.js';
import { rng } from '../tests/support/rng.js';

const { values: args } = parseArgs({ options: { ids: { type: 'string', default: '6000' }, attributes: { type: 'string', default: '20' }, tags: { type: 'string', default: '30' }, rules: { type: 'string', default: '10' } } });
const n = Number(args.ids);
const random = rng(6);
const universe: UniverseRow[] = Array.from({ length: n }, (_, i) => ({
  id: `id${i}`,
  sector: String(10 + (i % 11) * 5),
  industry: null,
  country: 'US',
  tags: Array.from({ length: Number(args.tags) }, (_, t) => `tag${t}`).filter(() => random() < 0.1),
  attributes: Object.fromEntries(Array.from({ length: Number(args.attributes) }, (_, a) => [`attr${a}`, random()])),
}));
const m = Float64Array.from(universe, () => random() * 2 - 1);
const target = Float64Array.from(universe, () => [0, 0.25, 0.5, 0.75, 1][Math.floor(random() * 5)]);
const policy: PolicyDocument = {
  name: 'bench',
  mode: 'enforce',
  onMissingData: 'ignore',
  rules: Array.from({ length: Number(args.rules) }, (_, r) => ({ id: `r${r}`, match: { field: 'tags', op: 'contains', value: `tag${r}` }, action: { type: 'exclude', side: 'both' } })),
  neutralize: { by: 'sector', proportion: 1 },
};
const outcome = enforcePolicy(policy, universe, m);
let tradable = 0;
for (const x of outcome.tradable) tradable += x;

/** Median wall and CPU milliseconds of 7 calls after 2 warm-ups (CPU says more on a busy host). */
function median(fn: () => void): { wallMs: number; cpuMs: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let k = 0; k < 9; k++) {
    const start = performance.now();
    const used = process.cpuUsage();
    fn();
    const spent = process.cpuUsage(used);
    if (k >= 2) {
      wall.push(performance.now() - start);
      cpu.push((spent.user + spent.system) / 1000);
    }
  }
  const mid = (xs: number[]) => +xs.sort((a, b) => a - b)[3].toFixed(1);
  return { wallMs: mid(wall), cpuMs: mid(cpu) };
}

const figures = median(() =>
  runFigures({ universe, unconstrained: m, signal: outcome.signal, value: outcome.value, tradable, observed: 0, stakes: [1, 2, 3, 4, 5, 6], totalStake: '21', policy: { name: 'bench', version: 1, document: policy }, policyReport: null, deciles: null }),
);
const leaveOneOut = median(() => leaveOneOutValues(policy, universe, m));
const parts = leaveOneOutValues(policy, universe, m);
const cost = median(() => policyCost(m, outcome.value, parts, target));
console.log(JSON.stringify({ ids: n, attributes: Number(args.attributes), tags: Number(args.tags), rules: Number(args.rules), runFigures: figures, leaveOneOut, costPerTarget: cost }));
