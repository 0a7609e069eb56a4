import type { Knex } from 'knex';
import type { Db, UserRow } from '../../db.js';
import { columnRef, isMariaDb, isSqlite, prefixEnd, startsWithSql, throughIndex, toDate, whereStartsWith } from '../../db.js';
import { HttpError } from '../../errors.js';
import { type Cursor, encodeCursor, type ListFilter, type Order, PAGE_SIZE, SEGMENTS } from './list-url.js';
import { type Match, matchOf, whereHasWords, whereMatches } from './search.js';
import { statusOf, type UserStatus, whereStatus } from './status.js';
import type { User } from './users.js';

/**
 * The users list's page: keyset paging in every order, no OFFSET, and a count only as far as it is
 * cheap. Each request picks its plan from an estimate of how many users match (one statement):
 *
 * - a search with a word that few users in scope have (at most planLimits.collectMax) reads that
 *   word's rows, then sorts those users: a few thousand rows at most, and the exact count comes
 *   with them;
 * - a search whose rarest word begins few distinct words (Kasia, Kasper) reads each of those words'
 *   users in the order from an index of user_terms, a page of each (in the best-match order, of
 *   each of its segments), merged: the page costs the same wherever the word's users lie in the
 *   order;
 * - anything else walks the index of the chosen order, which holds what the filters read (status,
 *   folder, initials), and checks the words of the users that pass: many matches mean a short walk.
 *   In a folder the walk is one per folder below it (each on the folder's own index, in order),
 *   merged into the page.
 *
 * The status filter: Deactivated is the is_active flag, which every index and user_terms hold, so
 * every plan serves it. Locked and Expired users are few (a lock runs out, an expired account is
 * soon deactivated or deleted): they are read from the index of their column and sorted
 * (statusPage), counted exactly. Active is the flag plus "not expired, not locked": the plans check
 * each candidate's row for that, and the few locked or expired users are taken off the count.
 */

/** The list counts up to this many users; beyond, it says "10,000+". */
export const COUNT_CAP = 10_000;

/**
 * Where each plan ends; tests lower them to run every plan on a few users.
 * - collectMax: a word that at most this many users in scope have is read from its rows, and those
 *   users sorted;
 * - rankedMax: the same in the best-match order, which sorts the word's rows without reading users;
 * - runsMax: a word that begins at most this many distinct words is read word by word in the order,
 *   each word's users a run of an index of user_terms, merged;
 * - walkCost: what checking one user's words costs on a walk, in rows collected; a word that most of
 *   a small folder's users have is walked, not collected, when that is cheaper (denseInFolder).
 */
export const planLimits = { collectMax: 2_000, rankedMax: 2_000, runsMax: 32, walkCost: 10 };
/** A folder with more folders below it than this is read from the whole list's index, filtered. */
const PARTS_MAX = 12;

/** What a row of the list shows; the query reads these columns only. */
export type ListedUser = Pick<
  User,
  'id' | 'username' | 'name' | 'email' | 'isActive' | 'path' | 'type' | 'lastLogin' | 'validUntil' | 'lockedUntil' | 'externalId'
> & { status: UserStatus };
const LIST_COLUMNS = [
  'id',
  'username',
  'name',
  'email',
  'is_active',
  'path',
  'type',
  'last_login',
  'username_key',
  'name_key',
  'valid_until',
  'locked_until',
  'external_id',
] as const;
type ListRow = Pick<UserRow, (typeof LIST_COLUMNS)[number]> & { seg?: number; total?: number };

export interface UserPage {
  users: ListedUser[];
  next: string | null;
  prev: string | null;
  /** Where this page starts in the whole list: 0 on the first page. */
  offset: number;
  /** How many users the list has: exactly `count`, or at least `count` when `atLeast`. */
  total: { count: number; atLeast: boolean };
}

/** The columns of each order, the last one unique (username); and the suffix of its indexes' names. */
const ORDERS: Record<Order, { columns: string[]; index: string }> = {
  username: { columns: ['username'], index: 'username' },
  name: { columns: ['name_key', 'username'], index: 'name' },
  last_login: { columns: ['last_login', 'username'], index: 'last_login' },
  is_active: { columns: ['is_active', 'username'], index: 'active' },
  match: { columns: ['username_key', 'username'], index: 'key' },
};

