import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  it('has no default secret: each one is required (${NAME:?…}), so compose refuses to start without it', () => {
    const uses = [...compose.matchAll(/\$\{(BOOTSTRAP_ADMIN_KEY|POSTGRES_PASSWORD)([^}]*)\}/g)];
    expect(new Set(uses.map((use) => use[1]))).toEqual(new Set(['BOOTSTRAP_ADMIN_KEY', 'POSTGRES_PASSWORD']));
    for (const [, , rest] of uses) expect(rest).toMatch(/^:\?.+/);
  });

  it('writes no password or key into the file itself', () => {
    expect(compose).not.toMatch(/POSTGRES_PASSWORD:\s*[A-Za-z0-9]/);
    expect(compose).not.toMatch(/postgres:\/\/[^:\s]+:[A-Za-z0-9]+@/);
    expect(compose).not.toMatch(/change-me/i);
  });
});
