import type { Knex } from 'knex';
import type { Db, UserRow } from '../../db.js';
import { isMariaDb, isSqlite } from '../../db.js';
import { HttpError } from '../../http/errors.js';
import { toUser, type User } from './users.js';

export const PAGE_SIZE = 50;

export const SORTS = {
  username: { column: 'username', label: 'Username' },
  name: { column: 'name', label: 'Name' },
  last_login: { column: 'last_login', label: 'Last login' },
  is_active: { column: 'is_active', label: 'Active' },
} as const;
export type SortKey = keyof typeof SORTS;

/** What the list shows; every field lives in the URL. */
export interface ListFilter {
  path: string;
  q: string;
  showInactive: boolean;
  sort: SortKey;
  descending: boolean;
  page: Cursor | null;
}

/** A keyset position: the sort value and username of a row, and which way to read from it. */
interface Cursor {
  value: string | number | null;
  username: string;
  direction: 'after' | 'before';
}

export function parseFilter(query: Record<string, unknown>): ListFilter {
  const text = (key: string) => (typeof query[key] === 'string' ? (query[key] as string).trim() : '');
  const sortParam = text('sort');
  const descending = sortParam.startsWith('-');
  const sortName = descending ? sortParam.slice(1) : sortParam;
  return {
    path: text('path').replace(/^\/+|\/+$/g, ''),
    q: text('q').slice(0, 150),
    showInactive: text('active') === 'all',
    sort: sortName in SORTS ? (sortName as SortKey) : 'username',
    descending: sortName in SORTS && descending,
    page: decodeCursor(text('page')),
  };
}

/** The `sort` URL parameter: empty for the default (username, ascending), `-name` for descending. */
export function sortParam(filter: Pick<ListFilter, 'sort' | 'descending'>): string {
  return filter.sort === 'username' && !filter.descending ? '' : `${filter.descending ? '-' : ''}${filter.sort}`;
}

/** The query string for a filter, with changes; empty values are left out to keep URLs short. */
export function filterQuery(filter: ListFilter, change: Partial<Record<'path' | 'q' | 'active' | 'sort' | 'page', string>> = {}): string {
  const params = new URLSearchParams();
  const values: Record<string, string> = {
    path: filter.path,
    q: filter.q,
    active: filter.showInactive ? 'all' : '',
    sort: sortParam(filter),
    page: '',
    ...change,
  };
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const query = params.toString();
  return query ? `?${query}` : '';
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'after' ? 'a' : 'b', cursor.value, cursor.username])).toString('base64url');
}

function decodeCursor(token: string): Cursor | null {
  if (!token) return null;
  try {
    const [direction, value, username] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if ((direction !== 'a' && direction !== 'b') || typeof username !== 'string') return null;
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') return null;
    return { direction: direction === 'a' ? 'after' : 'before', value, username };
  } catch {
    return null;
  }
}

// '!' escapes LIKE's wildcards: a backslash would mean different things to MySQL and SQLite.
const LIKE_SPECIALS = /[!%_]/g;
// The highest code point: every string that starts with the prefix sorts below prefix + this.
const MAX_CHAR = '\u{10FFFF}';

/** Rows whose column starts with the prefix, written so that the column's index serves it. */
function wherePrefix(qb: Knex.QueryBuilder, column: string, prefix: string, caseSensitive: boolean): void {
  if (caseSensitive) {
    qb.where(column, '>=', prefix).where(column, '<', prefix + MAX_CHAR);
  } else {
    qb.whereRaw(`?? like ? escape '!'`, [column, `${prefix.replace(LIKE_SPECIALS, '!$&')}%`]);
  }
}

/** A folder and everything below it, as an index range rather than a LIKE over all paths. */
function whereInFolder(qb: Knex.QueryBuilder, path: string): void {
  qb.where((folder) => folder.where('path', path).orWhere((below) => below.where('path', '>=', `${path}/`).where('path', '<', `${path}0`)));
}

function sortValue(user: User, sort: SortKey): string | number | null {
  switch (sort) {
    case 'username': return user.username;
    case 'name': return user.name;
    case 'last_login': return user.lastLogin ? user.lastLogin.getTime() : null;
    case 'is_active': return user.isActive ? 1 : 0;
  }
}

function bindValue(sort: SortKey, value: string | number | null): unknown {
  return sort === 'last_login' && value !== null ? new Date(value) : value;
}

/**
 * Rows strictly after (or before) the cursor in (sort column, username) order. NULL sorts first in
 * ascending order on both databases, so the conditions spell that out.
 */
function whereBeyond(qb: Knex.QueryBuilder, filter: ListFilter, cursor: Cursor): void {
  const column = SORTS[filter.sort].column;
  const forward = (cursor.direction === 'after') !== filter.descending; // true: towards larger values
  const cmp = forward ? '>' : '<';
  if (filter.sort === 'username') {
    qb.where('username', cmp, cursor.username);
    return;
  }
  const value = bindValue(filter.sort, cursor.value);
  qb.where((outer) => {
    if (value === null) {
      outer.where((same) => same.whereNull(column).where('username', cmp, cursor.username));
      if (forward) outer.orWhereNotNull(column);
    } else {
      outer.where(column, cmp, value as never)
        .orWhere((same) => same.where(column, value as never).where('username', cmp, cursor.username));
      if (!forward) outer.orWhereNull(column);
    }
  });
}

export interface UserPage {
  users: User[];
  next: string | null;
  prev: string | null;
}

/**
 * One page of users by keyset: no OFFSET and no COUNT, one query whatever the page number.
 * One row more than the page tells whether there is another page.
 */