/** The orders in which user_terms holds each word's users: the index of each. */
const RUNS: Partial<Record<Order, string>> = {
  username: 'user_terms_username',
  is_active: 'user_terms_username',
  name: 'user_terms_name',
  last_login: 'user_terms_last_login',
  match: 'user_terms_key',
};

/** Where the list looks: every folder (null), or the folders at and below the chosen one. */
interface Scope {
  filter: ListFilter;
  match: Match | null;
  /** The folders at and below the chosen one that have users, or null for every folder. */
  paths: string[] | null;
  /** The moment the status filter and the rows' statuses are taken at. */
  now: Date;
}

/**
 * One page of the list. `paths`: the folders that have users (the folder tree's), of which the
 * page keeps the chosen folder and those below it; null when the caller has not read them.
 */
export async function searchUsers(
  db: Db,
  filter: ListFilter,
  paths: string[] | null,
  pageSize = PAGE_SIZE,
  now = new Date(),
): Promise<UserPage> {
  const scope: Scope = { filter, match: matchOf(filter.q), paths: filter.path ? foldersIn(filter.path, paths) : null, now };
  if (scope.paths?.length === 0) return { users: [], next: null, prev: null, offset: 0, total: { count: 0, atLeast: false } };
  if (filter.status === 'locked' || filter.status === 'expired') {
    const rows = await statusPage(db, scope, filter.status, pageSize);
    return pageOf(scope, rows, pageSize, { count: Number(rows[0]?.total ?? 0), atLeast: false });
  }
  const counts = await estimate(db, scope);
  const words = scope.match?.words ?? [];
  const rarest = words.length ? words.reduce((a, b) => (counts.words[b] <= counts.words[a] ? b : a)) : null;
  // The best-match order is read from the word's rows, which hold the folded username: no user row
  // is read until the page is known.
  const collectMax = filter.sort === 'match' ? planLimits.rankedMax : planLimits.collectMax;
  // A word that most of a small folder's users have is met at once on the folder's own index (its
  // run, across every folder, would be sparse there).
  const dense = rarest !== null && denseInFolder(counts, counts.words[rarest], pageSize);
  if (rarest !== null && counts.words[rarest] <= collectMax && !dense) {
    const rows = await collectPage(db, scope, rarest, pageSize);
    return pageOf(scope, rows, pageSize, { count: Number(rows[0]?.total ?? 0), atLeast: false });
  }
  const terms = rarest === null ? undefined : counts.terms[rarest];
  const rows =
    !dense && terms?.length && terms.length <= planLimits.runsMax
      ? await runsPage(db, scope, rarest!, terms, pageSize)
      : await walkPage(db, scope, counts, rarest, pageSize);
  return pageOf(scope, rows, pageSize, totalOf(counts));
}

/**
 * Is a word that `matches` users in scope have met so often in the chosen folder that walking it is
 * cheaper than collecting them? A walk reads about pageSize × folder / matches users and checks
 * each one's words; collecting reads every match (and its user row) and sorts them.
 */
function denseInFolder(counts: Counts, matches: number, pageSize: number): boolean {
  const users = counts.folder;
  if (users === undefined || users > collectLimit()) return false;
  return matches * matches > planLimits.walkCost * pageSize * users;
}

/** The most users any order collects. */
function collectLimit(): number {
  return Math.max(planLimits.collectMax, planLimits.rankedMax);
}

/** The chosen folder and the folders below it, of the known ones; null (use a range) when many or unknown. */
function foldersIn(path: string, paths: string[] | null): string[] | null {
  if (!paths) return null;
  const inside = paths.filter((p) => p === path || p.startsWith(`${path}/`));
  return inside.length <= PARTS_MAX ? inside : inside.length ? null : [];
}

/** Users in the scope's folder, by the known folders or as a range of paths. */
function whereInFolder(qb: Knex.QueryBuilder, scope: Scope, column: string | Knex.Raw = 'path'): void {
  const { path } = scope.filter;
  if (!path) return;
  const ref = columnRef(qb, column);
  if (scope.paths) qb.whereRaw(`? in (${scope.paths.map(() => '?').join(', ')})`, [ref, ...scope.paths]);
  else qb.where((folder) => folder.whereRaw('? = ?', [ref, path]).orWhere((below) => whereStartsWith(below, ref, `${path}/`)));
}

