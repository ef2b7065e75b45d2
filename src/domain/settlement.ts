import { EMPTY_HEAD, changeAmount, headAfter, release, settle, type Entry, type OpenRelease, type StakeHead } from './stake.js';

/**
 * Settlement: the stake rules (domain/stake.ts) applied to what the ledger holds, as the entries,
 * release updates and wallet returns to write. Pure: services/settlement.ts reads the state
 * through db/ledger.ts, computes here and writes what comes back.
 */

/** A ledger entry to write, with the head it follows (the database checks the chain). */
export interface WrittenEntry {
  modelId: string;
  previous: StakeHead;
  entry: Entry;
  /** when the entry is stamped; the insert's clock_timestamp() when absent */
  at?: string;
}

/** Released stake going back to its owner's wallet (zero when burns took it all). */
export interface WalletReturn {
  accountId: string;
  modelId: string;
  amount: bigint;
}

/** A pending release after settlement: what is left of it, and whether it left the model. */
export interface TouchedRelease {
  remaining: bigint;
  released: boolean;
}

/**
 * What setting a model's amount to `target` does: nothing (null), a deposit of the raise (paid from
 * the owner's wallet), or a lowering: the difference becomes a pending release.
 */
export function planStakeChange(head: StakeHead, target: bigint): { kind: 'deposit'; entry: Entry } | { kind: 'lowering'; entry: Entry; release: bigint } | null {
  const change = changeAmount(head, target);
  if (!change) return null;
  return change.entry.kind === 'deposit' ? { kind: 'deposit', entry: change.entry } : { kind: 'lowering', entry: change.entry, release: change.release };
}

/**
 * The entries of a lowering once its release exists (`releaseId`): the request, and, when it waits
 * for no era, the release leaving at once with its amount returned to the wallet.
 */
export function lowerStake(
  input: { modelId: string; accountId: string; head: StakeHead; entry: Entry; release: bigint; releaseId: string; waitsForEras: readonly number[]; at: string },
): { written: WrittenEntry[]; releasedNow: boolean; returned: WalletReturn[] } {
  const { modelId, accountId, head, releaseId, at } = input;
  const requested: Entry = { ...input.entry, releaseId };
  const written: WrittenEntry[] = [{ modelId, previous: head, entry: requested, at }];
  if (input.waitsForEras.length > 0) return { written, releasedNow: false, returned: [] };
  const after = headAfter(requested);
  written.push({ modelId, previous: after, entry: release(after, { id: releaseId, remaining: input.release }, null), at });
  return { written, releasedNow: true, returned: [{ accountId, modelId, amount: input.release }] };
}

/** What an era's resolution reads: each model's head and pending releases (oldest first), and the releases due with it. */
export interface LedgerState {
  heads: ReadonlyMap<string, StakeHead>;
  open: ReadonlyMap<string, readonly OpenRelease[]>;
  /** releases whose last awaited era is this one, by model then id */
  due: readonly { id: string; modelId: string; accountId: string }[];
}

export interface EraSettlement {
  written: WrittenEntry[];
  touched: Map<string, TouchedRelease>;
  returns: WalletReturn[];
  /** each paying model's delta: a burn is cut at its balance */
  settled: Map<string, bigint>;
  /** Σ delta of the payouts and burns */
  total: bigint;
}

const byModelId = (a: { modelId: string }, b: { modelId: string }) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0);

/**
 * An era's resolution on the ledger: each payout or burn settled against its model's balance (a
 * burn takes from the amount, then from pending releases, oldest first), in model order; then every
 * release due leaves its model with what burns left of it, returned to its owner's wallet.
 */
export function settleEra(era: number, payouts: readonly { modelId: string; payout: bigint }[], state: LedgerState): EraSettlement {
  const heads = new Map(state.heads);
  const open = new Map([...state.open].map(([modelId, releases]) => [modelId, releases.map((r) => ({ ...r }))]));
  const touched = new Map<string, TouchedRelease>();
  const written: WrittenEntry[] = [];
  const settled = new Map<string, bigint>();
  let total = 0n;

  const append = (modelId: string, entry: Entry) => {
    written.push({ modelId, previous: heads.get(modelId) ?? EMPTY_HEAD, entry });
    heads.set(modelId, headAfter(entry));
  };
  for (const { modelId, payout } of [...payouts].sort(byModelId)) {
    const releases = open.get(modelId) ?? [];
    const { entry, taken } = settle(heads.get(modelId) ?? EMPTY_HEAD, releases, era, payout);
    for (const { id, amount } of taken) {
      const taking = releases.find((r) => r.id === id)!;
      taking.remaining -= amount;
      touched.set(id, { remaining: taking.remaining, released: false });
    }
    append(modelId, entry);
    settled.set(modelId, entry.delta);
    total += entry.delta;
  }
  const returns: WalletReturn[] = [];
  for (const { id, modelId, accountId } of state.due) {
    const leaving = (open.get(modelId) ?? []).find((r) => r.id === id);
    if (!leaving) throw new RangeError(`release ${id} of model ${modelId} is due but not pending`);
    append(modelId, release(heads.get(modelId) ?? EMPTY_HEAD, leaving, era));
    touched.set(id, { remaining: leaving.remaining, released: true });
    returns.push({ accountId, modelId, amount: leaving.remaining });
  }
  return { written, touched, returns, settled, total };
}
