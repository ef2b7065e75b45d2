import type { Database } from '../db/client.js';
import { auditEntriesAfter, resolutionTotals } from '../db/audit.js';
import { detachedEras } from '../db/archive.js';
import { type ChainLink, chainLinks, storedBundle, unsealedEras } from '../db/bundles.js';
import { eraSettlements, settledEras } from '../db/ledger.js';
import { bundleDigest, unsealed, type SealedBundle } from '../domain/bundle.js';
import { auditEntryDigest, canonicalJson, chainDigest, differences, GENESIS, type Difference } from '../domain/chain.js';
import { reconcileEra, type Mismatch } from '../domain/reconcile.js';
import { moneyTotals } from '../db/wallets.js';
import { fromUnits } from '../domain/decimal.js';
import { imbalance } from '../domain/wallet.js';
import type { BundlesService } from './bundles.js';
import type { ErasService } from './eras.js';

/** The first place a chain stops holding: which era or entry, and what differs. */
export interface ChainBreak {
  /** `era N` or `audit entry N` */
  at: string;
  problem: string;
  differences?: { first: Difference[]; count: number };
}

export interface ChainReport {
  /** links checked before the break (all of them when there is none) */
  checked: number;
  head: string | null;
  break: ChainBreak | null;
}

/** The ledger's payouts and burns against the sealed bundles. */
export interface LedgerReport {
  /** eras whose payouts and burns were compared with their bundle */
  eras: number;
  /** eras with payouts or burns but no readable bundle (resolved before bundles, or a broken bundle the chain check reports) */
  unbundled: number[];
  mismatches: Mismatch[];
}

/**
 * Conservation (docs/stakes.md): Σ wallet balances + Σ model balances = Σ credits − Σ completed
 * withdrawals + Σ payouts − Σ burns, every figure an exact decimal string; `imbalance` is the left
 * side less the right, "0" when money is conserved.
 */
export interface MoneyReport {
  wallets: string;
  models: string;
  credits: string;
  withdrawn: string;
  payouts: string;
  burns: string;
  imbalance: string;
  conserved: boolean;
}

export interface VerifyReport {
  /**
   * `archived`: eras whose submissions and run inputs were archived (docs/operations.md); their
   * bundles are checked from their stored bytes, digest and link, not recomputed.
   */
  bundles: ChainReport & { archived: number };
  /** `unchained`: entries written before the audit log was chained, which no digest covers */
  audit: ChainReport & { unchained: number };
  ledger: LedgerReport;
  money: MoneyReport;
}

/** The money figures, read in one statement. */
export async function verifyMoney(db: Database): Promise<MoneyReport> {
  const totals = await moneyTotals(db);
  const off = imbalance(totals);
  return {
    wallets: fromUnits(totals.wallets),
    models: fromUnits(totals.models),
    credits: fromUnits(totals.credits),
    withdrawn: fromUnits(totals.withdrawn),
    payouts: fromUnits(totals.payouts),
    burns: fromUnits(totals.burns),
    imbalance: fromUnits(off),
    conserved: off === 0n,
  };
}

/** Whether the report found anything wrong. */
export const reportFails = (report: VerifyReport) => report.bundles.break !== null || report.audit.break !== null || report.ledger.mismatches.length > 0 || !report.money.conserved;

const AUDIT_BATCH = 1000;

/** What verification reads: the database, an era's row, and a bundle recomputed from the stored data. */
export interface VerifyDeps {
  db: Database;
  eras: Pick<ErasService, 'get'>;
  bundles: Pick<BundlesService, 'build'>;
}

