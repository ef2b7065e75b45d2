import type { BundleModel } from './bundle.js';
import { fromUnits, toUnits } from './decimal.js';

/** One payout or burn of an era in the ledger, by model name. */
export type LedgerSettlement = {
  model: string;
  kind: 'payout' | 'burn';
  delta: string;
  note: string | null;
};

/** Where the ledger and an era's sealed bundle disagree: the era, the model if one, and both figures. */
export interface Mismatch {
  era: number;
  model: string | null;
  problem: string;
}

const units = (decimal: string | null) => {
  try {
    return decimal === null ? null : toUnits(decimal);
  } catch {
    return null;
  }
};

/**
 * The ledger's payouts and burns of an era against its bundle: every model the bundle pays
 * (`payout` not null, a burn when negative) has exactly that delta in the ledger, no other model
 * has one, and the era's total moved equals the bundle's sum and, when given, the total its
 * resolution recorded in the audit log.
 */
export function reconcileEra(
  era: number,
  bundleModels: readonly Pick<BundleModel, 'model' | 'payout'>[],
  ledger: readonly LedgerSettlement[],
  recordedTotal: string | null,
): Mismatch[] {
  const found: Mismatch[] = [];
  const byModel = new Map(ledger.map((s) => [s.model, s]));
  let bundleTotal = 0n;
  let ledgerTotal = 0n;
  for (const s of ledger) ledgerTotal += units(s.delta) ?? 0n;
  const moved = (s: LedgerSettlement) => `the ledger ${s.kind === 'burn' ? 'burned' : 'paid'} ${s.delta}${s.note ? ` (its note: ${s.note})` : ''}`;

  for (const { model, payout } of bundleModels) {
    const entry = byModel.get(model);
    byModel.delete(model);
    const expected = units(payout);
    if (expected !== null) bundleTotal += expected;
    if (entry === undefined) {
      if (payout !== null) found.push({ era, model, problem: `the bundle's payout is ${payout} but the ledger holds no payout or burn` });
      continue;
    }
    if (payout === null) {
      found.push({ era, model, problem: `${moved(entry)} but the bundle has no payout for it` });
    } else if (units(entry.delta) !== expected) {
      found.push({ era, model, problem: `${moved(entry)} but the bundle's payout is ${payout}` });
    }
  }
  for (const entry of byModel.values()) found.push({ era, model: entry.model, problem: `${moved(entry)} but the model is not in the era's bundle` });

  if (ledgerTotal !== bundleTotal) {
    found.push({ era, model: null, problem: `the ledger's settlement total is ${fromUnits(ledgerTotal)} but the bundle's payouts sum to ${fromUnits(bundleTotal)}` });
  }
  if (recordedTotal !== null && units(recordedTotal) !== ledgerTotal) {
    found.push({ era, model: null, problem: `the ledger's settlement total is ${fromUnits(ledgerTotal)} but the era's resolution recorded ${recordedTotal} in the audit log` });
  }
  return found;
}
