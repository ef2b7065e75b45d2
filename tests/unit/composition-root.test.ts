import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const COMPOSITION_ROOT = 'services/index.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Calls of a service factory (`somethingService(`), not its definition. */
const FACTORY_CALL = /(?<!function\s)\b[a-z][A-Za-z]*Service\s*\(/g;

describe('one composition root', () => {
  it(`only ${COMPOSITION_ROOT} makes services`, () => {
    const elsewhere = sources(SRC)
      .map((file) => path.relative(SRC, file).split(path.sep).join('/'))
      .filter((file) => file !== COMPOSITION_ROOT)
      .flatMap((file) => [...readFileSync(path.join(SRC, file), 'utf8').matchAll(FACTORY_CALL)].map((m) => `${file}: ${m[0]}`));
    expect(elsewhere).toEqual([]);
  });

  it('the server and the command line both take their services from buildServices', () => {
    for (const entry of ['server.ts', 'cli.ts']) {
      const text = readFileSync(path.join(SRC, entry), 'utf8');
      expect(text, entry).toMatch(/from '\.\/services\/index\.js'/);
      expect(text, entry).toMatch(/\bbuildServices\(config, database\.db\)/);
    }
  });
});