/**
 * The is_active flag of the users the filter shows (every status but Deactivated is an active
 * account), or null for both.
 */
function activeFlag(filter: ListFilter): boolean | null {
  if (filter.status) return filter.status !== 'deactivated';
  return filter.showInactive ? null : true;
}

/** The filter's is_active flag, on a table or user_terms (which has the flag too). */
function whereFlag(qb: Knex.QueryBuilder, filter: ListFilter, column = 'is_active'): void {
  const flag = activeFlag(filter);
  if (flag !== null) qb.where(column, flag);
}

/**
 * The rest of the status filter for rows read from user_terms, which has the flag only: a look-up
 * of each row's user by id (the page's few candidates, not the word's every row).
 */
function whereStatusOfUser(qb: Knex.QueryBuilder, scope: Scope, userId: string): void {
  const { status } = scope.filter;
  if (!status || status === 'deactivated') return;
  qb.whereExists((sub) => {
    sub.select(sub.client.raw('1')).from('users as u').whereRaw('?? = ??', ['u.id', userId]);
    whereStatus(sub, status, scope.now, 'u');
  });
}

/**
 * The scope's users: in its folder, of the status shown, matching its search. `flagOnly`: of the
 * status, the is_active flag only, which the indexes hold (the rest would read each user's row).
 */
function whereInScope(qb: Knex.QueryBuilder, scope: Scope, { flagOnly = false } = {}): void {
  whereInFolder(qb, scope);
  whereFlag(qb, scope.filter);
  if (scope.filter.status && !flagOnly) whereStatus(qb, scope.filter.status, scope.now);
  if (scope.match) whereMatches(qb, scope.match);
}

/** The list's filters (folder, status, search), for the export of what the list shows. */
export function whereListed(qb: Knex.QueryBuilder, filter: ListFilter, now = new Date()): void {
  whereInScope(qb, { filter, match: matchOf(filter.q), paths: null, now });
}

interface Counts {
  /** Users in scope with each word of the search. */
  words: Record<string, number>;
  /** In an order with runs: the distinct stored words that each word of the search begins, up to runsMax + 1. */
  terms: Record<string, string[]>;
  /** Without words: users in scope. */
  all?: number;
  /** In the best-match order: users in scope whose username starts with the search. */
  lead?: number;
  /** With words, in a folder of a few known ones: its users (of the status shown), up to collectLimit() + 1. */
  folder?: number;
  /**
   * With the Active filter: the locked or expired users among those counted (the other counts read
   * the flag only, from indexes), to take off the count shown.
   */
  rare?: number;
}

/**
 * How many users in scope have each word of the search (or, without words, how many users the
 * list has), and in the best-match order how many usernames start with the search, each counted up
 * to COUNT_CAP + 1, in one statement. A word's count reads its rows in user_terms, which carry the
 * folder and status; the others read an index that holds what they filter on: no user row is read.
 */
async function estimate(db: Db, scope: Scope): Promise<Counts> {
  const capped = (query: Knex.QueryBuilder, cap = COUNT_CAP) => db.raw('(select count(*) from ? as capped)', [query.limit(cap + 1)]);
  const columns: Record<string, Knex.Raw> = {};
  const words = scope.match?.words ?? [];
  for (const [i, word] of words.entries()) {
    columns[`w${i}`] = capped(holders(db, scope, word));
    if (RUNS[scope.filter.sort]) columns[`t${i}`] = termsBegunBy(db, word);
  }
  // The flag, not the rest of the Active filter, which would read a row per user: its few locked
  // and expired users are counted apart (rare) and taken off.
  if (!words.length)
    columns.all = capped(
      db('users')
        .select('id')
        .where((w) => whereInScope(w, scope, { flagOnly: true })),
    );
  if (scope.filter.status === 'active') columns.rare = db.raw('(select count(*) from ? as rare)', [lockedOrExpired(db, scope)]);
  if (words.length && scope.paths) {
    const inFolder = db('users').select('id').whereIn('path', scope.paths);
    whereFlag(inFolder, scope.filter);
    columns.folder = capped(inFolder, collectLimit());
  }
  if (words.length && scope.filter.sort === 'match') {
    const lead = db('users').select('id');
    whereInFolder(lead, scope);
    whereFlag(lead, scope.filter);
    columns.lead = capped(lead.where((w) => whereStartsWith(w, 'username_key', scope.match!.key)));
  }
  const [row] = await runLimited<Record<string, number>>(db, db.select(columns).toSQL().toNative());
  return {
    words: Object.fromEntries(words.map((word, i) => [word, Number(row[`w${i}`])])),
    terms: Object.fromEntries(words.flatMap((word, i) => (row[`t${i}`] === undefined ? [] : [[word, termList(row[`t${i}`])]]))),
    ...(row.all === undefined ? {} : { all: Number(row.all) }),
    ...(row.lead === undefined ? {} : { lead: Number(row.lead) }),
    ...(row.folder === undefined ? {} : { folder: Number(row.folder) }),
    ...(row.rare === undefined ? {} : { rare: Number(row.rare) }),
  };
}

