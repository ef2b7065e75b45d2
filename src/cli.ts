import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { openDatabase } from './db/index.js';
import { createLogger } from './logger.js';
import { accountsService, ROLES, type Role } from './services/accounts.js';
import { auditService } from './services/audit.js';
import { bundlesService } from './services/bundles.js';
import { erasService } from './services/eras.js';
import { describeReport, verifyService } from './services/verify.js';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  migrate                               apply pending migrations and exit
  create-key [--name N] [--role admin]  create an account with one API key and print the key
  verify                                walk the chain of era bundles (recomputing each from the stored
                                        runs, stakes, scores and targets) and the audit log's chain,
                                        and check that money is conserved (wallets + models = credits
                                        − withdrawn + payouts − burns); print the first break of
                                        each, exit 1 if there is one
`;

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig();
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const database = await openDatabase(config, log);
  try {
    if (command === 'migrate') {
      process.stdout.write('migrations applied\n');
    } else if (command === 'create-key') {
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, role: { type: 'string' } } });
      const role = (values.role ?? 'admin') as Role;
      if (!ROLES.includes(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
      const accounts = accountsService(database.db, database.pool, auditService(database.db));
      const created = await accounts.createAccount(null, { name: values.name ?? `${role}-cli`, role });
      process.stdout.write(`account ${created.id} (${created.role})\napi key (shown once): ${created.apiKey}\n`);
    } else if (command === 'verify') {
      const audit = auditService(database.db);
      const eras = erasService(database.db, audit, config);
      const report = await verifyService({ db: database.db, eras, bundles: bundlesService({ db: database.db, eras }) }).verify();
      process.stdout.write(`${describeReport(report).join('\n')}\n`);
      if (report.bundles.break || report.audit.break || !report.money.conserved) process.exitCode = 1;
    } else {
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      process.exitCode = 2;
    }
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
