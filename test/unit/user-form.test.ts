import { expect } from 'chai';
import {
  attributesText,
  NEW_USER_VALUES,
  parseAttributes,
  parseValidUntil,
  readUserForm,
  validUntilText,
} from '../../app/directory/users/form.js';
import { filterQuery, parseFilter } from '../../app/directory/users/list-url.js';

describe('user form', () => {
  it('reads YAML and JSON mappings, and an empty text as {}', () => {
    expect(parseAttributes('team: blue\nlevel: 3')).to.deep.equal({ value: { team: 'blue', level: 3 } });
    expect(parseAttributes('{"team": "blue", "tags": ["a"]}')).to.deep.equal({ value: { team: 'blue', tags: ['a'] } });
    expect(parseAttributes('  ')).to.deep.equal({ value: {} });
  });

  it('refuses lists, scalars, null and broken YAML', () => {
    for (const text of ['- a', '[1, 2]', '"text"', '42', 'null', '~']) {
      expect(parseAttributes(text), text).to.have.property('problem').that.contains('mapping');
    }
    expect(parseAttributes('a: [1, 2')).to.have.property('problem').that.contains('not valid YAML');
  });

  it('shows stored attributes as YAML', () => {
    expect(attributesText({})).to.equal('{}');
    expect(attributesText({ team: 'blue' })).to.equal('team: blue\n');
  });

  it('trims the username and name, and lets the last is_active value win', () => {
    const form = readUserForm({ username: '  ana  ', path: 'users', name: ' Ana ', is_active: ['false', 'true'] });
    expect(form.errors).to.deep.equal({});
    expect(form.fields).to.include({ username: 'ana', name: 'Ana', isActive: true });
    expect(readUserForm({ username: 'ana', path: 'users', is_active: 'false' }).fields!.isActive).to.equal(false);
  });

  it('keeps the defaults for fields a program leaves out', () => {
    const form = readUserForm({ username: 'ana' }, { ...NEW_USER_VALUES, path: 'users/staff' });
    expect(form.fields).to.include({ path: 'users/staff', isActive: true, type: 'internal' });
  });

  it('collects every field error at once', () => {
    const form = readUserForm({ username: '', path: 'a//b', email: 'x', attributes: '- a', type: 'robot' });
    expect(Object.keys(form.errors).sort()).to.deep.equal(['attributes', 'email', 'path', 'type', 'username']);
    expect(form.fields).to.equal(undefined);
  });
});

describe('list filter', () => {
  it('reads the URL, falling back to defaults for unknown values', () => {
    expect(parseFilter({ path: '/users/staff/', q: ' ana ', active: 'all', sort: '-last_login' })).to.deep.include({
      path: 'users/staff',
      q: 'ana',
      showInactive: true,
      sort: 'last_login',
      descending: true,
      page: null,
    });
    expect(parseFilter({ sort: 'password', page: 'garbage' })).to.deep.include({ sort: 'username', descending: false, page: null });
    expect(parseFilter({ q: ['a', 'b'] }).q).to.equal('');
  });

  it('writes short URLs that round-trip', () => {
    expect(filterQuery(parseFilter({}))).to.equal('');
    const filter = parseFilter({ path: 'users/staff', q: 'a b', active: 'all', sort: '-name' });
    expect(filterQuery(filter)).to.equal('?path=users%2Fstaff&q=a+b&active=all&sort=-name');
    expect(parseFilter(Object.fromEntries(new URLSearchParams(filterQuery(filter))))).to.deep.equal(filter);
    expect(filterQuery(filter, { path: '' })).to.equal('?q=a+b&active=all&sort=-name');
  });
});

describe('user form: valid until (issue 17)', () => {
  const read = (valid_until: string) => readUserForm({ username: 'ana', path: 'users', valid_until });

  it('reads a datetime-local value in UTC, and empty as never', () => {
    expect(read('2030-01-02T03:04').fields!.validUntil!.toISOString()).to.equal('2030-01-02T03:04:00.000Z');
    expect(read('2030-01-02T03:04:05').fields!.validUntil!.toISOString()).to.equal('2030-01-02T03:04:05.000Z');
    expect(read('').fields!.validUntil).to.equal(null);
    expect(read('   ').fields!.validUntil).to.equal(null);
    expect(readUserForm({ username: 'ana', path: 'users' }).fields!.validUntil).to.equal(null);
  });

  it('honours an offset or Z, and drops parts of a second', () => {
    expect(parseValidUntil('2030-01-02T03:04:05+02:00')).to.deep.equal({ value: new Date('2030-01-02T01:04:05Z') });
    expect(parseValidUntil('2030-01-02T03:04:05-0130')).to.deep.equal({ value: new Date('2030-01-02T04:34:05Z') });
    expect(parseValidUntil('2030-01-02T03:04:05.999Z')).to.deep.equal({ value: new Date('2030-01-02T03:04:05Z') });
    expect(parseValidUntil('2030-01-02 03:04z')).to.deep.equal({ value: new Date('2030-01-02T03:04:00Z') });
  });

  it('takes a time in the past (the account is expired at once) from 1970 on', () => {
    expect(parseValidUntil('1970-01-01T00:00')).to.deep.equal({ value: new Date(0) });
    expect(parseValidUntil('2001-09-09T01:46:40Z')).to.deep.equal({ value: new Date(1e12) });
    expect(parseValidUntil('9999-12-31T23:59:59')).to.have.property('value');
  });

  it('refuses what is not a time, or out of range, with a message', () => {
    for (const text of [
      'tomorrow',
      '2030-02-29T00:00',
      '2030-00-10T00:00',
      '2030-01-02T24:00',
      '2030-01-02T10:60',
      '2030-01-02T10:00:60',
      '2030-01-02',
      '2030-01-02T10:00+24:00',
      '2030-1-2T3:04',
      '1969-12-31T23:59:59',
      '0050-01-01T00:00',
      '1970-01-01T00:30+01:00',
      '9999-12-31T23:00-02:00',
      '+012030-01-02T03:04',
      `2030-01-02T03:04${'0'.repeat(10_000)}`,
      '2030-01-02T03:04\u0000',
    ])
      expect(parseValidUntil(text), text)
        .to.have.property('problem')
        .that.matches(/^Enter a /);
    expect(Object.keys(read('soon').errors)).to.deep.equal(['valid_until']);
  });

  it("shows a stored time as the form's field does, with seconds only when set", () => {
    expect(validUntilText(null)).to.equal('');
    expect(validUntilText(new Date('2030-01-02T03:04:00Z'))).to.equal('2030-01-02T03:04');
    expect(validUntilText(new Date('2030-01-02T03:04:05Z'))).to.equal('2030-01-02T03:04:05');
  });
});
