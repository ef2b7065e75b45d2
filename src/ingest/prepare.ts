import { encodeRankCodes, rankCodes } from '../domain/prepared.js';
import { type RawEncoding, encodeRaw } from '../domain/raw.js';
import type { LiveUniverse } from './aligned.js';
import type { IngestBody } from './id-value.js';
import { parseSubmission } from './submission.js';

/** A validated submission in the form it is stored: raw values, prepared rank codes, identity. */
export interface PreparedSubmission {
  rows: number;
  covered: number;
  sha256: string;
  /** raw values aligned to the universe, exactly, in rawEncoding */
  raw: Buffer;
  rawEncoding: RawEncoding;
  /** encoded rank codes of the prepared vector */
  ranks: Buffer;
}

/** The one place a submission body becomes what is stored (throws InvalidBodyError). */
export function prepareSubmission(body: IngestBody, universe: LiveUniverse, opts: { era: number; minCoverage: number }): PreparedSubmission {
  const parsed = parseSubmission(body, universe, opts);
  const { codes, covered } = rankCodes(parsed.aligned);
  const raw = encodeRaw(parsed.aligned);
  return {
    rows: parsed.rows,
    covered,
    sha256: parsed.sha256,
    raw: raw.bytes,
    rawEncoding: raw.encoding,
    ranks: encodeRankCodes(codes),
  };
}
