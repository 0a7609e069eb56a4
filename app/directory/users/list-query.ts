import type { Knex } from 'knex';
import type { Db, UserRow } from '../../db.js';
import { isMariaDb, isSqlite, likeStartsWithSql, startsWithSql, toDate, whereStartsWith } from '../../db.js';
import { HttpError } from '../../errors.js';
import { type Cursor, encodeCursor, type ListFilter, PAGE_SIZE, SEARCHED, SORTS, type SortKey } from './list-url.js';
import type { User } from './users.js';

/**
 * "The column starts with the prefix", written so that the column's index serves it: a range on
 * the case-sensitive username, LIKE on name and e-mail (case-insensitive columns on both databases).
 */
function prefixSql(column: (typeof SEARCHED)[number], prefix: string): [string, string[]] {
  if (column === 'username') return startsWithSql('username', prefix);
  return likeStartsWithSql(column, prefix);
}

export function wherePrefix(qb: Knex.QueryBuilder, column: (typeof SEARCHED)[number], prefix: string): void {
  qb.whereRaw(...prefixSql(column, prefix));
}

/** The folders below a folder: the paths that start with it and a slash. */
function whereBelow(qb: Knex.QueryBuilder, path: string): void {
  whereStartsWith(qb, 'path', `${path}/`);
}

/** A folder and everything below it, as index ranges rather than a LIKE over all paths. */
function whereInFolder(qb: Knex.QueryBuilder, path: string): void {
  qb.where((folder) => folder.where('path', path).orWhere((below) => whereBelow(below, path)));
}

/** What every list query shares: the folder (unless a part applies it), and whether deactivated users show. */
export function whereListed(qb: Knex.QueryBuilder, filter: ListFilter, folder = true): void {
  if (filter.path && folder) whereInFolder(qb, filter.path);
  if (!filter.showInactive) qb.where('is_active', true);
}

function sortValue(user: ListedUser, sort: SortKey): string | number | null {
  switch (sort) {
    case 'username':
      return user.username;
    case 'name':
      return user.name;
    case 'last_login':
      return user.lastLogin ? user.lastLogin.getTime() : null;
    case 'is_active':
      return user.isActive ? 1 : 0;
  }
}

function bindValue(sort: SortKey, value: string | number | null): unknown {
  return sort === 'last_login' && value !== null ? new Date(value) : value;
}

/**
 * Rows strictly after (or before) the cursor in (sort column, username) order. NULL sorts first in
 * ascending order on both databases, so the conditions spell that out.
 */
function whereBeyond(qb: Knex.QueryBuilder, filter: ListFilter, sort: SortKey, cursor: Cursor): void {
  const column = SORTS[sort].column;
  const forward = (cursor.direction === 'after') !== filter.descending; // true: towards larger values
  const cmp = forward ? '>' : '<';
  if (sort === 'username') {
    qb.where('username', cmp, cursor.username);
    return;
  }
  const value = bindValue(sort, cursor.value);
  qb.where((outer) => {
    if (value === null) {
      outer.where((same) => same.whereNull(column).where('username', cmp, cursor.username));
      if (forward) outer.orWhereNotNull(column);
    } else {
      outer
        .where(column, cmp, value as never)
        .orWhere((same) => same.where(column, value as never).where('username', cmp, cursor.username));
      if (!forward) outer.orWhereNull(column);
    }
  });
}

/** What a row of the list shows; the query reads these columns only. */
export type ListedUser = Pick<User, 'id' | 'username' | 'name' | 'email' | 'isActive' | 'path' | 'type' | 'lastLogin'>;
const LIST_COLUMNS = ['id', 'username', 'name', 'email', 'is_active', 'path', 'type', 'last_login'] as const;
type ListRow = Pick<UserRow, (typeof LIST_COLUMNS)[number]>;

function toListed(row: ListRow): ListedUser {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    email: row.email,
    isActive: Boolean(row.is_active),
    path: row.path,
    type: row.type as User['type'],
    lastLogin: toDate(row.last_login),
  };
}

export interface UserPage {
  users: ListedUser[];
  next: string | null;
  prev: string | null;
}

/** A row of the match order, with the part it came from. */
type MatchRow = ListRow & { seg: number };

/**
 * One page of users by keyset: no OFFSET and no COUNT, one query whatever the page number.
 * One row more than the page tells whether there is another page.
 */
