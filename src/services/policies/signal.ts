import { latestEraWithRun, latestRun } from '../../db/runs.js';
import { openErasWithUniverse } from '../../db/policies.js';
import { eraStatus } from '../../domain/era.js';
import type { PreviewSignal } from '../../domain/policy/era-preview.js';
import { enforcePolicy, type PolicyDocument } from '../../domain/policy/index.js';
import { decodeFloat64 } from '../../domain/packed.js';
import { AppError } from '../../errors.js';
import type { PoliciesDeps } from './deps.js';

type SignalDeps = Pick<PoliciesDeps, 'db' | 'eras' | 'openEraMetaModel'>;

/** The closed era's latest run, or for an open era the submissions so far (provisional). */
export async function eraSignal(deps: SignalDeps, number: number): Promise<{ missing: number } | { problem: string } | PreviewSignal> {
  const era = await deps.eras.get(number).catch((error: unknown) => {
    if (error instanceof AppError && error.status === 404) return null;
    throw error;
  });
  if (era === null) return { missing: number } as const;
  const status = eraStatus(era, new Date());
  if (status === 'scheduled') return { problem: `era ${number} has not opened yet; preview needs submissions` } as const;
  if (!era.universeDigest) return { problem: `era ${number} has no universe yet` } as const;
  if (status === 'open' || !era.closedAt) {
    const provisional = await deps.openEraMetaModel(number);
    if (provisional.models === 0) return { problem: `era ${number} is open but has no staked on-time submission yet` } as const;
    return { era: number, run: null, provisional: { models: provisional.models }, unconstrained: provisional.unconstrained } as const;
  }
  const run = await latestRun(deps.db, number);
  if (!run) return { problem: `era ${number} is closed but has no meta-model run yet` } as const;
  return { era: number, run: { id: run.id, seq: run.seq }, provisional: null, unconstrained: decodeFloat64(run.unconstrained) } as const;
}

/**
 * Whether a document leaves something to order on the eras it would meet first: every open era
 * with a universe and a staked on-time submission (on its provisional meta-model) and the latest
 * era with a run. Eras without a signal yet are not checked. The first conflict found, or null.
 */
export async function activationConflict(deps: SignalDeps, document: PolicyDocument): Promise<{ era: number; message: string } | null> {
  const candidates = new Set(await openErasWithUniverse(deps.db));
  const latest = await latestEraWithRun(deps.db);
  if (latest !== null) candidates.add(latest);
  for (const number of [...candidates].sort((a, b) => a - b)) {
    const signal = await eraSignal(deps, number);
    if (!('unconstrained' in signal)) continue;
    const conflict = enforcePolicy(document, await deps.eras.universeRows(number), signal.unconstrained).constraints?.conflict ?? null;
    if (conflict !== null) return { era: number, message: conflict.message };
  }
  return null;
}