/**
 * The active accounts in scope that are locked or expired, each read from the index of its column
 * (both few), for the Active filter's count. No user is both (whereStatus gives expiry the lead):
 * the two parts are added as they are, without a sort to drop doubles.
 */
function lockedOrExpired(db: Db, scope: Scope): Knex.QueryBuilder {
  const part = (status: 'locked' | 'expired') => {
    const rows = db.from(throughIndex(db, 'users', STATUS_INDEXES[status])).select('users.id');
    whereStatus(rows, status, scope.now);
    whereInFolder(rows, scope, filteredOnly(db, 'users.path'));
    if (scope.match) whereMatches(rows, scope.match);
    return rows;
  };
  return part('locked').unionAll(part('expired'));
}

/**
 * A column that the status indexes hold after their range's column, to be checked on each entry of
 * the range rather than sought: given a folder, SQLite would skip-scan the index, seeking the
 * folder under each distinct expiry (NULL included: every user without one): the Expired page of
 * users/staff took 94 ms at a million users, 5 ms so. A unary plus keeps a column out of SQLite's
 * index constraints.
 */
function filteredOnly(db: Db, column: string): string | Knex.Raw {
  return isSqlite(db) ? db.raw('+??', [column]) : column;
}

/** The index each rare status is read from. */
const STATUS_INDEXES = { locked: 'users_locked_until', expired: 'users_valid_until' } as const;

/**
 * The users in scope who have the word, from its rows in user_terms (by the word's range, or in a
 * few folders by (path, term)), with the given columns (user_id, and username_key and username).
 * The index named holds the status and the columns: left to itself, SQLite reads a common word's
 * users for DISTINCT from the (user_id, term) index in order, looking up each row's status (0.8 s
 * for "e" at a million users, against 8 ms on this one).
 */
function holders(db: Db, scope: Scope, word: string, columns = ['user_id'], orderIndex?: string): Knex.QueryBuilder {
  const index =
    orderIndex ?? (scope.paths ? 'user_terms_path' : columns.includes('username_key') ? 'user_terms_key' : 'user_terms_username');
  const rows = db.from(throughIndex(db, 'user_terms', index));
  rows.distinct(...columns);
  whereStartsWith(rows, 'term', word);
  whereInFolder(rows, scope);
  whereFlag(rows, scope.filter);
  return rows;
}

/**
 * The distinct stored words that begin with `word`, up to runsMax + 1 of them, joined by commas (a
 * word has no commas): a range of search_words, which keeps each word once.
 */
function termsBegunBy(db: Db, word: string): Knex.Raw {
  const [inRange, bounds] = startsWithSql('term', word);
  return db.raw(`(select group_concat(term) from (select term from search_words where ${inRange} order by term limit ?) as terms)`, [
    ...bounds,
    planLimits.runsMax + 1,
  ]);
}

function termList(value: unknown): string[] {
  return typeof value === 'string' && value ? value.split(',') : [];
}

/**
 * The count the page shows when its plan did not count: exact below the cap when one filter decides
 * it. The Active filter's locked and expired users are taken off; past the cap, what is left is a
 * lower bound ("9,998+"), as the cap hides how many more there are.
 */
function totalOf(counts: Counts): UserPage['total'] {
  const values = counts.all === undefined ? Object.values(counts.words) : [counts.all];
  const rare = counts.rare ?? 0;
  if (values.length === 1)
    return values[0] > COUNT_CAP ? { count: COUNT_CAP - rare, atLeast: true } : { count: Math.max(0, values[0] - rare), atLeast: false };
  return { count: 0, atLeast: true }; // several common words: how many users have them all is not known cheaply
}

