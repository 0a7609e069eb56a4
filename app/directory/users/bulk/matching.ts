import type { Knex } from 'knex';
import { MAX_IDS } from '../../../http/bulk.js';
import { whereListed } from '../list-query.js';
import { parseFilter } from '../list-url.js';

/**
 * "Select all matching": the ids of the users that a list's filter selects (`filter` is the list's
 * query string: folder, search, status), at most MAX_IDS of them, or null when more match. The
 * selection is resolved here, on the server, when the review shows and again when it is confirmed.
 */
export async function matchingIds(db: Knex, filter: string): Promise<string[] | null> {
  // In no particular order: ordering would make a search walk the whole username index.
  const query = db('users')
    .select('id')
    .limit(MAX_IDS + 1);
  whereListed(query, parseFilter(Object.fromEntries(new URLSearchParams(filter))));
  const ids: number[] = (await query).map((row: { id: number }) => row.id);
  return ids.length > MAX_IDS ? null : ids.map(String);
}