export async function searchUsers(db: Db, filter: ListFilter, pageSize = PAGE_SIZE): Promise<UserPage> {
  const column = SORTS[filter.sort].column;
  const backwards = filter.page?.direction === 'before';
  const descending = filter.descending !== backwards;
  const order = descending ? 'desc' : 'asc';
  const page = (match?: (q: Knex.QueryBuilder) => void) => {
    const query = db('users').select('*');
    if (filter.path) whereInFolder(query, filter.path);
    if (!filter.showInactive) query.where('is_active', true);
    if (match) query.where(match);
    if (filter.page) whereBeyond(query, filter, filter.page);
    if (column !== 'username') query.orderBy(column, order);
    return query.orderBy('username', order).limit(pageSize + 1);
  };
  const rows: UserRow[] = filter.q ? await searchPage(db, filter, page, pageSize, order) : await page();
  const more = rows.length > pageSize;
  const users = rows.slice(0, pageSize).map(toUser);
  if (backwards) users.reverse();
  const first = users[0];
  const last = users[users.length - 1];
  const cursorFor = (user: User, direction: Cursor['direction']) =>
    encodeCursor({ value: sortValue(user, filter.sort), username: user.username, direction });
  const hasNext = backwards ? Boolean(filter.page) : more;
  const hasPrev = backwards ? more : Boolean(filter.page);
  return {
    users,
    next: hasNext && last ? cursorFor(last, 'after') : null,
    prev: hasPrev && first ? cursorFor(first, 'before') : null,
  };
}

/**
 * A search is three prefix queries — username, name, email — each on its own index, as one UNION
 * statement ordered and cut to the page. One OR over the three columns would make the database
 * walk the sort index past every row that does not match. On MariaDB the statement has a time limit.
 */
async function searchPage(db: Db, filter: ListFilter, page: (match: (q: Knex.QueryBuilder) => void) => Knex.QueryBuilder, pageSize: number, order: string): Promise<UserRow[]> {
  const q = filter.q;
  const column = SORTS[filter.sort].column;
  const mariaDb = await isMariaDb(db);
  const parts = (['username', 'name', 'email'] as const).map((searched) => {
    const sql = page((w) => wherePrefix(w, searched, q, searched === 'username')).toSQL().toNative();
    // MariaDB would rather walk the sort column's index past every non-matching row than sort the
    // matches of the searched column's index; it is told not to use the sort index for the order.
    if (!mariaDb || searched === column) return sql;
    return { ...sql, sql: sql.sql.replace('from `users`', `from \`users\` ignore index for order by (${SORT_INDEXES.join(', ')})`) };
  });
  const orderBy = column === 'username' ? `username ${order}` : `${column} ${order}, username ${order}`;
  const union = parts.map((p, i) => `select * from (${p.sql}) as match${i}`).join(' union ');
  const sql = `${mariaDb ? `set statement max_statement_time=${SEARCH_TIMEOUT_S} for ` : ''}select * from (${union}) as matches order by ${orderBy} limit ${pageSize + 1}`;
  try {
    const result = await db.raw(sql, parts.flatMap((p) => p.bindings as never[]));
    return isSqlite(db) ? result : result[0];
  } catch (err) {
    if ((err as { errno?: number }).errno === 1969) throw new HttpError(503, 'This search took too long. Type a longer beginning, or pick a folder first.');
    throw err;
  }
}

export const SEARCH_TIMEOUT_S = 3;
const SORT_INDEXES = ['users_username_unique', 'users_active_username', 'users_path_username', 'users_last_login_username'];

export interface Folder {
  name: string;
  path: string;
  children: Folder[];
}

/**
 * The distinct paths by a loose index scan, so the cost follows the number of folders, not of
 * users. MariaDB does that for DISTINCT on the (path, username) index by itself ("index for
 * group-by"); SQLite gets a recursive query that seeks the next path on the index at each step
 * (MariaDB, in turn, would scan the index at each step of that one).
 */
async function distinctPaths(db: Db): Promise<string[]> {
  if (!isSqlite(db)) return db('users').distinct('path').orderBy('path').pluck('path');
  const result = await db.raw(`with recursive folders(path) as (
      select min(path) from users
      union all
      select (select min(u.path) from users u where u.path > folders.path) from folders where folders.path is not null
    ) select path from folders where path is not null`);
  return (result as { path: string }[]).map((r) => r.path);
}

/** The folder tree: every distinct path and each of its prefixes. */
export async function folderTree(db: Db): Promise<Folder[]> {
  const rows = (await distinctPaths(db)).map((path) => ({ path }));
  const root: Folder = { name: '', path: '', children: [] };
  for (const { path } of rows) {
    let node = root;
    for (const [i, segment] of path.split('/').entries()) {
      let child = node.children.find((c) => c.name === segment);
      if (!child) {
        child = { name: segment, path: path.split('/').slice(0, i + 1).join('/'), children: [] };
        node.children.push(child);
      }
      node = child;
    }
  }
  return root.children;
}

/** Every user the filter selects (no paging), for a streamed export; the search is one OR here. */
export function exportQuery(db: Db, filter: ListFilter): Knex.QueryBuilder {
  const query = db('users').select('id', 'uuid', 'username', 'name', 'email', 'is_active', 'path', 'type', 'last_login', 'date_joined');
  if (filter.path) whereInFolder(query, filter.path);
  if (!filter.showInactive) query.where('is_active', true);
  if (filter.q) {
    const q = filter.q;
    query.where((w) => w.where((u) => wherePrefix(u, 'username', q, true)).orWhere((n) => wherePrefix(n, 'name', q, false)).orWhere((e) => wherePrefix(e, 'email', q, false)));
  }
  return query.orderBy('username');
}
