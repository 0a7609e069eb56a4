/**
 * Reading values that come from a request (path, query string, body) where they pick something
 * out: an id, or an entry of a fixed table.
 */

/** The largest id an integer key holds (MariaDB's INT); a larger number is no id, not an error. */
const MAX_ID = 2_147_483_647;

/** An id from a URL, query string or form: digits only, within range; anything else is null. */
export function parseId(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) return null;
  const id = Number(value);
  return id >= 1 && id <= MAX_ID ? id : null;
}

/** The ids among request values (the rest are dropped). */
export function parseIds(values: readonly unknown[]): number[] {
  return values.map(parseId).filter((id): id is number => id !== null);
}

/**
 * The entry of a fixed table for a key from a request. Only the table's own keys count:
 * `table["constructor"]` would be Object's, and `"toString" in table` is true.
 */
export function entryOf<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
