/**
 * Objects keyed by names that come from data (targets, tags, attributes, sectors): without a
 * prototype, so `constructor`, `toString` or `__proto__` are ordinary keys — an absent one reads
 * as undefined, and assigning `__proto__` stores a value instead of replacing the prototype.
 */
export type NameRecord<T> = Record<string, T>;

/** A new null-prototype record, from entries if given. */
export function nameRecord<T>(entries: Iterable<readonly [string, T]> = []): NameRecord<T> {
  const out = Object.create(null) as NameRecord<T>;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** The record's own value for `key`, never an inherited member. */
export function own<T>(record: NameRecord<T> | null | undefined, key: string): T | undefined {
  return record != null && Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * A JSON value (as JSON.parse or the database driver built it) with every object made a
 * null-prototype record, deeply; arrays and scalars as they are.
 */
export function withNameRecords<T>(value: T): T {
  if (Array.isArray(value)) return (value as unknown[]).map((item) => withNameRecords(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) out[key] = withNameRecords((value as Record<string, unknown>)[key]);
  return out as T;
}
