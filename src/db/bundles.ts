import { asc, between, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { eraBundles } from './schema.js';
import { latestTargets } from './targets.js';
import { LOCK_CLASS } from './locks.js';

/** The era's targets as its bundle and its verification read them: the latest version of each name, in name order. */
export async function bundleTargets(executor: Executor, era: number): Promise<{ name: string; values: Buffer }[]> {
  return (await latestTargets(executor, era)).map(({ name, values }) => ({ name, values }));
}

/** The latest run of an era (the one traded and scored against) and the policy it applied. */
export async function bundleRun(executor: Executor, era: number) {
  const { rows } = await executor.execute<{
    unconstrained: Buffer;
    value: Buffer;
    policyName: string | null;
    policyVersion: number | null;
    policyDocument: unknown;
  }>(sql`
    select r.unconstrained, r.value, p.name as "policyName", p.version as "policyVersion", p.document as "policyDocument"
    from meta_model_runs r left join policies p on p.id = r.policy_id
    where r.era_number = ${era} order by r.seq desc limit 1`);
  return rows[0];
}

/**
 * The closing run's inputs (the at-risk stakes) by model name, each with its score and payout
 * on the main target, and their total.
 */
export async function bundleModels(executor: Executor, era: number, mainTarget: string) {
  const { rows } = await executor.execute<{
    model: string;
    stake: string;
    submissionSha256: string;
    corr: number | null;
    mmc: number | null;
    payout: string | null;
  }>(sql`
    -- The main target's latest set unpacked once, then joined by submission (a join into the view
    -- per input was planned as a nested loop: every input against every score, a minute at 10,000).
    with sc as materialized (
      select submission_id, corr, mmc, payout from scores
      where era_number = ${era} and target = ${mainTarget}
        and target_version = (select max(version) from targets where era_number = ${era} and name = ${mainTarget}))
    select m.name as model, ri.stake::text as stake, ri.sha256 as "submissionSha256", sc.corr, sc.mmc, sc.payout::text as payout
    from meta_model_runs r
    join run_inputs ri on ri.run_id = r.id and ri.era_number = ${era}
    join models m on m.id = ri.model_id
    left join sc on sc.submission_id = ri.submission_id
    where r.era_number = ${era} and r.seq = 1
    order by m.name`);
  const { rows: total } = await executor.execute<{ total: string }>(sql`
    select trim_scale(coalesce(sum(ri.stake), 0))::text as total
    from meta_model_runs r join run_inputs ri on ri.run_id = r.id and ri.era_number = ${era}
    where r.era_number = ${era} and r.seq = 1`);
  return { models: rows, totalAtRisk: total[0].total };
}

export interface ChainLink {
  eraNumber: number;
  position: number;
  digest: string;
  previousChainDigest: string;
  chainDigest: string;
}

const LINK_COLUMNS = {
  eraNumber: eraBundles.eraNumber,
  position: eraBundles.position,
  digest: eraBundles.digest,
  previousChainDigest: eraBundles.previousChainDigest,
  chainDigest: eraBundles.chainDigest,
};

/**
 * The last link of the chain, after taking the chain's lock for the rest of the transaction:
 * the caller appends the next link before it commits, so links follow the order of resolution.
 */
export async function lockChainHead(executor: Executor): Promise<ChainLink | undefined> {
  // The chain shares the stake lock: sealing runs inside a resolution, which already holds it.
  await executor.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS.stake}, 0)`);
  const [head] = await executor.select(LINK_COLUMNS).from(eraBundles).orderBy(desc(eraBundles.position)).limit(1);
  return head;
}

export async function insertBundle(executor: Executor, link: ChainLink & { content: Buffer }): Promise<void> {
  await executor.insert(eraBundles).values(link);
}

export async function storedBundle(executor: Executor, era: number): Promise<Buffer | undefined> {
  const [row] = await executor.select({ content: eraBundles.content }).from(eraBundles).where(eq(eraBundles.eraNumber, era));
  return row?.content;
}

/** Every link in chain order, without the bundles' bytes. */
export async function chainLinks(executor: Executor): Promise<ChainLink[]> {
  return executor.select(LINK_COLUMNS).from(eraBundles).orderBy(asc(eraBundles.position));
}

/** Each resolved era's chain digest, for the public reports. */
export async function chainDigests(executor: Executor, eras: { from: number; to: number }): Promise<Map<number, string>> {
  const rows = await executor
    .select({ era: eraBundles.eraNumber, chainDigest: eraBundles.chainDigest })
    .from(eraBundles)
    .where(between(eraBundles.eraNumber, eras.from, eras.to));
  return new Map(rows.map((r) => [r.era, r.chainDigest]));
}

/** Resolved eras without a bundle, resolved no earlier than the first era that has one (older ones predate bundles). */
export async function unsealedEras(executor: Executor): Promise<number[]> {
  const { rows } = await executor.execute<{ number: number }>(sql`
    select e.number from eras e
    where e.resolved_at >= (select min(s.resolved_at) from era_bundles b join eras s on s.number = b.era_number)
      and not exists (select 1 from era_bundles b where b.era_number = e.number)
    order by e.resolved_at, e.number`);
  return rows.map((r) => r.number);
}

/** The chain's length and its last link's chain digest, in one statement (one snapshot). */
export async function bundleChainHead(executor: Executor): Promise<{ count: number; chainDigest: string | null }> {
  const { rows } = await executor.execute<{ count: number; chainDigest: string | null }>(sql`
    select count(*)::int as count, (select chain_digest from era_bundles order by position desc limit 1) as "chainDigest" from era_bundles`);
  return rows[0];
}

/** The chain digest of the link at `position` (1 is the first era resolved with a bundle), if there is one. */
export async function bundleChainDigestAt(executor: Executor, position: number): Promise<string | undefined> {
  const [row] = await executor.select({ chainDigest: eraBundles.chainDigest }).from(eraBundles).where(eq(eraBundles.position, position));
  return row?.chainDigest;
}
