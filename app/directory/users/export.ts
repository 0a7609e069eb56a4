import { once } from 'node:events';
import { Router } from 'express';
import type { Knex } from 'knex';
import type { Db } from '../../db.js';
import { isSqlite, toDate } from '../../db.js';
import { whereListed } from './list-query.js';
import { type ListFilter, parseFilter } from './list-url.js';

const COLUMNS = ['id', 'uuid', 'username', 'name', 'email', 'is_active', 'path', 'type', 'last_login', 'date_joined'] as const;

const EXPORT_BATCH = 2000;

/**
 * Every user the filter selects, in username order, without holding them all in memory: MySQL
 * streams the result (Knex's .stream()). Knex's SQLite driver reads the whole result before its
 * stream emits a row, so on SQLite the rows come in keyset batches, which also leave the single
 * connection free between batches.
 */
export async function* exportRows(db: Db, filter: ListFilter): AsyncGenerator<Record<string, unknown>> {
  if (!isSqlite(db)) {
    yield* exportQuery(db, filter).stream() as AsyncIterable<Record<string, unknown>>;
    return;
  }
  for (let after: string | null = null; ; ) {
    const query = exportQuery(db, filter).limit(EXPORT_BATCH);
    if (after !== null) query.where('username', '>', after);
    const batch: Record<string, unknown>[] = await query;
    yield* batch;
    if (batch.length < EXPORT_BATCH) return;
    after = batch[batch.length - 1].username as string;
  }
}

/** Every user the filter selects (no paging), with the columns of the file. */
function exportQuery(db: Db, filter: ListFilter): Knex.QueryBuilder {
  const query = db('users').select(...COLUMNS);
  whereListed(query, filter);
  return query.orderBy('username');
}

/** One CSV field: quoted when needed, and never read as a formula by a spreadsheet. */
export function csvField(value: unknown): string {
  let text = value instanceof Date ? value.toISOString() : value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * GET /directory/users/export.csv with the list's filters (folder, search, deactivated): rows are
 * streamed from the database to the response, so memory stays flat however many users match.
 */
export function exportRoutes(db: Knex): Router {
  const router = Router();
  router.get('/export.csv', async (req, res) => {
    const filter = parseFilter(req.query);
    res.type('text/csv; charset=utf-8').attachment(`users${filter.path ? `-${filter.path.replace(/\//g, '-')}` : ''}.csv`);
    res.write(`${COLUMNS.join(',')}\r\n`);
    const closed = once(res, 'close');
    // Leaving the loop (the client went away) ends the database stream or the batches too.
    for await (const row of exportRows(db, filter)) {
      const line = COLUMNS.map((c) =>
        csvField(c === 'last_login' || c === 'date_joined' ? toDate(row[c] as never) : c === 'is_active' ? Boolean(row[c]) : row[c]),
      ).join(',');
      if (!res.write(`${line}\r\n`)) await Promise.race([once(res, 'drain'), closed]);
      if (res.destroyed) break;
    }
    res.end();
  });
  return router;
}
