import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
