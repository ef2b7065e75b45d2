import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { openDatabase } from './db/index.js';
import { createLogger } from './logger.js';
import { accountsService, ROLES, type Role } from './services/accounts.js';
import { archiveService } from './services/archive.js';
import { auditService, COMMAND_LINE } from './services/audit.js';
import { bundlesService } from './services/bundles.js';
import { erasService } from './services/eras.js';
import { CHAIN_NAMES, headsSchema, type Heads } from './domain/heads.js';
import { headsService } from './services/heads.js';
import { describeReport, reportFails, verifyService } from './services/verify.js';

const USAGE = `Usage: npm run cli -- <command>

Commands:
  migrate                               apply pending migrations and exit
  create-key [--name N] [--role admin]  create an account with one API key and print the key; the
                                        account is active at once (the command line is the root of trust)
  verify [--heads FILE]                 walk the chain of era bundles (recomputing each from the stored
                                        runs, stakes, scores and targets) and the audit log's chain, and
                                        compare every ledger payout and burn with its era's bundle, and
                                        check that money is conserved (wallets + models = credits −
                                        withdrawn + payouts − burns); print the first break of each
                                        chain and every mismatch, exit 1 if any.
                                        --heads FILE: an earlier answer of GET /v1/reports/heads; exit 1
                                        too when a chain does not extend it (links removed or rewritten)
  archive --before-era N [--out DIR]    detach the submissions and run inputs of every resolved era before
                                        N, write each to DIR (default ./archive) as a binary COPY file listed
                                        with its era, table, rows and SHA-256 in DIR/manifest.json, then drop
                                        them; refuses (exit 1) if an era before N is not resolved. Ledger,
                                        audit log, bundles and scores stay; verify still passes
                                        (docs/operations.md)
`;

/** A problem with the command's arguments or files: exit code 2. */
class UsageError extends Error {}

/** The saved heads in FILE, or an error naming what is wrong with it. */
function readHeads(file: string): Heads {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--heads ${file}: the file cannot be read`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`--heads ${file}: not JSON; save the answer of GET /v1/reports/heads as it is`);
  }
  const parsed = headsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(whole)'}: ${i.message}`).join('; ');
    throw new UsageError(`--heads ${file}: not an answer of GET /v1/reports/heads {bundles: {count, chainDigest}, audit: {count, chainDigest}} (${problems})`);
  }
  return parsed.data;
}

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
      const accounts = accountsService({ db: database.db, audit: auditService(database.db) });
      const created = await accounts.createAccount(COMMAND_LINE, { name: values.name ?? `${role}-cli`, role });
      process.stdout.write(`account ${created.id} (${created.role}, ${created.status})\napi key (shown once): ${created.apiKey}\n`);
    } else if (command === 'verify') {
      const { values } = parseArgs({ args: rest, options: { heads: { type: 'string' } } });
      const saved = values.heads === undefined ? null : readHeads(values.heads);
      const audit = auditService(database.db);
      const eras = erasService({ db: database.db, audit, config });
      const report = await verifyService({ db: database.db, eras, bundles: bundlesService({ db: database.db, eras }) }).verify();
      const lines = describeReport(report);
      let failed = reportFails(report);
      if (saved) {
        const { current, breaks } = await headsService({ db: database.db }).compare(saved);
        for (const { chain, problem } of breaks) lines.push(`HISTORY REWRITTEN: the ${CHAIN_NAMES[chain]} chain (${chain}) does not extend the saved head: ${problem}`);
        if (breaks.length === 0) {
          lines.push(`both chains extend the saved heads (bundles ${saved.bundles.count} → ${current.bundles.count}, audit ${saved.audit.count} → ${current.audit.count} links)`);
        }
        lines.push(`current heads: ${JSON.stringify(current)}`);
        failed ||= breaks.length > 0;
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      if (failed) process.exitCode = 1;
    } else if (command === 'archive') {
      const { values } = parseArgs({ args: rest, options: { 'before-era': { type: 'string' }, out: { type: 'string' } } });
      const before = Number(values['before-era']);
      if (values['before-era'] === undefined || !Number.isInteger(before)) throw new UsageError('archive needs --before-era N, an era number (eras before N are archived)');
      const out = values.out ?? 'archive';
      const { eras, tables } = await archiveService({ pool: database.pool }).archive(before, out);
      for (const t of tables) process.stdout.write(`era ${t.era} ${t.table}: ${t.rows} rows, ${t.bytes} bytes, sha256 ${t.sha256} → ${out}/${t.file}\n`);
      process.stdout.write(eras.length === 0 ? `nothing to archive before era ${before}\n` : `archived ${eras.length} era(s): ${eras.join(', ')}; manifest ${out}/manifest.json\n`);
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
  process.exit(error instanceof UsageError ? 2 : 1);
});
