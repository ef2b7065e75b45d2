import { describe, expect, it } from 'vitest';
import type { Score, ScoreStatus } from '../../src/domain/scoring.js';
import { scoreStatus } from '../../src/services/scoring.js';

const score = (status: ScoreStatus): Score => ({ value: status === 'ok' ? 0.01 : null, status, overlap: 1 });

describe('scoreStatus', () => {
  it('is ok when both scores exist, the shared reason when neither does', () => {
    expect(scoreStatus(score('ok'), score('ok'))).toBe('ok');
    expect(scoreStatus(score('insufficient_overlap'), score('insufficient_overlap'))).toBe('insufficient_overlap');
    expect(scoreStatus(score('degenerate'), score('degenerate'))).toBe('degenerate');
  });

  it('names the missing score and why when only one exists', () => {
    expect(scoreStatus(score('ok'), score('empty'))).toBe('mmc_empty');
    expect(scoreStatus(score('ok'), score('degenerate'))).toBe('mmc_degenerate');
    expect(scoreStatus(score('degenerate'), score('ok'))).toBe('corr_degenerate');
  });
});
