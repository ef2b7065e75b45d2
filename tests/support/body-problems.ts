import type { IngestBody } from '../../src/ingest/id-value.js';
import { type BodyProblem, type BodyProblemCode, InvalidBodyError } from '../../src/ingest/problems.js';

export const csv = (text: string): IngestBody => ({ kind: 'csv', text });
export const json = (value: unknown): IngestBody => ({ kind: 'json', value });

/** The problems a body was rejected with; fails when it was accepted or failed otherwise. */
export function rejection(run: () => unknown): BodyProblem[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidBodyError) return error.problems;
    throw error;
  }
  throw new Error('expected the body to be rejected');
}

export function problemOf(run: () => unknown, code: BodyProblemCode): BodyProblem {
  const problems = rejection(run);
  const found = problems.find((problem) => problem.code === code);
  if (found === undefined) throw new Error(`no ${code} among ${JSON.stringify(problems)}`);
  return found;
}
