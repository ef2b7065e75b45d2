import type { ClientTransaction, Database } from '../../db/client.js';
import type { AuditService } from '../audit.js';
import type { EraRow, ErasService } from '../eras.js';
import type { ReportFiguresService } from '../report-figures.js';

/** Re-scores the era's stored targets against its latest run, in the recompute's transaction (wired to scoring in app.ts). */
export type RescoreEra = (t: ClientTransaction, era: EraRow) => Promise<string[]>;

/** What the meta-model service is made from: one database handle (`inClientTransaction` takes a client of its pool for the streaming transactions). */
export interface MetaModelDeps {
  db: Database;
  audit: AuditService;
  eras: ErasService;
  rescoreEra: RescoreEra;
  reportFigures: ReportFiguresService;
}
