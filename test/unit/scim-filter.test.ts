import { expect } from 'chai';
import { ScimError } from '../../app/scim/errors.js';
import { type Dialect, FILTER_MAX, filterSql, parseFilter, type Resolver, type Scalar } from '../../app/scim/filter.js';

const text = (sql: string, caseExact = false, binary = false): Scalar => ({ kind: 'scalar', sql, type: 'string', caseExact, binary });
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const SCALARS: Record<string, Scalar> = {
  id: { kind: 'scalar', sql: 'users.id', type: 'string', caseExact: true, numeric: true },
  username: text('users.username', true, true),
  displayname: text('users.name'),
  active: { kind: 'scalar', sql: 'users.is_active', type: 'boolean', caseExact: true },
  'meta.created': { kind: 'scalar', sql: 'users.date_joined', type: 'dateTime', caseExact: true },
  logins: { kind: 'scalar', sql: 'users.logins', type: 'integer', caseExact: true },
  [`${ENTERPRISE}:department`.toLowerCase()]: text('users.department'),
};
const EMAIL_SUBS: Record<string, Scalar> = { value: text('e.value'), type: text('e.type', true) };

const resolve: Resolver = (path) => {
  const key = path.toLowerCase();
  if (key === 'emails') {
    return {
      kind: 'multi',
      exists: (c) => `exists (select 1 from emails e where e.user_id = users.id and ${c})`,
      sub: (name) => EMAIL_SUBS[name.toLowerCase()],
    };
  }
  if (key === 'name') return { kind: 'multi', exists: (c) => c, sub: () => undefined };
  return SCALARS[key];
};

function sql(filter: string, dialect: Dialect = 'sqlite') {
  return filterSql(parseFilter(filter), resolve, dialect);
}

function refused(run: () => unknown, detail: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a ScimError').to.be.instanceOf(ScimError);
  const scim = error as ScimError;
  expect(scim.status).to.equal(400);
  expect(scim.scimType).to.equal('invalidFilter');
  expect(scim.message).to.match(detail);
}

