import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The shape rules of ARCHITECTURE.md, read from the source with the TypeScript compiler's parser
 * (syntax only: fast, no type checking). Each rule returns its violations as `file: what` lines, so a
 * failing test names the fix. The constants are the rules' numbers and names; the docs test checks
 * ARCHITECTURE.md quotes the same ones.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SRC = join(ROOT, 'src');

/** A file in src/ is at most this many lines... */
export const MAX_FILE_LINES = 300;
/** ...except the drizzle table definitions, one declaration per table. */
export const LONG_FILES_ALLOWED = ['src/db/schema.ts'];
/** A function is at most this many lines, except a route or plugin registration (`isRegistration`). */
export const MAX_FUNCTION_LINES = 80;

/** The types a data function's first parameter may have: the executor or the one transaction handle. */
export const EXECUTOR_TYPES = ['Executor', 'Database', 'ClientTransaction'];

/**
 * Data functions that take something else first, each for a reason that stays true. Streaming reads
 * and writes (binary COPY, cursors) take the transaction's raw `pg.PoolClient`: the COPY exception.
 */
export const EXECUTOR_EXCEPTIONS: Record<string, string> = {
  'src/db/copy-binary.ts copyBinaryOut': 'binary COPY out streams on the raw client',
  'src/db/copy-binary.ts copyOut': 'COPY out streams on the raw client (copyBinaryOut and copyTableOut use it)',
  'src/db/copy-in.ts copyBinaryIn': 'binary COPY in streams on the raw client',
  'src/db/runs.ts streamInputs': 'binary COPY out streams on the raw client',
  'src/db/archive.ts copyTableOut': 'binary COPY out streams on the raw client',
  'src/db/scores.ts openSubmissionsToScore': 'a cursor lives on the raw client',
  'src/db/scores.ts fetchSubmissionsToScore': 'a cursor lives on the raw client',
  'src/db/scores.ts closeSubmissionsToScore': 'a cursor lives on the raw client',
  'src/db/client.ts inClientTransaction': 'opens the ClientTransaction from the pool',
  'src/db/index.ts openDatabase': 'makes the pool and the Database from the configuration',
  'src/db/index.ts closeDatabase': 'ends the pool openDatabase made and stops its embedded PostgreSQL',
  'src/db/migrate.ts migrateDatabase': 'holds the migration session lock on one connection of its own',
  'src/db/migrate.ts withMigrationLock': 'holds the migration session lock on one connection of its own',
  'src/db/webhooks.ts listenForDeliveries': 'LISTEN holds a connection of its own',
};

/** src/db modules that are not data access: the table definitions and the embedded PostgreSQL process (its home and user). */
export const NOT_DATA_ACCESS = ['src/db/schema.ts', 'src/db/embedded.ts', 'src/db/embedded-home.ts'];

/**
 * What src/db may import from src/domain as values: pure conversions between stored and computed
 * forms. Everything else from the domain is imported as a type (`import type`); rules stay in the
 * domain and are composed by a service.
 */
export const DB_DOMAIN_CONVERSIONS: Record<string, string[]> = {
  'domain/decimal': ['toUnits', 'fromUnits'], // decimal text ↔ bigint units
  'domain/packed': ['encodeFloat64', 'decodeFloat64'], // packed float64 columns
  'domain/prepared': ['encodeRankCodes', 'decodeRankCodes'], // packed rank codes
  'domain/raw': ['encodeRaw', 'decodeRaw'], // a submission's raw values
  'domain/records': ['withNameRecords', 'nameRecord'], // null-prototype records for names read back
};

/** The one file that may keep a collection in process memory (boundedCache). */
export const CACHE_FILE = 'src/cache.ts';

/** Packages the domain may use: computation only, no I/O. */
export const DOMAIN_PACKAGES = ['zod', 'canonicalize', 'node:crypto'];

/**
 * Modules of src/ outside the domain it may import: boundedCache, pure in-memory (the prepared
 * rank tables are memoised in one, as any module state must be).
 */
export const DOMAIN_MODULES_ALLOWED = ['src/cache.ts'];

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The path from the repository root, with forward slashes. */
export const repoPath = (file: string) => relative(ROOT, file).replace(/\\/g, '/');

export function parse(file: string, text = readFileSync(file, 'utf8')): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

const isExported = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const isAsync = (fn: ts.SignatureDeclaration) => ts.canHaveModifiers(fn) && (ts.getModifiers(fn) ?? []).some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);

type FunctionNode = ts.FunctionDeclaration | ts.FunctionExpression | ts.ArrowFunction;

