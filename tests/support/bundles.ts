import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RECOMPUTE = path.join(REPOSITORY, 'clients/python/stakeweight/recompute.py');

export interface Recomputed {
  model: string;
  corr: number | null;
  mmc: number | null;
  payout: string;
  served: { corr: number | null; mmc: number | null; payout: string | null };
  digest: string;
  chainDigest: string;
  checks: Record<string, boolean>;
  ok: boolean;
}

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const scratch = mkdtempSync(path.join(tmpdir(), 'sw-bundle-'));
let files = 0;

/** Writes text to a fresh file of the test's scratch directory. */
export function scratchFile(name: string, content: string | Buffer): string {
  const file = path.join(scratch, `${files++}-${name}`);
  writeFileSync(file, content);
  return file;
}

/** The authors' script, with Python's standard library only, on a bundle file and a predictions file. */
export async function recompute(bundleFile: string, predictionsFile: string, model: string, json = true): Promise<{ spawned: Spawned; result?: Recomputed }> {
  const spawned = await run('python3', [RECOMPUTE, bundleFile, predictionsFile, '--model', model, ...(json ? ['--json'] : [])]);
  return { spawned, result: json && spawned.stdout.trim() ? (JSON.parse(spawned.stdout) as Recomputed) : undefined };
}

export interface RecomputeCase {
  bundle: string;
  predictions: string;
  model: string;
}

/**
 * The script's main() with --json on many cases in one Python process (each start-up costs
 * seconds on a loaded machine): its exit code and printed result per case.
 */
export async function recomputeMany(cases: RecomputeCase[]): Promise<{ code: number; result: Recomputed | null; stderr: string }[]> {
  const program = `
import contextlib, io, json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, ${JSON.stringify(path.dirname(RECOMPUTE))})
import recompute
out = []
for case in json.load(open(sys.argv[1])):
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        code = recompute.main([case["bundle"], case["predictions"], "--model", case["model"], "--json"])
    out.append({"code": code, "result": json.loads(printed.getvalue()) if printed.getvalue() else None, "stderr": errors.getvalue()})
print(json.dumps(out))
`;
  const spawned = await run('python3', ['-c', program, scratchFile('cases.json', JSON.stringify(cases))]);
  if (spawned.code !== 0) throw new Error(`python3 failed (${spawned.code}): ${spawned.stderr}`);
  return JSON.parse(spawned.stdout);
}