export async function searchUsers(db: Db, filter: ListFilter, pageSize = PAGE_SIZE): Promise<UserPage> {
  const backwards = filter.page?.direction === 'before';
  const rows: ListRow[] =
    filter.sort === 'match' ? await matchPage(db, filter, pageSize) : await sortedPage(db, filter, filter.sort, pageSize);
  const more = rows.length > pageSize;
  const shown = rows.slice(0, pageSize);
  if (backwards) shown.reverse();
  const cursorFor = (row: ListRow | undefined, direction: Cursor['direction']) => {
    if (!row) return null;
    if (filter.sort !== 'match') return encodeCursor({ value: sortValue(toListed(row), filter.sort), username: row.username, direction });
    const { seg } = row as MatchRow;
    return encodeCursor({ value: row[SEARCHED[seg]], username: row.username, direction, segment: seg });
  };
  const hasNext = backwards ? Boolean(filter.page) : more;
  const hasPrev = backwards ? more : Boolean(filter.page);
  return {
    users: shown.map(toListed),
    next: hasNext ? cursorFor(shown[shown.length - 1], 'after') : null,
    prev: hasPrev ? cursorFor(shown[0], 'before') : null,
  };
}

/**
 * One page's query in the list's order: the listed users that `match` selects, in the filter's
 * folder unless `folder` is false (a part that picks its own), read from `from` (the users table).
 */
type PageQuery = (match?: (q: Knex.QueryBuilder) => void, folder?: boolean, from?: string | Knex.Raw) => Knex.QueryBuilder;

/** A page in a chosen sort order; a search then has to sort all of its matches. */
async function sortedPage(db: Db, filter: ListFilter, sort: SortKey, pageSize: number): Promise<ListRow[]> {
  const column = SORTS[sort].column;
  const backwards = filter.page?.direction === 'before';
  const order = filter.descending !== backwards ? 'desc' : 'asc';
  const page: PageQuery = (match, folder = true, from = 'users') => {
    const query = db.from(from).select(...LIST_COLUMNS);
    whereListed(query, filter, folder);
    if (match) query.where(match);
    if (filter.page) whereBeyond(query, filter, sort, filter.page);
    if (column !== 'username') query.orderBy(column, order);
    return query.orderBy('username', order).limit(pageSize + 1);
  };
  if (filter.q) return searchSorted(db, filter, sort, page, pageSize, order);
  if (!filter.path) return page();
  // The folder itself and the folders below it, as two parts, each read in order from the index
  // that suits it: with one OR over both, MariaDB walks the username index past every other
  // folder's users.
  const path = filter.path;
  const parts = [page((q) => q.where('path', path), false), page((q) => whereBelow(q, path), false)].map((p) => p.toSQL().toNative());
  return mergeParts(db, parts, column, order, pageSize, 'union all'); // a user is in one folder
}

/**
 * Parts that are each ordered and cut to a page, merged into the page in (column, username) order
 * by one statement; `union` drops a row that two parts both found.
 */
function mergeParts(
  db: Db,
  parts: Knex.SqlNative[],
  column: string,
  order: string,
  pageSize: number,
  combine: 'union' | 'union all',
): Promise<ListRow[]> {
  const orderBy = column === 'username' ? `username ${order}` : `${column} ${order}, username ${order}`;
  const union = parts.map((p, i) => `select * from (${p.sql}) as part${i}`).join(` ${combine} `);
  return runLimited(
    db,
    `select * from (${union}) as merged order by ${orderBy} limit ${pageSize + 1}`,
    parts.flatMap((p) => p.bindings),
  );
}

/**
 * A search in a chosen order is three prefix queries — username, name, email — each on its own
 * index, as one UNION statement ordered and cut to the page. One OR over the three columns would
 * make the database walk the sort index past every row that does not match. Unlike the match
 * order, this sorts every match: a common beginning costs more, within the statement time limit.
 */
async function searchSorted(
  db: Db,
  filter: ListFilter,
  sort: SortKey,
  page: PageQuery,
  pageSize: number,
  order: string,
): Promise<ListRow[]> {
  const column = SORTS[sort].column;
  const mariaDb = await isMariaDb(db);
  const parts = SEARCHED.map((searched) => {
    // MariaDB would rather walk the sort column's index past every non-matching row than sort the
    // matches of the searched column's index; it is told not to use the sort index for the order.
    const from = mariaDb && searched !== column ? usersWithoutSortOrder(db) : 'users';
    return page((w) => wherePrefix(w, searched, filter.q), true, from)
      .toSQL()
      .toNative();
  });
  return mergeParts(db, parts, column, order, pageSize, 'union'); // a user may match in two parts
}

/**
 * A page of the match order: the parts still to read (username, name, e-mail matches), each from
 * its own index in its own order and cut to a page, in one UNION ALL statement. A user matching
 * twice belongs to the first part that matches; each row says whether it matched an earlier part,
 * and such rows are dropped here, so that no part has to skip them in the database. Only when a
 * full part lost rows that way and the page is not full does a second statement read the parts
 * with the earlier matches excluded in SQL (on the page where one part gives way to the next).
 */
