import { entryOf } from '../../http/params.js';
import { parseStatus, type UserStatus } from './status.js';

export const PAGE_SIZE = 50;

export const SORTS = {
  username: { column: 'username', label: 'Username' },
  name: { column: 'name', label: 'Name' },
  last_login: { column: 'last_login', label: 'Last login' },
  // The status column sorts by the is_active flag (deactivated users first): a lock or an expiry is
  // a moment's state, which no index can keep in order.
  is_active: { column: 'is_active', label: 'Status' },
} as const;
export type SortKey = keyof typeof SORTS;
/**
 * A search without a chosen sort lists its matches best first: usernames that start with the text
 * (the exact one first), then the other matches; each part by username without case or accents.
 */
export type Order = SortKey | 'match';
/** The parts of the best-match order: usernames starting with the search, then the rest. */
export const SEGMENTS = 2;
/** The furthest a page can start (beyond, a position is not one the list wrote). */
const OFFSET_MAX = 1e9;

/** What the list shows; every field lives in the URL. */
export interface ListFilter {
  path: string;
  q: string;
  showInactive: boolean;
  /**
   * Only users of this status; null: as `showInactive` says (every user, or all but deactivated
   * ones). When set, `showInactive` has no effect.
   */
  status: UserStatus | null;
  sort: Order;
  descending: boolean;
  page: Cursor | null;
}

/**
 * A keyset position: the sort value and username of a row, which way to read from it, and where in
 * the list the page it leads to starts (`at`, for "51–100 of …"). In the best-match order,
 * `segment` says which part the row is in and `value` is its folded username.
 */
export interface Cursor {
  value: string | number | null;
  username: string;
  direction: 'after' | 'before';
  at: number;
  segment?: number;
}

/** The longest search kept, in UTF-16 units. */
const SEARCH_MAX = 150;

/**
 * The text cut to at most `max` UTF-16 units, and never between the two halves of a character
 * such as an emoji: half of one is not text, and the links of the page would search for U+FFFD.
 */
function cut(text: string, max: number): string {
  const head = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}

export function parseFilter(query: Record<string, unknown>): ListFilter {
  const text = (key: string) => (typeof query[key] === 'string' ? (query[key] as string).trim() : '');
  const sortParam = text('sort');
  const descending = sortParam.startsWith('-');
  const sortName = descending ? sortParam.slice(1) : sortParam;
  // Names are stored in NFC (directory/names.ts): a decomposed "é" in the URL means the same.
  const q = cut(text('q').normalize('NFC'), SEARCH_MAX);
  const chosen = entryOf(SORTS, sortName) !== undefined;
  const sort: Order = chosen ? (sortName as SortKey) : q ? 'match' : 'username';
  return {
    path: text('path')
      .normalize('NFC')
      .replace(/^\/+|\/+$/g, ''),
    q,
    showInactive: text('active') === 'all',
    status: parseStatus(text('status')),
    sort,
    descending: chosen && descending,
    page: decodeCursor(text('page'), sort),
  };
}

/**
 * The `sort` URL parameter: empty for the default order (username ascending, or the match order of
 * a search), `-name` for descending.
 */
export function sortParam(filter: Pick<ListFilter, 'sort' | 'descending' | 'q'>): string {
  if (filter.sort === 'match' || (filter.sort === 'username' && !filter.descending && !filter.q)) return '';
  return `${filter.descending ? '-' : ''}${filter.sort}`;
}

/** The query string for a filter, with changes; empty values are left out to keep URLs short. */
export function filterQuery(
  filter: ListFilter,
  change: Partial<Record<'path' | 'q' | 'active' | 'status' | 'sort' | 'page', string>> = {},
): string {
  const params = new URLSearchParams();
  const values: Record<string, string> = {
    path: filter.path,
    q: filter.q,
    active: filter.showInactive ? 'all' : '',
    status: filter.status ?? '',
    sort: sortParam(filter),
    page: '',
    ...change,
  };
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** The `page` URL parameter for a keyset position. */
export function encodeCursor(cursor: Cursor): string {
  const fields = [cursor.direction === 'after' ? 'a' : 'b', cursor.value, cursor.username, cursor.at];
  if (cursor.segment !== undefined) fields.push(cursor.segment);
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/**
 * Longer than any cursor the list writes: a value of at most 255 characters and a username of at
 * most 150, each character at most six bytes of JSON, in base64.
 */
const TOKEN_MAX = 4096;

/**
 * The keyset position of a `page` URL parameter in the given order, or null (the first page) for
 * anything that is not a token encodeCursor wrote for that order. Buffer's base64 reader skips
 * characters outside the alphabet, so the token is checked first: a token with a space or a bidi
 * mark in it is not the same position.
 */
export function decodeCursor(token: string, order: Order): Cursor | null {
  if (!token || token.length > TOKEN_MAX || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length < 4 || fields.length > 5) return null;
  const [direction, value, username, at, segment] = fields as unknown[];
  if ((direction !== 'a' && direction !== 'b') || typeof username !== 'string') return null;
  if (value !== null && typeof value !== 'string' && typeof value !== 'number') return null;
  if (!(Number.isInteger(at) && (at as number) >= 0 && (at as number) <= OFFSET_MAX)) return null;
  if (segment !== undefined && !(Number.isInteger(segment) && (segment as number) >= 0 && (segment as number) < SEGMENTS)) return null;
  const cursor: Cursor = {
    direction: direction === 'a' ? 'after' : 'before',
    value,
    username,
    at: at as number,
    ...(segment === undefined ? {} : { segment: segment as number }),
  };
  return isPositionIn(order, cursor) ? cursor : null;
}

/** The range of a JavaScript Date, in milliseconds either side of 1970. */
const DATE_MAX_MS = 8.64e15;

/**
 * Whether the cursor could have come from a row in this order: a value of the sort column's kind,
 * and a part of the match order exactly when the order is the match order. Anything else compares
 * a column with a value of another kind, which the two databases answer differently.
 */
function isPositionIn(order: Order, { value, segment }: Cursor): boolean {
  if ((order === 'match') !== (segment !== undefined)) return false;
  switch (order) {
    case 'match':
    case 'username':
    case 'name':
      return typeof value === 'string';
    case 'last_login':
      return value === null || (Number.isInteger(value) && Math.abs(value as number) <= DATE_MAX_MS);
    case 'is_active':
      return value === 0 || value === 1;
  }
}
