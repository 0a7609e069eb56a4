import { expect } from 'chai';
import type { Knex } from 'knex';
import { toDate } from '../../app/db.js';
import { nameKey, termsOf, usernameKey } from '../../app/directory/users/terms.js';

interface TermRow {
  term: string;
  user_id: number;
  path: string;
  is_active: boolean | number;
  name_key?: string;
  last_login?: Date | number | null;
}

/**
 * The search rows agree with the users as stored (issue 16): each user's rows in `user_terms` are
 * exactly termsOf(the stored row), each with the user's folder, status and (where the column
 * exists) folded name and last login; no row is left of a deleted user; every word is in search_words; and the
 * username and name keys (where the columns exist) are the folded username and name. Call it at the end of a test that wrote users.
 */
export async function expectSearchRowsCurrent(db: Knex): Promise<void> {
  const keyed = await db.schema.hasColumn('users', 'username_key');
  const named = await db.schema.hasColumn('user_terms', 'name_key');
  const users = await db('users').select(
    'id',
    'username',
    'name',
    'email',
    'path',
    'is_active',
    ...(keyed ? ['username_key', 'name_key'] : []),
  );
  const rows: TermRow[] = await db('user_terms').select('term', 'user_id', 'path', 'is_active', ...(named ? ['name_key'] : []));
  const byUser = new Map<number, TermRow[]>();
  for (const row of rows) byUser.set(Number(row.user_id), [...(byUser.get(Number(row.user_id)) ?? []), row]);

  const ids = new Set(users.map((u) => Number(u.id)));
  const orphans = rows.filter((r) => !ids.has(Number(r.user_id))).map((r) => `${r.user_id}:${r.term}`);
  expect(orphans, 'user_terms rows of users that no longer exist').to.deep.equal([]);

  const words = new Set((await db('search_words').select('term')).map((row: { term: string }) => row.term));
  const unlisted = [...new Set(rows.map((r) => r.term))].filter((term) => !words.has(term));
  expect(unlisted, 'words of user_terms missing from search_words').to.deep.equal([]);

  for (const user of users) {
    const mine = byUser.get(Number(user.id)) ?? [];
    expect(mine.map((r) => r.term).sort(), `user_terms words of ${user.username}`).to.deep.equal(termsOf(user).sort());
    for (const row of mine) {
      expect(row.path, `folder of ${user.username}'s word ${row.term}`).to.equal(user.path);
      expect(Boolean(row.is_active), `status of ${user.username}'s word ${row.term}`).to.equal(Boolean(user.is_active));
      if (named) {
        expect(row.name_key, `folded name beside ${user.username}'s word ${row.term}`).to.equal(nameKey(user.name));
        expect(toDate(row.last_login ?? null)?.getTime(), `last login beside ${user.username}'s word ${row.term}`).to.equal(
          toDate(user.last_login)?.getTime(),
        );
      }
    }
    if (keyed) {
      expect(user.username_key, `username_key of ${user.username}`).to.equal(usernameKey(user.username));
      expect(user.name_key, `name_key of ${user.username}`).to.equal(nameKey(user.name));
    }
  }
}