async function matchPage(db: Db, filter: ListFilter, pageSize: number): Promise<MatchRow[]> {
  const cursor = filter.page;
  const backwards = cursor?.direction === 'before';
  const order = backwards ? 'desc' : 'asc';
  const from = cursor?.segment ?? (backwards ? SEARCHED.length - 1 : 0);
  const segments = SEARCHED.map((_, i) => i).filter((i) => (backwards ? i <= from : i >= from));
  if (backwards) segments.reverse();
  const [byUsername, byUsernameArgs] = prefixSql('username', filter.q);
  const [byName, byNameArgs] = prefixSql('name', filter.q);

  const read = async (excludeEarlier: boolean): Promise<MatchRow[]> => {
    const parts = segments.map((seg) => {
      const column = SEARCHED[seg];
      const query = db('users').select(
        ...LIST_COLUMNS,
        db.raw(`${seg} as seg`),
        db.raw(`(${byUsername}) as by_username`, byUsernameArgs),
        db.raw(`(${byName}) as by_name`, byNameArgs),
      );
      whereListed(query, filter);
      wherePrefix(query, column, filter.q);
      if (excludeEarlier) for (const earlier of SEARCHED.slice(0, seg)) query.whereNot((w) => wherePrefix(w, earlier, filter.q));
      if (cursor && cursor.segment === seg) whereFrom(query, column, cursor, backwards);
      if (column !== 'username') query.orderBy(column, order);
      return {
        column,
        ...query
          .orderBy('username', order)
          .limit(pageSize + 1)
          .toSQL()
          .toNative(),
      };
    });
    const union = parts.map(
      (p, k) =>
        `select m${k}.*, ${k} as part, row_number() over (order by ${p.column === 'username' ? '' : `m${k}.${p.column} ${order}, `}m${k}.username ${order}) as rk from (${p.sql}) as m${k}`,
    );
    const rows = await runLimited<MatchRow & { part: number; rk: number; by_username: unknown; by_name: unknown }>(
      db,
      union.join(' union all '),
      parts.flatMap((p) => p.bindings),
    );
    const kept: MatchRow[] = [];
    for (const [k] of parts.entries()) {
      const ofPart = rows.filter((r) => Number(r.part) === k).sort((a, b) => Number(a.rk) - Number(b.rk));
      for (const row of ofPart) if (!((row.seg > 0 && Number(row.by_username)) || (row.seg > 1 && Number(row.by_name)))) kept.push(row);
      if (kept.length > pageSize) break;
      // A full part that lost rows may hold more beyond what was read: those come before the next part.
      if (ofPart.length > pageSize) return excludeEarlier ? kept : read(true);
    }
    return kept;
  };
  return (await read(false)).slice(0, pageSize + 1);
}

/** Rows beyond the cursor in (column, username) order, as a range the column's index serves. */
function whereFrom(qb: Knex.QueryBuilder, column: string, cursor: Cursor, backwards: boolean): void {
  const [strict, loose] = backwards ? ['<', '<='] : ['>', '>='];
  if (column === 'username') {
    qb.where('username', strict, cursor.username);
    return;
  }
  qb.where(column, loose, cursor.value as string).where((w) =>
    w.where(column, strict, cursor.value as string).orWhere('username', strict, cursor.username),
  );
}

/** Runs a list statement, within a time limit on MariaDB; past it, the admin gets advice. */
async function runLimited<T = ListRow>(db: Db, sql: string, bindings: readonly unknown[]): Promise<T[]> {
  const mariaDb = await isMariaDb(db);
  try {
    const result = await db.raw(`${mariaDb ? `set statement max_statement_time=${SEARCH_TIMEOUT_S} for ` : ''}${sql}`, bindings as never[]);
    return isSqlite(db) ? result : result[0];
  } catch (err) {
    if ((err as { errno?: number }).errno === 1969)
      throw new HttpError(503, 'This search took too long. Type a longer beginning, or pick a folder first.');
    throw err;
  }
}

export const SEARCH_TIMEOUT_S = 3;
const SORT_INDEXES = ['users_username_unique', 'users_active_username', 'users_path_username', 'users_last_login_username'];

/** The users table for a FROM clause, with MariaDB's hint not to read the sort indexes for ORDER BY. */
function usersWithoutSortOrder(db: Db): Knex.Raw {
  return db.raw(`?? ignore index for order by (${SORT_INDEXES.map(() => '??').join(', ')})`, ['users', ...SORT_INDEXES]);
}
