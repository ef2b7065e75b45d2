import { inClientTransaction, type ClientTransaction, type Database } from '../db/client.js';
import type { Preparer } from '../ingest/worker-preparer.js';
import type { AuditService } from './audit.js';
import type { BundlesService } from './bundles.js';
import type { ErasService } from './eras.js';
import type { ModelsService } from './models.js';
import type { ReportFiguresService } from './report-figures.js';

/** Everything the scoring use cases need; each takes the `Pick` of it that it uses. */
export interface ScoringDeps {
  /** the one transaction handle: every use case runs in a ClientTransaction on it */
  db: Database;
  audit: AuditService;
  eras: ErasService;
  models: ModelsService;
  bundles: BundlesService;
  reportFigures: ReportFiguresService;
  /** parses target uploads (on a worker thread when large) */
  preparer: Pick<Preparer, 'parseTargets'>;
  /** the most target columns one upload may hold (TARGETS_MAX_COLUMNS) */
  maxTargetColumns: number;
  /** the target performance and the leaderboard read when none is named */
  defaultTarget: string;
}

export type Tx = ClientTransaction;

/** A transaction on `db`'s pool; `readOnlySnapshot` for reads that must agree with each other. */
export function transaction<T>(deps: Pick<ScoringDeps, 'db'>, fn: (t: Tx) => Promise<T>, options?: { readOnlySnapshot?: boolean }): Promise<T> {
  return inClientTransaction(deps.db, fn, options);
}
