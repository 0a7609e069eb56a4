import { expect } from 'chai';
import { attributesText, NEW_USER_VALUES, parseAttributes, readUserForm } from '../../app/directory/users/form.js';
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