/**
 * A join that reads the table after the rows before it (a page, or a word's few users), never the
 * other way round: on a small test table MariaDB would rather read all users first.
 */
function thenJoin(db: Db): string {
  return isSqlite(db) ? 'cross join' : 'straight_join';
}

/** Does the cursor's page read towards larger values of the order? */
function towardsLarger(filter: ListFilter): boolean {
  return (filter.page?.direction !== 'before') !== filter.descending;
}

/**
 * Rows strictly beyond the cursor in (column, username) order. NULL sorts first in ascending
 * order on both databases, so the conditions spell that out.
 */
function whereBeyond(qb: Knex.QueryBuilder, order: Order, cursor: Cursor, forward: boolean): void {
  const [column] = ORDERS[order].columns;
  const cmp = forward ? '>' : '<';
  if (column === 'username') {
    qb.where('username', cmp, cursor.username);
    return;
  }
  const value = order === 'last_login' && cursor.value !== null ? new Date(cursor.value) : cursor.value;
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

/**
 * The best-match order's two parts: 0, usernames that start with the search (the exact one first,
 * being the shortest); 1, the other matches. Both by folded username.
 */
function whereSegment(qb: Knex.QueryBuilder, key: string, segment: number): void {
  if (segment === 0) whereStartsWith(qb, 'username_key', key);
  else qb.whereNot((w) => whereStartsWith(w, 'username_key', key));
}

/**
 * The page by walking the order's index: one part per folder below the chosen one (each on the
 * folder's index) or one on the whole list's index (for the root, and for a folder that holds more
 * than COUNT_CAP of the matches, dense enough there), and in the best-match order each of those
 * once per segment; each part stops at a page, one statement merges them and reads the page's rows.
 *
 * In the best-match order the second segment (matches whose username does not start with the
 * search) is left out while the page lies among the usernames that do; when most of the word's
 * users are such usernames, the second segment is sparse in the index, and is read from the rarest
 * word's rows instead.
 */
async function walkPage(db: Db, scope: Scope, counts: Counts, rarest: string | null, pageSize: number): Promise<ListRow[]> {
  const { filter, match } = scope;
  const { columns, index } = ORDERS[filter.sort];
  const forward = towardsLarger(filter);
  const order = forward ? 'asc' : 'desc';
  const cursor = filter.page;
  const parts: Knex.QueryBuilder[] = [];
  // A folder that many users are in (its count reached the cap) is walked once on the whole list's
  // index, its folders a filter there; a smaller one folder by folder, each on its own index.
  const count = counts.all ?? Math.min(...Object.values(counts.words));
  const folders = scope.paths && scope.paths.length > 1 && count > COUNT_CAP ? [null] : (scope.paths ?? [null]);
  const walk = (segment: number | null) => {
    for (const folder of folders) {
      const part = db
        .from(throughIndex(db, 'users', folder === null ? `users_list_${index}` : `users_folder_${index}`))
        .select('id', ...columns, db.raw(`${segment ?? 0} as seg`));
      if (folder === null) whereInFolder(part, scope);
      else part.where('path', folder);
      whereFlag(part, filter);
      if (filter.status) whereStatus(part, filter.status, scope.now);
      if (match) whereMatches(part, match);
      if (segment !== null) whereSegment(part, match!.key, segment);
      if (cursor && (segment === null || segment === cursor.segment)) whereBeyond(part, filter.sort, cursor, forward);
      parts.push(part.orderBy(columns.map((column) => ({ column, order }))).limit(pageSize + 1));
    }
  };
  if (filter.sort !== 'match') walk(null);
  else {
    const from = cursor?.segment ?? 0;
    const withinLead = forward && from === 0 && (cursor?.at ?? 0) + pageSize + 1 <= (counts.lead ?? 0);
    if (!forward || from === 0) walk(0);
    if (match?.words.length && rarest !== null && !withinLead && (forward || from === 1)) {
      if ((counts.lead ?? 0) * 2 < COUNT_CAP) walk(1);
      else parts.push(rankedHolders(db, scope, rarest, { segment: 1 }).limit(pageSize + 1));
    }
  }
  return readParts(db, parts, filter, pageSize);
}

/**
 * The page from the runs of the words that the rarest word of the search begins: for each, its
 * users in scope in the order, beyond the cursor, with the other words of the search, up to a page
 * (in the order by status with deactivated users shown, one run per status); merged, a user with
 * two such words once.
 */
function runsPage(db: Db, scope: Scope, word: string, terms: string[], pageSize: number): Promise<ListRow[]> {
  const { filter, match } = scope;
  const { columns } = ORDERS[filter.sort];
  const forward = towardsLarger(filter);
  const order = forward ? 'asc' : 'desc';
  const cursor = filter.page;
  const statuses = filter.sort === 'is_active' && activeFlag(filter) === null ? [false, true] : [null];
  // The second segment of the best-match order is the run without the usernames that start with
  // the search: read as the two ranges either side of them, so that none of them is read.
  const end = match ? prefixEnd(match.key) : null;
  const ranges = segmentsToRead(filter).flatMap((segment) =>
    segment === 1 ? [{ segment, below: true }, ...(end === null ? [] : [{ segment, below: false }])] : [{ segment, below: false }],
  );
  const parts = terms.flatMap((term) =>
    statuses.flatMap((status) =>
      ranges.map(({ segment, below }) => {
        const part = db
          .from(throughIndex(db, 'user_terms', RUNS[filter.sort]!, 'run'))
          .select('run.user_id as id', ...columns.map((c) => `run.${c}`), db.raw(`${segment ?? 0} as seg`))
          .where('run.term', term);
        whereInFolder(part, scope, 'run.path');
        whereFlag(part, filter, 'run.is_active');
        whereStatusOfUser(part, scope, 'run.user_id');
        if (status !== null) part.where('run.is_active', status);
        if (segment === 0) whereSegment(part, match!.key, 0);
        else if (segment === 1) part.where('run.username_key', below ? '<' : '>=', below ? match!.key : end!);
        whereHasWords(
          part,
          match!.words.filter((w) => w !== word),
          'run.user_id',
        );
        if (cursor && (segment === null || segment === cursor.segment)) whereBeyond(part, filter.sort, cursor, forward);
        return part.orderBy(columns.map((column) => ({ column, order }))).limit(pageSize + 1);
      }),
    ),
  );
  return readParts(db, parts, filter, pageSize, { distinct: true });
}

/**
 * The segments of the best-match order that a page can take rows from: the cursor's and those after
 * it in the reading direction (null: the order has no segments).
 */
function segmentsToRead(filter: ListFilter): (number | null)[] {
  if (filter.sort !== 'match') return [null];
  const from = filter.page?.segment ?? 0;
  return Array.from({ length: SEGMENTS }, (_, s) => s).filter((s) => (towardsLarger(filter) ? s >= from : s <= from));
}

/**
 * Merges ordered parts into the page (each part: id, the order's columns, seg) and reads its users;
 * `distinct` when a user can be in more than one part, `extra` for more columns of the parts.
 */
function readParts(
  db: Db,
  parts: Knex.QueryBuilder[],
  filter: ListFilter,
  pageSize: number,
  { extra = '', distinct = false }: { extra?: string; distinct?: boolean } = {},
): Promise<ListRow[]> {
  const { columns } = ORDERS[filter.sort];
  const order = towardsLarger(filter) ? 'asc' : 'desc';
  const natives = parts.map((p) => p.toSQL().toNative());
  const union = natives.map((p, i) => `select * from (${p.sql}) as part${i}`).join(distinct ? ' union ' : ' union all ');
  const keys = ['seg', ...columns].map((c) => `${c} ${order}`).join(', ');
  return runLimited<ListRow>(db, {
    sql: `select ${LIST_COLUMNS.map((c) => `u.${c}`).join(', ')}, p.seg${extra} from (select * from (${union}) as merged order by ${keys} limit ${pageSize + 1}) as p ${thenJoin(db)} users as u on u.id = p.id order by ${keys.replace(/(^|, )/g, '$1p.')}`,
    bindings: natives.flatMap((p) => p.bindings),
  });
}

/**
 * The users in scope who have the word and every other word of the search, from the word's rows,
 * in the best-match order, as (id, username_key, username, seg), beyond the cursor, ordered: no
 * user row is read. With `segment`, only that segment.
 */
function rankedHolders(
  db: Db,
  scope: Scope,
  word: string,
  { segment, count = false }: { segment?: number; count?: boolean },
): Knex.QueryBuilder {
  const { filter, match } = scope;
  const forward = towardsLarger(filter);
  const order = forward ? 'asc' : 'desc';
  const [startsWith, bounds] = startsWithSql('username_key', match!.key);
  const ranked = db
    .from(holders(db, scope, word, ['user_id', 'username_key', 'username']).as('h'))
    .select('user_id as id', 'username_key', 'username', db.raw(`case when ${startsWith} then 0 else 1 end as seg`, bounds));
  if (count) ranked.select(db.raw('count(*) over () as total'));
  whereHasWords(
    ranked,
    match!.words.filter((w) => w !== word),
    'h.user_id',
  );
  whereStatusOfUser(ranked, scope, 'h.user_id');
  const page = db.from(ranked.as('r')).select('*');
  if (segment !== undefined) page.where('seg', segment);
  if (filter.page) whereBeyondRanked(page, filter.page, forward);
  return page.orderBy(['seg', 'username_key', 'username'].map((column) => ({ column, order })));
}

/** Rows beyond the cursor in the best-match order: in a later segment, or beyond it in its own. */
function whereBeyondRanked(qb: Knex.QueryBuilder, cursor: Cursor, forward: boolean): void {
  qb.where((w) =>
    w
      .where('seg', forward ? '>' : '<', cursor.segment!)
      .orWhere((same) => whereBeyond(same.where('seg', cursor.segment!), 'match', cursor, forward)),
  );
}

/**
 * The page from the users who have the rarest word (at most planLimits.rankedMax of them in the
 * best-match order, which reads only their rows in user_terms; at most planLimits.collectMax in
 * another order, whose values are in the user rows), sorted, and counted whole.
 */
async function collectPage(db: Db, scope: Scope, word: string, pageSize: number): Promise<ListRow[]> {
  const { filter, match } = scope;
  if (filter.sort === 'match') {
    const page = rankedHolders(db, scope, word, { count: true }).limit(pageSize + 1);
    return readParts(db, [page], filter, pageSize, { extra: ', p.total' });
  }
  const { columns } = ORDERS[filter.sort];
  const forward = towardsLarger(filter);
  const others = match!.words.filter((w) => w !== word);
  // A filter of the flag only, over a range of folders or none: the word's rows in the order's
  // index of user_terms hold the order's keys too, so the matches are sorted without reading a user
  // row (a word with 30,000 users of whom 1,700 are deactivated: 26 → 14 ms on MariaDB).
  if (!scope.paths && (!filter.status || filter.status === 'deactivated')) {
    const sorted = db
      .from(holders(db, scope, word, ['user_id', ...columns], RUNS[filter.sort]).as('h'))
      .select('user_id as id', ...columns, db.raw('0 as seg'), db.raw('count(*) over () as total'));
    whereHasWords(sorted, others, 'h.user_id');
    const page = db.from(sorted.as('m')).select('*');
    if (filter.page) whereBeyond(page, filter.sort, filter.page, forward);
    return readParts(db, [page], filter, pageSize, { extra: ', p.total' });
  }
  const order = forward ? 'asc' : 'desc';
  const matches = db
    .from(holders(db, scope, word).as('h'))
    .joinRaw(`${thenJoin(db)} users on users.id = h.user_id`)
    .select(...LIST_COLUMNS.map((c) => `users.${c}`), db.raw('0 as seg'), db.raw('count(*) over () as total'));
  whereHasWords(matches, others, 'users.id');
  if (filter.status) whereStatus(matches, filter.status, scope.now);
  const page = db.from(matches.as('m')).select('*');
  if (filter.page) whereBeyond(page, filter.sort, filter.page, forward);
  page.orderBy(columns.map((column) => ({ column, order }))).limit(pageSize + 1);
  return runLimited<ListRow>(db, page.toSQL().toNative());
}

/**
 * The locked or expired users in scope (few), read from the index of their column, which holds the
 * folder, initials and every order's keys: sorted in the order from the index, beyond the cursor,
 * counted whole; only the page's rows are read.
 */
function statusPage(db: Db, scope: Scope, status: 'locked' | 'expired', pageSize: number): Promise<ListRow[]> {
  const { filter, match } = scope;
  const forward = towardsLarger(filter);
  const ranked = filter.sort === 'match' && match;
  const [startsWith, bounds]: [string, string[]] = ranked ? startsWithSql('users.username_key', match.key) : ['0', []];
  const rows = db
    .from(throughIndex(db, 'users', STATUS_INDEXES[status]))
    .select(
      'users.id',
      ...ORDERS[filter.sort].columns.map((c) => `users.${c}`),
      db.raw(`${ranked ? `case when ${startsWith} then 0 else 1 end` : '0'} as seg`, bounds),
      db.raw('count(*) over () as total'),
    );
  whereStatus(rows, status, scope.now);
  whereInFolder(rows, scope, filteredOnly(db, 'users.path'));
  if (match) whereMatches(rows, match);
  const page = db.from(rows.as('m')).select('*');
  if (filter.page) {
    if (filter.sort === 'match') whereBeyondRanked(page, filter.page, forward);
    else whereBeyond(page, filter.sort, filter.page, forward);
  }
  return readParts(db, [page], filter, pageSize, { extra: ', p.total' });
}

function toListed(row: ListRow, now: Date): ListedUser {
  const user = {
    id: row.id,
    username: row.username,
    name: row.name,
    email: row.email,
    isActive: Boolean(row.is_active),
    path: row.path,
    type: row.type as User['type'],
    lastLogin: toDate(row.last_login),
    validUntil: toDate(row.valid_until),
    lockedUntil: toDate(row.locked_until),
    externalId: row.external_id ?? null,
  };
  return { ...user, status: statusOf(user, now) };
}

/** The page's rows, links to the pages either side, and where it starts. */
function pageOf({ filter, now }: Scope, rows: ListRow[], pageSize: number, total: UserPage['total']): UserPage {
  const backwards = filter.page?.direction === 'before';
  const more = rows.length > pageSize;
  const shown = rows.slice(0, pageSize);
  if (backwards) shown.reverse();
  const hasNext = backwards ? Boolean(filter.page) : more;
  const hasPrev = backwards ? more : Boolean(filter.page);
  const offset = hasPrev ? Math.max(0, filter.page?.at ?? 0) : 0;
  const cursorAt = (row: ListRow, direction: Cursor['direction'], at: number): string => {
    const [column] = ORDERS[filter.sort].columns;
    const raw = (row as unknown as Record<string, unknown>)[column];
    const value =
      filter.sort === 'last_login'
        ? raw === null
          ? null
          : toDate(raw as never)!.getTime()
        : filter.sort === 'is_active'
          ? raw
            ? 1
            : 0
          : (raw as string);
    return encodeCursor({ value, username: row.username, direction, at, ...(filter.sort === 'match' ? { segment: Number(row.seg) } : {}) });
  };
  const count = total.atLeast ? Math.max(total.count, offset + shown.length + (hasNext ? 1 : 0)) : total.count;
  return {
    users: shown.map((row) => toListed(row, now)),
    next: hasNext && shown.length ? cursorAt(shown[shown.length - 1], 'after', offset + shown.length) : null,
    prev: hasPrev && shown.length ? cursorAt(shown[0], 'before', Math.max(0, offset - pageSize)) : null,
    offset,
    total: { count, atLeast: total.atLeast },
  };
}

/** Runs a list statement, within a time limit on MariaDB; past it, the admin gets advice. */
async function runLimited<T>(db: Db, { sql, bindings }: { sql: string; bindings: readonly unknown[] }): Promise<T[]> {
  const mariaDb = await isMariaDb(db);
  try {
    // MariaDB would turn a word's EXISTS into a semi-join that reads every row of a common word
    // first; the plans here look up each candidate's word instead.
    const settings = `max_statement_time=${SEARCH_TIMEOUT_S}, optimizer_switch='semijoin=off,materialization=off'`;
    const result = await db.raw(`${mariaDb ? `set statement ${settings} for ` : ''}${sql}`, bindings as never[]);
    return isSqlite(db) ? result : result[0];
  } catch (err) {
    if ((err as { errno?: number }).errno === 1969)
      throw new HttpError(503, 'This search took too long. Type a longer beginning, or pick a folder first.');
    throw err;
  }
}

export const SEARCH_TIMEOUT_S = 3;
