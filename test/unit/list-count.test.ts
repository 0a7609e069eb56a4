import { expect } from 'chai';
import { describeList } from '../../app/directory/users/list-count.js';
import type { ListedUser } from '../../app/directory/users/list-query.js';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }) as ListedUser);
const page = (shown: number, offset: number, count: number, atLeast = false) => ({ users: rows(shown), offset, total: { count, atLeast } });
const LIST = { q: '', path: '' };

describe('list count: the words of the toolbar and the live region', () => {
  it('names the rows shown and the whole, with thousands separators', () => {
    expect(describeList(page(50, 0, 12345), LIST)).to.equal('1–50 of 12,345 users');
    expect(describeList(page(50, 50, 12345), LIST)).to.equal('51–100 of 12,345 users');
    expect(describeList(page(45, 1234500, 1234545), LIST)).to.equal('1,234,501–1,234,545 of 1,234,545 users');
  });

  it('says "10,000+" when the count is a lower bound', () => {
    expect(describeList(page(50, 0, 10000, true), LIST)).to.equal('1–50 of 10,000+ users');
    expect(describeList(page(50, 10000, 10000, true), LIST)).to.equal('10,001–10,050 of 10,050+ users');
  });

  it('says just how many when one page holds them all', () => {
    expect(describeList(page(1, 0, 1), LIST)).to.equal('1 user');
    expect(describeList(page(7, 0, 7), LIST)).to.equal('7 users');
    expect(describeList(page(50, 0, 50), LIST)).to.equal('50 users');
  });

  it('names a single row on a later page once', () => {
    expect(describeList(page(1, 50, 51), LIST)).to.equal('51 of 51 users');
  });

  it('says why nothing is shown', () => {
    expect(describeList(page(0, 0, 0), { q: 'zzz', path: '' })).to.equal('No users match');
    expect(describeList(page(0, 0, 0), { q: '', path: 'users/empty' })).to.equal('No users in this folder');
    expect(describeList(page(0, 0, 0), LIST)).to.equal('No users');
  });
});