/** Where a link of the bundle chain stops holding (its place, bytes, digests, or content recomputed), or null. */
async function bundleBreak(deps: VerifyDeps, link: ChainLink, position: number, previous: string, archived: ReadonlySet<number>): Promise<ChainBreak | null> {
  const at = `era ${link.eraNumber}`;
  if (link.position !== position) return { at, problem: `it is link ${link.position} of the chain where link ${position} should follow: a link is missing` };
  const bytes = (await storedBundle(deps.db, link.eraNumber))!;
  const text = bytes.toString('utf8');
  let stored: SealedBundle;
  try {
    stored = JSON.parse(text) as SealedBundle;
  } catch {
    return { at, problem: 'its stored bundle is not JSON any more' };
  }
  if (canonicalJson(stored) !== text) return { at, problem: 'its stored bytes are not the canonical (RFC 8785) form of the bundle they hold: they were changed' };
  const broken = linkBreak(link, stored, previous);
  if (broken) return { at, problem: broken };
  const era = await deps.eras.get(link.eraNumber);
  if (archived.has(era.number) && era.resolvedAt) return null;
  if (!era.resolvedAt) return { at, problem: 'it has a bundle but the era is no longer marked resolved' };
  const found = differences(unsealed(stored), await deps.bundles.build(deps.db, era));
  if (found.count > 0) {
    return { at, problem: `the bundle recomputed from the stored run, stakes, scores and targets differs from the sealed one in ${found.count} place(s)`, differences: found };
  }
  return null;
}

/** What is wrong with a stored bundle's digests against its link and the link before, or null. */
function linkBreak(link: ChainLink, stored: SealedBundle, previous: string): string | null {
  const digest = bundleDigest(stored);
  if (digest !== link.digest || stored.digest !== link.digest) {
    return `its stored digest ${link.digest} (in the bundle: ${stored.digest}) is not the digest of its content, ${digest}`;
  }
  if (link.previousChainDigest !== previous || stored.previousChainDigest !== previous) {
    return `it chains from ${link.previousChainDigest} (in the bundle: ${stored.previousChainDigest}) but the link before it ends in ${previous}`;
  }
  const expected = chainDigest(previous, digest);
  if (link.chainDigest !== expected || stored.chainDigest !== expected) {
    return `its chainDigest ${link.chainDigest} (in the bundle: ${stored.chainDigest}) should be SHA-256(previous ‖ digest) = ${expected}`;
  }
  return null;
}

/** Each resolved era's stored bundle (its bytes, digest and link, then the bundle recomputed from the stored data), in chain order. */
export async function verifyBundles(deps: VerifyDeps): Promise<VerifyReport['bundles']> {
  let previous = GENESIS;
  let checked = 0;
  const detached = new Set((await detachedEras(deps.db)).map((e) => e.eraNumber));
  const archived = detached.size;
  for (const link of await chainLinks(deps.db)) {
    const broken = await bundleBreak(deps, link, checked + 1, previous, detached);
    if (broken) return { checked, archived, head: previous === GENESIS ? null : previous, break: broken };
    previous = link.chainDigest;
    checked++;
  }
  const head = checked === 0 ? null : previous;
  const [unsealed] = await unsealedEras(deps.db);
  if (unsealed !== undefined) return { checked, archived, head, break: { at: `era ${unsealed}`, problem: 'it is resolved but has no bundle in the chain: its link was removed' } };
  return { checked, archived, head, break: null };
}

/** Each audit entry: its content against its digest, and its link to the entry before. */
export async function verifyAudit(db: Database): Promise<VerifyReport['audit']> {
  let previous: string | null = null;
  let checked = 0;
  let unchained = 0;
  for (let after = 0; ; ) {
    const entries = await auditEntriesAfter(db, after, AUDIT_BATCH);
    for (const entry of entries) {
      const at = `audit entry ${entry.id}`;
      const stop = (problem: string) => ({ checked, unchained, head: previous, break: { at, problem } });
      if (entry.digest === null || entry.chainDigest === null) {
        if (previous === null && checked === 0) {
          unchained++;
          continue;
        }
        return stop('it carries no digest: it was written around the service, after the log was chained');
      }
      const digest = auditEntryDigest(entry);
      if (digest !== entry.digest) return stop(`its content no longer matches its digest (stored ${entry.digest}, content now ${digest}): it was changed after it was written`);
      const expected = chainDigest(previous ?? GENESIS, entry.digest);
      if (expected !== entry.chainDigest) {
        return stop(`its chain digest ${entry.chainDigest} does not follow from the entry before it (expected ${expected}): an entry before it was removed, inserted or changed`);
      }
      previous = entry.chainDigest;
      checked++;
    }
    if (entries.length < AUDIT_BATCH) break;
    after = entries[entries.length - 1].id;
  }
  return { checked, unchained, head: previous, break: null };
}

