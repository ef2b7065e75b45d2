import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOCK_CLASS, LOCK_KEY } from '../../src/db/locks.js';

/**
 * The layering of ARCHITECTURE.md, checked on the source text: SQL and the database driver only
 * in the data-access layer (src/db), the domain free of I/O. A violation names the file and the
 * import or call, so the fix is to move that code into src/db (or out of src/domain).
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Static imports and re-exports, dynamic import() and require(), with whether the import is type-only. */
export function importsOf(text: string): Import[] {
  const found: Import[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(statement)) found.push({ specifier: m[3], typeOnly: Boolean(m[2]) });
  for (const m of text.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: m[1], typeOnly: false });
  return found;
}

/** Where a relative specifier points, as a path under src without extension; bare specifiers unchanged. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return relative(src, resolve(dirname(file), specifier)).replace(/\\/g, '/').replace(/\.(js|ts)$/, '');
}

const DRIVER_OR_SQL = /^(pg|pg-[a-z-]+|drizzle-orm(\/.*)?|postgres)$/;
/** A query issued on a handle: the database, a transaction, a pool or a client. */
const QUERY_CALL = /\b(db|tx|trx|executor|pool|client|database)\s*\.\s*(select|selectDistinct|insert|update|delete|execute|query)\s*\(/;

/** What a service, route, plugin or parser may not do: reach SQL or the driver. */
export function sqlViolations(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const { specifier, typeOnly } of importsOf(text)) {
    const to = target(file, specifier);
    if (DRIVER_OR_SQL.test(to) && !typeOnly) problems.push(`imports ${specifier}`);
    if (to === 'db/schema') problems.push(`imports the table definitions (${specifier})`);
  }
  if (/\bsql\s*`/.test(text)) problems.push('writes SQL with a sql`` template');
  const call = text.match(QUERY_CALL);
  if (call) problems.push(`issues a query (${call[0].replace(/\s+/g, '')}…)`);
  return problems;
}

/** Packages the domain may use: computation only, no I/O. */
const PURE_PACKAGES = new Set(['zod', 'canonicalize', 'node:crypto']);

export function domainViolations(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const { specifier } of importsOf(text)) {
    const to = target(file, specifier);
    if (specifier.startsWith('.') ? !to.startsWith('domain/') : !PURE_PACKAGES.has(specifier)) problems.push(`imports ${specifier}`);
  }
  if (/\bprocess\.(env|stdout|stderr|exit)\b|\b(setTimeout|setInterval|fetch)\s*\(/.test(text)) problems.push('touches the process, timers or the network');
  return problems;
}

function check(dirs: string[], rule: (file: string, text: string) => string[]): string[] {
  return dirs.flatMap((dir) =>
    sourceFiles(join(src, dir)).flatMap((file) => rule(file, readFileSync(file, 'utf8')).map((p) => `${relative(root, file)}: ${p}`)),
  );
}

describe('layering', () => {
  it('keeps SQL and the database driver out of services, routes, plugins and parsers', () => {
    expect(check(['services', 'http', 'ingest'], sqlViolations)).toEqual([]);
  });

  it('keeps routes thin: they reach the database only through services', () => {
    const routeViolations = (file: string, text: string) =>
      importsOf(text)
        .filter(({ specifier, typeOnly }) => !typeOnly && target(file, specifier).startsWith('db/'))
        .map(({ specifier }) => `imports ${specifier}`);
    expect(check(['http/routes'], routeViolations)).toEqual([]);
  });

  it('keeps the domain free of I/O and of every other layer', () => {
    expect(check(['domain'], domainViolations)).toEqual([]);
  });

  it('keeps every in-process cache a boundedCache (src/cache.ts)', () => {
    const direct = sourceFiles(src).filter((file) => !file.endsWith('/cache.ts') && /from 'lru-cache'|new LRUCache\b/.test(readFileSync(file, 'utf8')));
    expect(direct.map((file) => relative(root, file))).toEqual([]);
  });

  it('gives every advisory lock its own key, named in src/db/locks.ts', () => {
    const classes = Object.values(LOCK_CLASS);
    const keys = Object.values(LOCK_KEY);
    expect(new Set(classes).size).toBe(classes.length);
    expect(new Set(keys).size).toBe(keys.length);
    const literal = /pg_(try_)?advisory_(xact_)?lock(_shared)?\(\s*\d|pg_(try_)?advisory_(xact_)?lock(_shared)?\([^)]*\$\{\s*(0x|\d)/;
    const lockSites = sourceFiles(src).filter((file) => !file.endsWith('locks.ts') && literal.test(readFileSync(file, 'utf8')));
    expect(lockSites.map((file) => relative(root, file))).toEqual([]);
  });

  it('the checks see the violations they exist for', () => {
    const service = join(src, 'services', 'example.ts');
    expect(sqlViolations(service, "import { eq } from 'drizzle-orm';")).toEqual(['imports drizzle-orm']);
    expect(sqlViolations(service, "import pg from 'pg';")).toEqual(['imports pg']);
    expect(sqlViolations(service, "import type pg from 'pg';")).toEqual([]);
    expect(sqlViolations(service, "import { eras } from '../db/schema.js';")).toEqual(['imports the table definitions (../db/schema.js)']);
    expect(sqlViolations(service, 'await pool.query("select 1")')).toEqual(['issues a query (pool.query(…)']);
    expect(sqlViolations(service, 'const rows = await tx.select().from(t)')).toEqual(['issues a query (tx.select(…)']);
    expect(sqlViolations(service, 'await db.execute(sql`select 1`)')).toHaveLength(2);
    expect(sqlViolations(service, "import type { Executor } from '../db/client.js'; cache.delete(key);")).toEqual([]);
    const domain = join(src, 'domain', 'example.ts');
    expect(domainViolations(domain, "import { readFileSync } from 'node:fs';")).toEqual(['imports node:fs']);
    expect(domainViolations(domain, "import { x } from '../services/eras.js';")).toEqual(['imports ../services/eras.js']);
    expect(domainViolations(domain, "const m = await import('../db/ledger.js');")).toEqual(['imports ../db/ledger.js']);
    expect(domainViolations(domain, "import { rank } from './rank.js'; import { z } from 'zod';")).toEqual([]);
    expect(domainViolations(domain, 'const url = process.env.DATABASE_URL;')).toEqual(['touches the process, timers or the network']);
  });
});
