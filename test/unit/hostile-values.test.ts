import { expect } from 'chai';
import { parseAttributes } from '../../app/directory/form-fields.js';
import { deeperThan } from '../../app/http/body.js';
import { loggable } from '../../app/http/errors.js';
import { entryOf, parseId } from '../../app/http/params.js';

describe('what an error logs', () => {
  it('keeps the whole message when it has no " - " in it', () => {
    expect(loggable(new Error('connect ECONNREFUSED 127.0.0.1:3306')).message).to.equal('connect ECONNREFUSED 127.0.0.1:3306');
    expect(loggable(new TypeError('res.page is not a function')).message).to.equal('res.page is not a function');
  });

  it("keeps only the driver's part of a message that quotes the statement", () => {
    const err = new Error(
      "insert into `users` (`password`) values ('$2b$10$secret') - Duplicate entry 'ada' for key 'users_username_unique'",
    );
    expect(loggable(err).message).to.equal("Duplicate entry 'ada' for key 'users_username_unique'");
  });
});

describe('values from requests', () => {
  it('reads ids as digits within the range of ids, and nothing else', () => {
    expect(parseId('1')).to.equal(1);
    expect(parseId('2147483647')).to.equal(2147483647);
    for (const value of [
      '0',
      '-1',
      '1.5',
      '1e3',
      '1e400',
      'abc',
      '',
      ' 7',
      '0x1F',
      '2147483648',
      '99999999999999999999',
      'NaN',
      undefined,
      ['1'],
      1,
    ]) {
      expect(parseId(value), String(value)).to.equal(null);
    }
  });

  it("finds only the own entries of a table, not its prototype's", () => {
    const table = { name: 'Name' };
    expect(entryOf(table, 'name')).to.equal('Name');
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])
      expect(entryOf(table, key), key).to.equal(undefined);
  });

  it('measures nesting without recursion, a cycle counting as too deep', () => {
    expect(deeperThan({ a: [1, { b: 2 }] }, 3)).to.equal(false);
    expect(deeperThan({ a: [1, { b: {} }] }, 3)).to.equal(true);
    expect(deeperThan(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 64)).to.equal(true);
    const loop: unknown[] = [];
    loop.push(loop);
    expect(deeperThan(loop, 64)).to.equal(true);
    expect(deeperThan('text', 0)).to.equal(false);
  });
});

describe('attributes nested deeply', () => {
  it('refuses YAML and JSON nested past 32 levels before composing it, and aliases that nest', () => {
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    expect(parseAttributes(nested(32))).to.have.property('value');
    for (const text of [
      nested(33),
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `a:\n  ${'- '.repeat(20_000)}x`,
      `${Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k:`).join('\n')} 1`,
      'a: &a [*a]',
    ]) {
      expect(parseAttributes(text), text.slice(0, 40)).to.deep.equal({ problem: 'Attributes may nest at most 32 levels deep' });
    }
  });
});
