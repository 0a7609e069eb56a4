import { expect } from 'chai';
import type { Knex } from 'knex';
import { prefixEnd, startsWithSql, whereStartsWith } from '../../app/db.js';
import { freshDb } from '../support/db.js';

describe('prefix ranges', () => {
  it('end each range at the first string that does not start with the prefix', () => {
    expect(prefixEnd('an')).to.equal('ao');
    expect(prefixEnd('users/')).to.equal('users0');
    expect(prefixEnd('a\u{1F600}')).to.equal('a\u{1F601}');
    expect(prefixEnd('a\uFFFF')).to.equal('a\u{10000}');
    expect(prefixEnd('a\uD7FF')).to.equal('a\uE000'); // surrogates are not characters
    expect(prefixEnd('a\u{10FFFF}')).to.equal('b');
    expect(prefixEnd('a\u{10FFFF}\u{10FFFF}')).to.equal('b');
    expect(prefixEnd('\u{10FFFF}')).to.equal(null);
    expect(prefixEnd('')).to.equal(null);
  });

  describe('on the database', function () {
    this.timeout(30_000);
    let db: Knex;
    const VALUES = [
      'a',
      'an',
      'ana',
      'anb',
      'an0',
      'an/x',
      'an.',
      'an%',
      'an_',
      'an!',
      'An',
      'añ',
      'ao',
      'am\u{10FFFF}',
      'an\u{10FFFF}',
      'an\u{10FFFF}x',
      'an\u{10FFFF}\u{10FFFF}',
      'an\uD7FF',
      'an\uD7FFx',
      'an\uE000',
      'an\uFFFF',
      'an\u{10000}',
      'an\u{1F600}',
      'b',
      '\u{10FFFF}',
      '\u{10FFFF}a',
      'zz',
    ];
    const PREFIXES = ['a', 'an', 'A', 'añ', 'an%', 'an_', 'an/', 'an\u{10FFFF}', 'an\uD7FF', 'an\uFFFF', '\u{10FFFF}', 'z', 'q', ''];

    before(async () => {
      ({ db } = await freshDb());
      const now = new Date();
      await db('users').insert(
        VALUES.map((v, i) => ({
          uuid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
          username: v,
          path: v,
          attributes: '{}',
          date_joined: now,
          last_updated: now,
        })) as never,
      );
      await db('groups').insert(
        VALUES.map((v, i) => ({
          uuid: `10000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
          name: v,
          attributes: '{}',
          created: now,
          last_updated: now,
        })) as never,
      );
    });
    after(() => db?.destroy());

    const COLUMNS: [string, string][] = [
      ['users', 'username'],
      ['users', 'path'],
      ['groups', 'name'],
    ];
    for (const [table, column] of COLUMNS) {
      it(`selects exactly the ${table}.${column} values that start with the prefix`, async () => {
        for (const prefix of PREFIXES) {
          const expected = VALUES.filter((v) => v.startsWith(prefix)).sort();
          const query = db(table);
          whereStartsWith(query, column, prefix);
          expect(((await query.pluck(column)) as string[]).sort(), `builder, ${JSON.stringify(prefix)}`).to.deep.equal(expected);
          const [sql, bindings] = startsWithSql(column, prefix);
          expect(
            ((await db(table).whereRaw(sql, bindings).pluck(column)) as string[]).sort(),
            `SQL, ${JSON.stringify(prefix)}`,
          ).to.deep.equal(expected);
        }
      });
    }
  });
});
