/**
 * A reader's position in the events table. Ids are handed out when a transaction writes its
 * events but become visible when it commits, so a higher id may be seen before a lower one: the
 * cursor sends each id once and moves past a missing id only when it shows up or after
 * `gapWaitMs` (a rolled-back transaction leaves a hole for ever). `after` is what a reader
 * resumes from: every id up to it was sent or given up on.
 */
export class EventCursor {
  private readonly seen = new Set<number>();
  private stuckSince: number | null = null;

  constructor(
    public after: number,
    private readonly gapWaitMs: number,
  ) {}

  /** The ids among `ids` (read as id > after) not handed out before; marks them seen and moves on. */
  take(ids: readonly number[], now: number): number[] {
    const fresh = ids.filter((id) => id > this.after && !this.seen.has(id));
    for (const id of fresh) this.seen.add(id);
    this.advance(now);
    return fresh;
  }

  private advance(now: number) {
    for (;;) {
      while (this.seen.delete(this.after + 1)) this.after++;
      if (this.seen.size === 0) {
        this.stuckSince = null;
        return;
      }
      this.stuckSince ??= now;
      if (now - this.stuckSince < this.gapWaitMs) return;
      // The hole has waited long enough: skip to just before the lowest id seen past it.
      this.after = Math.min(...this.seen) - 1;
      this.stuckSince = null;
    }
  }
}
