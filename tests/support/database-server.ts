import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

export interface DatabaseServer {
  /** Connection string to a maintenance database on the server (used to create others). */
  adminUrl: string;
  kind: 'url' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** TEST_DATABASE_URL if set, else Testcontainers when Docker answers, else embedded PostgreSQL. */
export async function startDatabaseServer(): Promise<DatabaseServer> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) return { adminUrl: url, kind: 'url', stop: async () => {} };
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return { adminUrl: container.getConnectionUri(), kind: 'testcontainers', stop: async () => void (await container.stop()) };
  }
  // A throwaway cluster: stopping it deletes the directory.
  const dir = await mkdtemp(path.join(tmpdir(), 'stakeweight-test-'));
  const embedded = await startEmbeddedPostgres(dir, { persistent: false });
  return { adminUrl: embedded.url, kind: 'embedded', stop: () => embedded.stop() };
}
