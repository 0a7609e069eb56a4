import { expect } from 'chai';
import type { Knex } from 'knex';
import { migratorConfig } from '../../app/db.js';
import { searchUsers } from '../../app/directory/users/list-query.js';
import { parseFilter } from '../../app/directory/users/list-url.js';
import { initialsOf, nameKey, termsOf, usernameKey } from '../../app/directory/users/terms.js';
import { unmigratedDb } from '../support/db.js';
import { expectSearchRowsCurrent } from '../support/search-terms.js';

/**
 * A database that already has users gets their search rows from the migrations (issue 16): from
 * before the search existed (20261202_09), and from the first version of the search rows
 * (20261202_10, without the folded name beside each word).
 */
const PEOPLE = [
  { username: 'ana', name: 'Ana Müller', email: 'ana@corp.example', path: 'users/staff', is_active: true },
  { username: 'fixture.dana', name: 'Dee Smith', email: '', path: 'users', is_active: false },
  { username: 'lukasz', name: 'Łukasz Kasprzak', email: 'lk@corp.example', path: 'users', is_active: true },
  { username: 'mara.muller42', name: 'Mara Müller', email: 'mm42@corp.example', path: 'users', is_active: true },
];

async function migrateUpTo(db: Knex, last: string): Promise<void> {
  for (;;) {
    const [, ran] = await db.migrate.up(migratorConfig);
    if ((ran as string[]).includes(last) || !(ran as string[]).length) return;
  }
}

async function insertPeople(db: Knex): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, p] of PEOPLE.entries()) {
    const [id] = await db('users').insert({
      ...p,
      uuid: `00000000-0000-0000-0000-00000000000${i}`,
      type: 'internal',
      attributes: '{}',
      date_joined: new Date(),
      last_updated: new Date(),
    });
    ids.push(Number(id));
  }
  return ids;
}

describe('migrations write the search rows of existing users (issue 16)', function () {
  this.timeout(60_000);
  let db: Knex;

  beforeEach(async () => {
    db = await unmigratedDb();
  });
  afterEach(() => db?.destroy());

  const names = async (q: string, sort = '') =>
    (await searchUsers(db, parseFilter({ q, sort, active: 'all' }), null)).users.map((u) => u.username);

  it('users from before the search are indexed: their words, keys and folded names', async () => {
    await migrateUpTo(db, '20261202_09_exact_names');
    await insertPeople(db);
    await db.migrate.latest(migratorConfig);
    await expectSearchRowsCurrent(db);
    expect(await names('muller')).to.deep.equal(['ana', 'mara.muller42']);
    expect(await names('kas', 'name')).to.deep.equal(['lukasz']);
  });

  it('search rows of the first version (digits joined to letters, no folded name beside) are written anew', async () => {
    await migrateUpTo(db, '20261202_10_search_terms');
    const ids = await insertPeople(db);
    // What the first version of the search wrote: the words without the folded name, and the keys.
    for (const [i, p] of PEOPLE.entries()) {
      const common = { user_id: ids[i], path: p.path, is_active: p.is_active, username: p.username, username_key: usernameKey(p.username) };
      await db('user_terms').insert(termsOf(p).map((term) => ({ term, ...common })));
      await db('users')
        .where('id', ids[i])
        .update({ username_key: usernameKey(p.username), name_key: nameKey(p.name), initials: initialsOf(termsOf(p)) });
    }
    await db.migrate.latest(migratorConfig);
    await expectSearchRowsCurrent(db);
    expect(await names('dee', 'name')).to.deep.equal(['fixture.dana']);
    expect(await names('muller4', 'name')).to.deep.equal(['mara.muller42']);
    expect(await db('search_words').where('term', 'like', 'muller%').pluck('term')).to.deep.equal(['muller']);
  });
});
