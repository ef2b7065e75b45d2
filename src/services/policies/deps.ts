import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { AuditService } from '../audit.js';
import type { ErasService } from '../eras.js';

/** A provisional meta-model of an open era: the submissions and stakes so far, as a close would take them now. */
export type OpenEraMetaModel = (era: number) => Promise<{ unconstrained: Float64Array; models: number }>;

/** Everything the policy use cases need; each takes the part it uses (`Pick<PoliciesDeps, …>`). */
export interface PoliciesDeps {
  db: Database;
  audit: Pick<AuditService, 'record'>;
  eras: Pick<ErasService, 'get' | 'universeRows'>;
  config: Pick<Config, 'POLICY_FOUR_EYES'>;
  openEraMetaModel: OpenEraMetaModel;
}
