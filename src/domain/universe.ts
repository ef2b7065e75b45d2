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

/** How an uploaded universe's columns were read, each list in name order. */
export interface UniverseColumnsRead {
  /** attributes whose every value is a number */
  numbers: string[];
  /** sector, industry, country and attributes whose every value is text: matched as exact codes */
  codes: string[];
  /** attributes holding both numbers and text (each value is kept as it reads: check for typos such as "n/a") */
  mixed: string[];
  /** the column of `;`-separated tags */
  tags: string[];
}

/** Which columns of a universe hold a value, and whether each was read as numbers, codes or tags. */
export function universeColumnsRead(rows: readonly UniverseRow[]): UniverseColumnsRead {
  const kinds = new Map<string, Set<'number' | 'text'>>();
  const note = (name: string, kind: 'number' | 'text') => {
    const seen = kinds.get(name) ?? new Set();
    seen.add(kind);
    kinds.set(name, seen);
  };
  let tags = false;
  for (const row of rows) {
    if (row.sector !== null) note('sector', 'text');
    if (row.industry !== null) note('industry', 'text');
    if (row.country !== null) note('country', 'text');
    if (row.tags.length > 0) tags = true;
    for (const [name, value] of Object.entries(row.attributes)) note(name, typeof value === 'number' ? 'number' : 'text');
  }
  const named = (wanted: (seen: Set<'number' | 'text'>) => boolean) =>
    [...kinds].filter(([, seen]) => wanted(seen)).map(([name]) => name).sort();
  return {
    numbers: named((seen) => seen.size === 1 && seen.has('number')),
    codes: named((seen) => seen.size === 1 && seen.has('text')),
    mixed: named((seen) => seen.size === 2),
    tags: tags ? ['tags'] : [],
  };
}