/** Each era's payouts and burns in the ledger against its sealed bundle and its recorded settlement total. */
export async function verifyLedger(db: Database): Promise<LedgerReport> {
  const recorded = await resolutionTotals(db);
  const bundled = new Map((await chainLinks(db)).map((link) => [link.eraNumber, link]));
  const eraNumbers = [...new Set([...bundled.keys(), ...(await settledEras(db))])].sort((a, b) => a - b);
  const report: LedgerReport = { eras: 0, unbundled: [], mismatches: [] };
  for (const era of eraNumbers) {
    const models = bundled.has(era) ? sealedModels(await storedBundle(db, era)) : null;
    if (models === null) {
      report.unbundled.push(era);
      continue;
    }
    report.mismatches.push(...reconcileEra(era, models, await eraSettlements(db, era), recorded.get(era) ?? null));
    report.eras++;
  }
  return report;
}

/** Walks both chains from the database, reconciles the ledger with the bundles, and checks that money is conserved. */
export function verifyService(deps: VerifyDeps) {
  return {
    async verify(): Promise<VerifyReport> {
      return { bundles: await verifyBundles(deps), audit: await verifyAudit(deps.db), ledger: await verifyLedger(deps.db), money: await verifyMoney(deps.db) };
    },
  };
}

export type VerifyService = ReturnType<typeof verifyService>;

/** The report as lines of text, for the command line. */
export function describeReport(report: VerifyReport): string[] {
  const lines: string[] = [];
  const describe = (name: string, chain: ChainReport, unit: string) => {
    if (chain.break) {
      lines.push(`BROKEN ${name} chain at ${chain.break.at}: ${chain.break.problem}`);
      for (const d of chain.break.differences?.first ?? []) {
        lines.push(`  ${d.path}: sealed ${preview(d.stored)}, database now ${preview(d.recomputed)}`);
      }
      const more = (chain.break.differences?.count ?? 0) - (chain.break.differences?.first.length ?? 0);
      if (more > 0) lines.push(`  … and ${more} more`);
      lines.push(`  ${chain.checked} ${unit} verified before it`);
    } else {
      lines.push(`${name} chain intact: ${chain.checked} ${unit}${chain.head ? `, head ${chain.head}` : ''}`);
    }
  };
  describe('era bundle', report.bundles, 'resolved era(s)');
  if (report.bundles.archived > 0) {
    lines.push(`  (${report.bundles.archived} era(s) archived: their bundles are checked from their stored bytes and links, their submissions and run inputs are in the archive files)`);
  }
  describe('audit log', report.audit, 'entries');
  if (report.audit.unchained > 0) lines.push(`  (${report.audit.unchained} audit entries predate the chain and carry no digest)`);
  const { ledger } = report;
  if (ledger.mismatches.length > 0) {
    lines.push(`LEDGER MISMATCH: ${ledger.mismatches.length} payout(s), burn(s) or total(s) differ from the sealed bundles`);
    for (const m of ledger.mismatches.slice(0, MISMATCHES_SHOWN)) lines.push(`  era ${m.era}${m.model === null ? '' : `, model ${m.model}`}: ${m.problem}`);
    if (ledger.mismatches.length > MISMATCHES_SHOWN) lines.push(`  … and ${ledger.mismatches.length - MISMATCHES_SHOWN} more`);
  } else {
    lines.push(`ledger reconciled: the payouts and burns of ${ledger.eras} resolved era(s) match their bundles and settlement totals`);
  }
  if (ledger.unbundled.length > 0) lines.push(`  (era(s) ${ledger.unbundled.join(', ')} have payouts or burns but no readable bundle to compare with)`);
  const m = report.money;
  const terms = `wallets ${m.wallets} + models ${m.models} against credits ${m.credits} − withdrawn ${m.withdrawn} + payouts ${m.payouts} − burns ${m.burns}`;
  lines.push(m.conserved ? `money conserved: ${terms}` : `BROKEN money: ${terms} is off by ${m.imbalance}`);
  return lines;
}

const MISMATCHES_SHOWN = 20;

/** The models of a stored bundle, or null when its bytes are missing or not a bundle. */
function sealedModels(bytes: Buffer | undefined): SealedBundle['models'] | null {
  if (bytes === undefined) return null;
  try {
    const { models } = JSON.parse(bytes.toString('utf8')) as Partial<SealedBundle>;
    return Array.isArray(models) ? models : null;
  } catch {
    return null;
  }
}

function preview(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
