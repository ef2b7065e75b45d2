import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { closeDatabase, openDatabase } from './db/index.js';
import { CHAIN_NAMES, headsSchema, type Heads } from './domain/heads.js';
import { createLogger } from './logger.js';
import { ROLES, type Role } from './services/accounts.js';
import { COMMAND_LINE } from './services/audit.js';
import { buildServices, migrateData, type Services } from './services/index.js';
import { describeReport, reportFails } from './services/verify.js';

/** What a command is given: the configuration, the migrated database and the services built on it. */
interface CommandContext {
  config: Config;
  db: Database;
  services: Services;
  args: string[];
}

/** A command of `npm run cli -- <name>`: its usage lines and what it does; it returns the exit code. */
interface Command {
  usage: string;
  run(context: CommandContext): Promise<number>;
}

/** A problem with the command's arguments or files: exit code 2. */
class UsageError extends Error {}

const migrate: Command = {
  usage: `migrate                               apply pending migrations (schema, then data: figures older
                                        releases did not store) and exit`,
  async run({ db, services }) {
    // The schema migrated when the database opened; the data steps run here, as at a server's start.
    const { reportFigures } = await migrateData(db, services);
    process.stdout.write(`migrations applied${reportFigures > 0 ? ` (report figures of ${reportFigures} era(s) filled in)` : ''}\n`);
    return 0;
  },
};

const createKey: Command = {
  usage: `create-key [--name N] [--role admin]  create an account with one API key and print the key; the
                                        account is active at once (the command line is the root of trust)`,
  async run({ services, args }) {
    const { values } = parseArgs({ args, options: { name: { type: 'string' }, role: { type: 'string' } } });
    const role = (values.role ?? 'admin') as Role;
    if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const created = await services.accounts.createAccount(COMMAND_LINE, { name: values.name ?? `${role}-cli`, role });
    process.stdout.write(`account ${created.id} (${created.role}, ${created.status})\napi key (shown once): ${created.apiKey}\n`);
    return 0;
  },
};

const verify: Command = {
  usage: `verify [--heads FILE]                 walk the chain of era bundles (recomputing each from the stored
                                        runs, stakes, scores and targets) and the audit log's chain, and
                                        compare every ledger payout and burn with its era's bundle, and
                                        check that money is conserved (wallets + models = credits −
                                        withdrawn + payouts − burns); print the first break of each
                                        chain and every mismatch, exit 1 if any.
                                        --heads FILE: an earlier answer of GET /v1/reports/heads; exit 1
                                        too when a chain does not extend it (links removed or rewritten)`,
  async run({ services, args }) {
    const { values } = parseArgs({ args, options: { heads: { type: 'string' } } });
    const saved = values.heads === undefined ? null : readHeads(values.heads);
    const report = await services.verify.verify();
    const lines = describeReport(report);
    let failed = reportFails(report);
    if (saved) {
      const { current, breaks } = await services.heads.compare(saved);
      for (const { chain, problem } of breaks) lines.push(`HISTORY REWRITTEN: the ${CHAIN_NAMES[chain]} chain (${chain}) does not extend the saved head: ${problem}`);
      if (breaks.length === 0) {
        lines.push(`both chains extend the saved heads (bundles ${saved.bundles.count} → ${current.bundles.count}, audit ${saved.audit.count} → ${current.audit.count} links)`);
      }
      lines.push(`current heads: ${JSON.stringify(current)}`);
      failed ||= breaks.length > 0;
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return failed ? 1 : 0;
  },
};

const archive: Command = {
  usage: `archive --before-era N [--out DIR]    detach the submissions and run inputs of every resolved era before
                                        N, write each to DIR (default ./archive) as a binary COPY file listed
                                        with its era, table, rows and SHA-256 in DIR/manifest.json, then drop
                                        them; refuses (exit 1) if an era before N is not resolved. Ledger,
                                        audit log, bundles and scores stay; verify still passes
                                        (docs/operations.md)`,
  async run({ services, args }) {
    const { values } = parseArgs({ args, options: { 'before-era': { type: 'string' }, out: { type: 'string' } } });
    const before = Number(values['before-era']);
    if (values['before-era'] === undefined || !Number.isInteger(before)) throw new UsageError('archive needs --before-era N, an era number (eras before N are archived)');
    const out = values.out ?? 'archive';
    const { eras, tables } = await services.archive.archive(before, out);
    for (const t of tables) process.stdout.write(`era ${t.era} ${t.table}: ${t.rows} rows, ${t.bytes} bytes, sha256 ${t.sha256} → ${out}/${t.file}\n`);
    process.stdout.write(eras.length === 0 ? `nothing to archive before era ${before}\n` : `archived ${eras.length} era(s): ${eras.join(', ')}; manifest ${out}/manifest.json\n`);
    return 0;
  },
};

/** Every command, by name; a new one is one entry here. */
const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({ migrate, 'create-key': createKey, verify, archive });

const USAGE = `Usage: npm run cli -- <command>

Commands:
${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join('\n')}
`;

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

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || name === 'help' || name === '--help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(process.env, { LOG_LEVEL: 'warn' });
  const database = await openDatabase(config, createLogger(config.LOG_LEVEL));
  const services = buildServices(config, database.db);
  try {
    return await command.run({ config, db: database.db, services, args });
  } finally {
    await services.close();
    await closeDatabase(database);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
