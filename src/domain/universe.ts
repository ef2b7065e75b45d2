/** One live id of an era with its private attributes (docs/concepts.md). */
export interface UniverseRow {
  id: string;
  sector: string | null;
  industry: string | null;
  country: string | null;
  tags: string[];
  attributes: Record<string, number | string>;
}

/** Live ids are opaque strings; this is the only place their shape is defined. */
export const LIVE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