describe('SCIM filters', () => {
  describe('parsing', () => {
    it('refuses empty, overlong and malformed filters as invalidFilter', () => {
      refused(() => parseFilter(''), /empty/);
      refused(() => parseFilter('   '), /empty/);
      refused(() => parseFilter(`userName eq "${'x'.repeat(FILTER_MAX)}"`), /longer than 4000/);
      for (const bad of [
        'userName eq',
        'userName',
        'userName zz "x"',
        'userName eq "x" and',
        '(userName pr',
        'userName pr)',
        'userName eq "x" userName pr',
        'userName eq x',
        'userName eq [1]',
        'emails[type eq "work"',
        'and userName pr',
      ]) {
        refused(() => parseFilter(bad), /not valid/);
      }
    });

    it('refuses strings that are not JSON strings', () => {
      refused(() => parseFilter('userName eq "ana'), /closing quote/);
      refused(() => parseFilter('userName eq "a\\qb"'), /not a valid JSON string/);
      refused(() => parseFilter('userName eq "a\tb"'), /not a valid JSON string/);
    });

    it('decodes JSON escapes in strings', () => {
      expect(parseFilter('userName eq "a\\\\b\\"c\\u00e9\\n"')).to.deep.equal({ op: 'eq', attrPath: 'userName', compValue: 'a\\b"cé\n' });
      expect(parseFilter('userName eq "x) or (a pr"')).to.deep.equal({ op: 'eq', attrPath: 'userName', compValue: 'x) or (a pr' });
    });

    it('reads JSON numbers wherever they stand', () => {
      expect(parseFilter('logins gt -1 and (logins lt 1e+1)')).to.deep.equal({
        op: 'and',
        filters: [
          { op: 'gt', attrPath: 'logins', compValue: -1 },
          { op: 'lt', attrPath: 'logins', compValue: 10 },
        ],
      });
      expect(parseFilter(`${ENTERPRISE}:department eq 2.5`)).to.deep.equal({
        op: 'eq',
        attrPath: `${ENTERPRISE}:department`,
        compValue: 2.5,
      });
      refused(() => parseFilter('logins gt 007'), /not valid/);
    });

    it('accepts 50 levels of nesting, not 51', () => {
      const parens = (n: number) => `${'('.repeat(n)}userName pr${')'.repeat(n)}`;
      const nots = (n: number) => `${'not ('.repeat(n)}userName pr${')'.repeat(n)}`;
      expect(() => parseFilter(parens(50))).not.to.throw();
      refused(() => parseFilter(parens(51)), /deeper than 50/);
      expect(() => parseFilter(nots(50))).not.to.throw();
      refused(() => parseFilter(nots(51)), /deeper than 50/);
      expect(() => parseFilter(`${'not '.repeat(50)}userName pr`)).not.to.throw();
      refused(() => parseFilter(`${'not '.repeat(51)}userName pr`), /deeper than 50/);
      const chain = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "${i}"`).reduceRight((rest, f) => `${f} and (${rest})`);
      refused(() => parseFilter(chain(52)), /deeper than 50/);
      refused(() => parseFilter(`${'('.repeat(1990)}userName pr${')'.repeat(1990)}`), /deeper than 50/);
    });

    it('refuses a sub-attribute after a value filter, which the parser would turn into another condition', () => {
      refused(() => parseFilter('emails[type eq "work"].value eq "x"'), /sub-attribute after a value filter/);
    });

    it('reads operators in any case and keeps precedence (and before or)', () => {
      expect(parseFilter('userName EQ "a" OR displayName Pr AND active eq true')).to.deep.equal({
        op: 'or',
        filters: [
          { op: 'eq', attrPath: 'userName', compValue: 'a' },
          {
            op: 'and',
            filters: [
              { op: 'pr', attrPath: 'displayName' },
              { op: 'eq', attrPath: 'active', compValue: true },
            ],
          },
        ],
      });
    });
  });

  describe('translation', () => {
    it('keeps every value a binding, whatever it holds', () => {
      for (const dialect of ['sqlite', 'mysql'] as const) {
        for (const value of ["x' or 1=1 --", 'x" or "1"="1', "'; drop table users; --", '?', '??', '\\', '%_', 'ä\u0000b']) {
          const filter = `userName eq ${JSON.stringify(value)} or displayName co ${JSON.stringify(value)} or emails[value sw ${JSON.stringify(value)}]`;
          const out = sql(filter, dialect);
          if (!value.includes('?')) expect(out.sql, filter).not.to.include(value);
          expect(out.sql.split('?').length - 1, filter).to.equal(out.bindings.length);
          expect(out.bindings, filter).to.include(value);
        }
      }
    });

    it('compares case-insensitive attributes lowered on both sides', () => {
      expect(sql('displayName eq "ÄNNE"')).to.deep.equal({
        sql: '(users.name is not null and unicode_lower(users.name) = ?)',
        bindings: ['änne'],
      });
      expect(sql('displayName eq "ÄNNE"', 'mysql')).to.deep.equal({
        sql: '(users.name is not null and cast(lower(users.name) as binary) = ?)',
        bindings: ['änne'],
      });
    });

    it('serves sw and eq on a binary column from its index', () => {
      expect(sql('userName sw "an"')).to.deep.equal({
        sql: '(users.username is not null and users.username >= ? and users.username < ?)',
        bindings: ['an', 'ao'],
      });
      expect(sql('userName eq "an"', 'mysql').sql).to.match(/users\.username = \?/);
    });

    it('makes ne the negation of eq, and nests and, or, not, value filters as written', () => {
      expect(sql('not (userName ne "a") and (emails[type eq "work" and value co "x"] or emails.type pr)')).to.deep.equal({
        sql:
          '((not (not (users.username is not null and (users.username) = ?))) and '
          + '(exists (select 1 from emails e where e.user_id = users.id and ((e.type is not null and (e.type) collate binary = ?) and '
          + '(e.value is not null and instr(unicode_lower(e.value), ?) > 0))) or '
          + 'exists (select 1 from emails e where e.user_id = users.id and (e.type is not null and length(e.type) > 0))))',
        bindings: ['a', 'work', 'x'],
      });
    });

    it('reads emails alone as emails.value', () => {
      expect(sql('emails co "@x"').sql).to.equal(sql('emails.value co "@x"').sql);
      expect(sql('emails pr').sql).to.include('length(e.value) > 0');
    });

    it('resolves paths with their schema URN', () => {
      expect(sql(`${ENTERPRISE}:department eq "R&D"`).bindings).to.deep.equal(['r&d']);
    });

    it('compares dateTimes as instants, a time without a zone in UTC', () => {
      expect(sql('meta.created gt "2024-01-02T03:04:05.678+01:00"').bindings).to.deep.equal([Date.UTC(2024, 0, 2, 2, 4, 5, 678)]);
      expect(sql('meta.created ge "2024-01-02T03:04"').bindings).to.deep.equal([Date.UTC(2024, 0, 2, 3, 4)]);
      expect(sql('meta.created lt "2024-01-02"', 'mysql').bindings).to.deep.equal([new Date(Date.UTC(2024, 0, 2))]);
    });

    it('compares numeric ids as numbers when they are one', () => {
      expect(sql('id eq "42"')).to.deep.equal({ sql: '(users.id is not null and users.id = ?)', bindings: [42] });
      expect(sql('id eq "042"').sql).to.include('cast(users.id as text)');
      expect(sql('id sw "4"', 'mysql').sql).to.include('cast(users.id as char)');
    });

    it('refuses values of the wrong type', () => {
      refused(() => sql('active eq "yes"'), /not a boolean/);
      refused(() => sql('active eq 1'), /not a boolean/);
      refused(() => sql('userName eq true'), /not a string/);
      refused(() => sql('userName eq 5'), /not a string/);
      refused(() => sql('logins gt "5"'), /not a number/);
      refused(() => sql('meta.created gt 5'), /ISO 8601/);
      refused(() => sql('meta.created gt "yesterday"'), /ISO 8601/);
      refused(() => sql('meta.created gt "2024-13-01"'), /ISO 8601/);
      refused(() => sql('meta.created eq "1700000000000"'), /ISO 8601/);
    });

    it('refuses operators that do not apply to the type, and comparisons with null', () => {
      refused(() => sql('active gt true'), /only eq, ne and pr/);
      refused(() => sql('active co true'), /only eq, ne and pr/);
      refused(() => sql('meta.created co "2024"'), /strings only/);
      refused(() => sql('logins sw 1'), /strings only/);
      refused(() => sql('userName eq null'), /use "userName pr"/);
      refused(() => sql('userName ne null'), /use "userName pr"/);
    });

    it('refuses unknown attributes, naming them', () => {
      refused(() => sql('nope eq "x"'), /"nope"/);
      refused(() => sql('emails.nope eq "x"'), /"emails.nope"/);
      refused(() => sql('emails[nope eq "x"]'), /"emails.nope"/);
      refused(() => sql('nope[value eq "x"]'), /"nope"/);
      refused(() => sql('userName[value eq "x"]'), /not a multi-valued attribute/);
      refused(() => sql('emails[emails[value pr]]'), /do not nest/);
      refused(() => sql('name pr'), /"name"/);
      refused(() => sql(`${ENTERPRISE}:nope pr`), /nope/);
    });
  });
});
