import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DB_DOMAIN_CONVERSIONS, DOMAIN_PACKAGES, EXECUTOR_EXCEPTIONS, EXECUTOR_TYPES, LONG_FILES_ALLOWED, MAX_FILE_LINES, MAX_FUNCTION_LINES } from '../support/architecture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const documents = ['README.md', 'ARCHITECTURE.md', ...readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

describe('the documentation in the repository', () => {
  it('links only to files that are in the repository', () => {
    const broken: string[] = [];
    for (const document of documents) {
      const text = readFileSync(path.join(ROOT, document), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // a URL
        if (!existsSync(path.join(ROOT, path.dirname(document), target))) broken.push(`${document} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('ARCHITECTURE.md names only files and folders that exist', () => {
    const text = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    const named = [...text.matchAll(/`((?:[\w.-]+\/)*[\w.-]+\.(?:ts|md|json|sql)|(?:[\w.-]+\/)+)`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(50);
    const missing = named.filter((name) => !['', 'src/', 'src/http/'].some((base) => existsSync(path.join(ROOT, base, name))));
    expect(missing).toEqual([]);
  });

  it('sends no reader of the code to a design file outside the repository', () => {
    const walk = (dir: string): string[] =>
      readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? (entry.name === '__pycache__' ? [] : walk(`${dir}/${entry.name}`)) : [`${dir}/${entry.name}`],
      );
    // Landed migrations never change, so the three that cite it keep their comments.
    const code = ['src', 'tests', 'bench', 'clients'].flatMap(walk).filter((file) => /\.(ts|py|sql)$/.test(file));
    const citing = code.filter((file) => /DESIGN(\.md)?( section| §|:)/.test(readFileSync(path.join(ROOT, file), 'utf8')));
    expect(citing).toEqual([]);
  });

  it('sends no reader to a design file outside the repository', () => {
    for (const document of documents) expect(readFileSync(path.join(ROOT, document), 'utf8')).not.toMatch(/DESIGN(\.md)? section|\.\.\/shared\//);
  });

  it('covers the policy language, the formulas, the stake rules and the report figures', () => {
    const read = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');
    expect(read('policies.md')).toMatch(/`prefix`[\s\S]*`contains`[\s\S]*groupCap/);
    expect(read('scoring-and-payouts.md')).toMatch(/MMC = t_cᵀ p⊥ \/ \|T\|[\s\S]*stakeThreshold/);
    expect(read('stakes.md')).toMatch(/burn comes off the amount first, then off the pending releases, oldest first/);
    expect(read('reports.md')).toMatch(/Nakamoto[\s\S]*chainDigest/);
  });
});

describe('ARCHITECTURE.md', () => {
  const text = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  /** The text of a section, from its heading to the next one of the same level. */
  const section = (heading: string) => {
    const start = text.indexOf(`\n## ${heading}`);
    expect(start, `section ${heading}`).toBeGreaterThan(-1);
    const end = text.indexOf('\n## ', start + 1);
    return text.slice(start, end === -1 ? undefined : end);
  };
  /** The rows of the first table in a section, as cells. */
  const tableRows = (heading: string) =>
    section(heading)
      .split('\n')
      .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
      .slice(1)
      .map((line) => line.slice(1, -1).split(' | '));
  const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const exists = (name: string) => ['', 'src/', 'src/http/'].some((base) => existsSync(path.join(ROOT, base, name)));

  it('lists in its data-access table exactly the modules of src/db, each of which exists', () => {
    const listed = tableRows('The data-access layer').flatMap(([modules]) => ticked(modules)).filter((name) => name.startsWith('db/'));
    expect(listed.filter((name) => !exists(name))).toEqual([]);
    const modules = readdirSync(path.join(ROOT, 'src/db'))
      .filter((name) => name.endsWith('.ts') && name !== 'schema.ts')
      .map((name) => `db/${name}`);
    expect(modules.filter((name) => !listed.includes(name))).toEqual([]);
  });

  it('names for every invariant a guard that exists: a file, a migration or a PL/pgSQL function', () => {
    const migrations = readdirSync(path.join(ROOT, 'migrations')).filter((name) => name.endsWith('.sql'));
    const sql = migrations.map((name) => readFileSync(path.join(ROOT, 'migrations', name), 'utf8')).join('\n');
    const rows = tableRows('Invariants and what guards them');
    expect(rows.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const [invariant, guardedBy] of rows) {
      const files = ticked(guardedBy).filter((name) => /\.(ts|sql|json)$/.test(name));
      for (const file of files) if (!exists(file)) problems.push(`${invariant}: ${file} does not exist`);
      const numbers = [...guardedBy.matchAll(/migrations? ((?:\d{4}(?:, |\/| and )?)+)/g)].flatMap((m) => m[1].match(/\d{4}/g) ?? []);
      for (const n of numbers) if (!migrations.some((name) => name.startsWith(`${n}_`))) problems.push(`${invariant}: migration ${n} does not exist`);
      const functions = ticked(guardedBy).filter((name) => /^[a-z_]+\(\)$/.test(name)).map((name) => name.slice(0, -2));
      for (const fn of functions) if (!new RegExp(`function\\s+(public\\.)?"?${fn}\\b`, 'i').test(sql)) problems.push(`${invariant}: ${fn}() is not defined by a migration`);
      if (files.length + numbers.length + functions.length === 0) problems.push(`${invariant}: names no guard`);
    }
    expect(problems).toEqual([]);
  });

  it('quotes the rules the architecture test applies', () => {
    const layers = section('Layers');
    expect(layers).toContain(`no file in src/ over ${MAX_FILE_LINES} lines`);
    expect(layers).toContain(`no function over ${MAX_FUNCTION_LINES} of its own`);
    for (const file of LONG_FILES_ALLOWED) expect(layers).toContain(`\`${file}\``);
    const domainRule = layers.slice(layers.indexOf('**`src/domain`**'), layers.indexOf('**`src/db`**'));
    expect(ticked(domainRule).filter((name) => !name.startsWith('src/') && !/^(new Date\(\)|Date\.now\(\))$/.test(name))).toEqual(DOMAIN_PACKAGES);
    const dbRule = layers.slice(layers.indexOf('**`src/db`**'), layers.indexOf('**Nothing**'));
    const conversions = Object.values(DB_DOMAIN_CONVERSIONS).flat();
    expect(ticked(dbRule).filter((name) => !name.startsWith('src/') && name !== 'import type').sort()).toEqual([...conversions].sort());
    const dataAccess = section('The data-access layer');
    for (const type of EXECUTOR_TYPES) expect(dataAccess).toContain(`\`${type}\``);
    expect(dataAccess).toContain('`EXECUTOR_EXCEPTIONS`');
    for (const [fn, reason] of Object.entries(EXECUTOR_EXCEPTIONS)) expect(reason, fn).toMatch(/\w{3,}/);
  });
});
