import type { Database } from '../../db/client.js';
import type { AuditService } from '../audit.js';
import type { KeyMemory } from './key-memory.js';

/** Everything the account use cases need; each takes the part it uses (`Pick<AccountsDeps, …>`). */
export interface AccountsDeps {
  db: Database;
  audit: Pick<AuditService, 'record'>;
}

/** The deps with this process's memory of live keys, which revocations and disablings update. */
export interface AccountsContext extends AccountsDeps {
  memory: KeyMemory;
}