/** Exported functions of a module: declarations and `export const f = (…) => …`. */
export function exportedFunctions(sf: ts.SourceFile): { name: string; fn: FunctionNode }[] {
  const found: { name: string; fn: FunctionNode }[] = [];
  for (const statement of sf.statements) {
    if (!isExported(statement)) continue;
    if (ts.isFunctionDeclaration(statement) && statement.name) found.push({ name: statement.name.text, fn: statement });
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        if (d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) found.push({ name: d.name.getText(sf), fn: d.initializer });
      }
    }
  }
  return found;
}

/** A database handle in a parameter's type: the executor kinds, or the driver's pool and client. */
const HANDLE = /\b(Executor|Database|ClientTransaction|Pool|PoolClient|Client)\b/;

/**
 * A data function takes the executor first. A data function is an exported function of src/db that
 * is async (or returns a Promise) or takes a database handle anywhere; sync helpers (SQL fragments,
 * error predicates) are not. A function returning an object of functions (a factory of closures) is
 * flagged too: src/db exports plain functions.
 */
export function executorViolations(file: string, sf: ts.SourceFile): string[] {
  const path = repoPath(file);
  if (NOT_DATA_ACCESS.includes(path)) return [];
  const problems: string[] = [];
  for (const { name, fn } of exportedFunctions(sf)) {
    const types = fn.parameters.map((p) => p.type?.getText(sf) ?? '(untyped)');
    const returns = fn.type?.getText(sf) ?? '';
    const touchesDatabase = isAsync(fn) || /\bPromise\b/.test(returns) || types.some((t) => HANDLE.test(t));
    const first = types[0] ?? '(none)';
    if (touchesDatabase && !EXECUTOR_TYPES.includes(first) && !(`${path} ${name}` in EXECUTOR_EXCEPTIONS)) problems.push(`${name} takes ${first} first, not the executor`);
    if (returnsFunctions(fn)) problems.push(`${name} is a factory of closures, not plain functions`);
  }
  return problems;
}

function returnsFunctions(fn: FunctionNode): boolean {
  if (!fn.body) return false;
  const body = fn.body;
  const local = new Set<string>();
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isFunctionDeclaration(node) && node.name) local.add(node.name.text);
    if (ts.isVariableDeclaration(node) && node.initializer && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) local.add(node.name.getText());
    // Nested functions' own returns are theirs, not this function's.
    if (node !== body && (ts.isFunctionDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node))) return;
    if (ts.isReturnStatement(node) && node.expression) found = objectOfFunctions(node.expression, local);
    ts.forEachChild(node, visit);
  };
  if (ts.isBlock(body)) ts.forEachChild(body, visit);
  else found = objectOfFunctions(body, local);
  return found;
}

function objectOfFunctions(expression: ts.Expression, local: Set<string>): boolean {
  while (ts.isParenthesizedExpression(expression) || ts.isAsExpression(expression) || ts.isSatisfiesExpression(expression)) expression = expression.expression;
  if (!ts.isObjectLiteralExpression(expression)) return false;
  return expression.properties.some(
    (p) =>
      ts.isMethodDeclaration(p) ||
      (ts.isPropertyAssignment(p) && (ts.isArrowFunction(p.initializer) || ts.isFunctionExpression(p.initializer))) ||
      (ts.isShorthandPropertyAssignment(p) && local.has(p.name.text)),
  );
}

/** Where a relative import points, as a path under src without extension (`domain/decimal`). */
function importTarget(file: string, specifier: string): string {
  return relative(SRC, resolve(dirname(file), specifier)).replace(/\\/g, '/').replace(/\.(js|ts)$/, '');
}

/** src/db imports from the domain only types and the named conversions. */
export function dbDomainImportViolations(file: string, sf: ts.SourceFile): string[] {
  const problems: string[] = [];
  for (const statement of sf.statements) {
    const isImport = ts.isImportDeclaration(statement);
    if (!isImport && !ts.isExportDeclaration(statement)) continue;
    const spec = statement.moduleSpecifier;
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    const to = importTarget(file, spec.text);
    if (!to.startsWith('domain/')) continue;
    const allowed = DB_DOMAIN_CONVERSIONS[to] ?? [];
    if (isImport) {
      const clause = statement.importClause;
      if (!clause || clause.isTypeOnly) continue;
      if (clause.name) problems.push(`imports the default export of ${spec.text}`);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) problems.push(`imports all of ${spec.text} as ${bindings.name.text}`);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) {
          const name = (el.propertyName ?? el.name).text;
          if (!el.isTypeOnly && !allowed.includes(name)) problems.push(`imports ${name} from ${spec.text}`);
        }
      }
    } else if (!statement.isTypeOnly) {
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) problems.push(`re-exports all of ${spec.text}`);
      else for (const el of clause.elements) if (!el.isTypeOnly && !allowed.includes((el.propertyName ?? el.name).text)) problems.push(`re-exports ${(el.propertyName ?? el.name).text} from ${spec.text}`);
    }
  }
  return problems;
}

