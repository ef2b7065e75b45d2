import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/** Where the embedded cluster lives and as whom it runs (src/db/embedded.ts starts it). */

/**
 * The embedded cluster cannot run here. Its message is one paragraph saying why and what to
 * do; it carries no stack, so whatever prints it (the service, the CLI, the test runner) shows
 * just that paragraph.
 */
export class EmbeddedDatabaseError extends Error {
  constructor(why: string) {
    super(
      `The embedded PostgreSQL cannot run here: ${why}. ` +
        'Set DATABASE_URL to a PostgreSQL of your own (for example postgres://user:password@host:5432/stakeweight, ' +
        'or the one `docker compose up` starts), or run as an ordinary user from a directory that user owns.',
    );
    this.name = 'EmbeddedDatabaseError';
    this.stack = this.message;
  }
}

export const SUPERUSER = 'postgres';
/** The superuser password of clusters created before each got a random one. */
export const LEGACY_PASSWORD = 'stakeweight';
/** Where a cluster lives when root runs the service and the postgres user cannot reach DATA_DIR. */
const SYSTEM_HOME = '/var/lib/stakeweight';

/** The OS user PostgreSQL runs as when we are root (it refuses to run as root itself). */
export interface ClusterUser {
  name: string;
  uid: number;
  gid: number;
}

/** A cluster's files: PostgreSQL's data directory and the superuser password beside it. */
export interface ClusterHome {
  dir: string;
  data: string;
  passwordFile: string;
}

function clusterHome(dir: string): ClusterHome {
  return { dir, data: path.join(dir, 'pg'), passwordFile: path.join(dir, 'pg-password') };
}

const execFileText = promisify(execFile);

async function userIds(name: string): Promise<ClusterUser | null> {
  try {
    const [uid, gid] = await Promise.all([execFileText('id', ['-u', name]), execFileText('id', ['-g', name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return null;
  }
}

/** Root runs the cluster as the system user `postgres`, created (without a login) if missing. */
export async function rootClusterUser(): Promise<ClusterUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await userIds(SUPERUSER);
  if (existing) return existing;
  try {
    await execFileText('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SUPERUSER]);
  } catch (error) {
    throw new EmbeddedDatabaseError(
      `PostgreSQL refuses to run as root, so as root it runs as the system user "${SUPERUSER}", which does not exist and could not be created (${errorLine(error)})`,
    );
  }
  const created = await userIds(SUPERUSER);
  if (!created) throw new EmbeddedDatabaseError(`the system user "${SUPERUSER}" was created but cannot be looked up`);
  return created;
}

/** The first existing directory, from `dir` upwards, that `user` cannot search; null if none. */
export function blockingDirectory(dir: string, user: { uid: number; gid: number }): string | null {
  let current = path.resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const step of chain) {
    let stat;
    try {
      stat = statSync(step);
    } catch {
      return null; // the rest does not exist yet: we create it, searchable
    }
    const bit = stat.uid === user.uid ? 0o100 : stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return step;
  }
  return null;
}

/**
 * DATA_DIR when the cluster's user can reach it; else (root, with DATA_DIR under a private
 * directory such as /root or a `mktemp -d` folder) a directory of its own under /var/lib, one
 * per DATA_DIR, so the data still survives restarts.
 */
export function chooseHome(dataDir: string, user: ClusterUser | undefined, note: (message: string) => void): ClusterHome {
  const wanted = path.resolve(dataDir);
  if (!user) return clusterHome(wanted);
  const blocked = blockingDirectory(path.dirname(wanted), user);
  if (!blocked) return clusterHome(wanted);
  const digest = createHash('sha256').update(wanted).digest('hex').slice(0, 12);
  const relocated = path.join(SYSTEM_HOME, `${path.basename(path.dirname(wanted))}-${digest}`);
  note(`the ${user.name} user cannot reach ${wanted} (${blocked} is private); keeping the cluster in ${relocated}`);
  return clusterHome(relocated);
}

/** The last line of an error's message, for a one-paragraph failure. */
export function errorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? text;
}