/** The domain reads no clock: `new Date()` and `Date.now()` come in as arguments. */
export function clockViolations(_file: string, sf: ts.SourceFile): string[] {
  const problems: string[] = [];
  const visit = (node: ts.Node): void => {
    const line = () => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    if (ts.isNewExpression(node) && node.expression.getText(sf) === 'Date' && !node.arguments?.length) problems.push(`reads the clock (new Date(), line ${line()})`);
    if (ts.isCallExpression(node) && node.expression.getText(sf) === 'Date.now') problems.push(`reads the clock (Date.now(), line ${line()})`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return problems;
}

/**
 * No collection kept at module scope: a top-level Map, Set, WeakMap, WeakSet or array must be a
 * constant table, said by its type (`ReadonlyMap`, `ReadonlySet`, `readonly T[]`, `ReadonlyArray`),
 * `as const` or `Object.freeze(…)`. Anything mutable goes in a boundedCache (src/cache.ts).
 */
export function moduleStateViolations(file: string, sf: ts.SourceFile): string[] {
  if (repoPath(file) === CACHE_FILE) return [];
  const problems: string[] = [];
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) {
      if (!d.initializer) continue;
      const kind = collectionKind(d.initializer);
      if (!kind) continue;
      const type = d.type?.getText(sf) ?? '';
      if (/^(readonly\s|Readonly(Array|Map|Set)\b)/.test(type)) continue;
      problems.push(`keeps a mutable ${kind} at module scope (${d.name.getText(sf)})`);
    }
  }
  return problems;
}

/** The collection an initializer makes, unless it is frozen or `as const`. */
function collectionKind(expression: ts.Expression): string | undefined {
  while (ts.isParenthesizedExpression(expression) || ts.isSatisfiesExpression(expression)) expression = expression.expression;
  if (ts.isAsExpression(expression)) {
    if (expression.type.getText() === 'const' || /^(readonly\s|Readonly(Array|Map|Set)\b)/.test(expression.type.getText())) return undefined;
    return collectionKind(expression.expression);
  }
  if (ts.isCallExpression(expression) && expression.expression.getText() === 'Object.freeze') return undefined;
  if (ts.isArrayLiteralExpression(expression)) return 'array';
  if (ts.isNewExpression(expression)) {
    const name = expression.expression.getText();
    if (['Map', 'Set', 'WeakMap', 'WeakSet', 'Array'].includes(name)) return name;
  }
  return undefined;
}

/** A route or plugin registration: named …Routes or …Plugin, or the default export of a route or plugin file. */
export function isRegistration(file: string, name: string, isDefaultExport: boolean): boolean {
  return /(Routes|Plugin)$/.test(name) || (isDefaultExport && /^src\/http\/(routes|plugins)\//.test(repoPath(file)));
}

/**
 * Functions over MAX_FUNCTION_LINES, named by their enclosing names (`outer > inner`). A function's
 * lines are its own: the functions it declares are measured on their own, so a factory returning
 * its methods is as long as its wiring, and each method as long as itself.
 */
export function longFunctions(file: string, sf: ts.SourceFile, max = MAX_FUNCTION_LINES): string[] {
  const problems: string[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const span = (node: ts.Node) => lineOf(node.getEnd()) - lineOf(node.getStart(sf)) + 1;
  const isFunction = (node: ts.Node): node is ts.SignatureDeclaration => ts.isFunctionLike(node) && 'body' in node && Boolean(node.body);
  /** The functions directly inside `node`, not inside another of them. */
  const nested = (node: ts.Node): ts.SignatureDeclaration[] => {
    const found: ts.SignatureDeclaration[] = [];
    const walk = (child: ts.Node): void => {
      if (isFunction(child)) found.push(child);
      else ts.forEachChild(child, walk);
    };
    ts.forEachChild(node, walk);
    return found;
  };
  const visit = (node: ts.SignatureDeclaration, outer: string[]): void => {
    const name = functionName(node, sf);
    const path = [...outer, name];
    const inner = nested(node);
    const lines = span(node) - inner.reduce((sum, fn) => sum + span(fn), 0);
    const isDefault = ts.isExportAssignment(node.parent) || (ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword));
    if (lines > max && !isRegistration(file, name, isDefault)) problems.push(`${path.join(' > ')} is ${lines} lines`);
    for (const fn of inner) visit(fn, path);
  };
  for (const fn of nested(sf)) visit(fn, []);
  return problems;
}

function functionName(node: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(sf);
  if (ts.isExportAssignment(parent)) return 'default';
  if (ts.isCallExpression(parent)) return `${parent.expression.getText(sf).slice(0, 40)}(…) callback`;
  return '(anonymous)';
}

export function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}
