import { expect } from 'chai';
import { passwordProblem } from '../../app/auth/passwords.js';
import { pathProblem } from '../../app/directory/users/rules.js';
import { safeNext } from '../../app/http/return-to.js';
import { hasControlChars } from '../../app/identity/names.js';
import { redactUrl } from '../../app/log.js';

describe('rules', () => {
  it('accepts well-formed folder paths', () => {
    for (const path of ['users', 'users/staff', 'a/b/c', 'x'.repeat(200)]) expect(pathProblem(path), path).to.equal(undefined);
  });

  it('refuses empty segments, leading or trailing slashes and long paths', () => {
    for (const path of ['', '/users', 'users/', 'a//b', 'a/ /b', 'x'.repeat(201), 'a\u0000b']) {
      expect(pathProblem(path), JSON.stringify(path)).to.be.a('string');
    }
  });

  it('spots control characters', () => {
    expect(hasControlChars('ana\u0007')).to.equal(true);
    expect(hasControlChars('Ana Müller')).to.equal(false);
  });

  it('asks for a password of 8 to 72 bytes that is not the username', () => {
    expect(passwordProblem('short', 'ana')).to.match(/at least 8/);
    expect(passwordProblem('ü'.repeat(37), 'ana')).to.match(/at most 72 bytes/);
    expect(passwordProblem('ana-the-admin', 'ana-the-admin')).to.match(/username/);
    expect(passwordProblem('a good passphrase', 'ana')).to.equal(undefined);
  });

  it('follows a login only to a local path', () => {
    expect(safeNext('/directory/users?q=a')).to.equal('/directory/users?q=a');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'evil', undefined, ['/x']]) {
      expect(safeNext(bad), String(bad)).to.equal(undefined);
    }
  });

  it('keeps recovery tokens out of logged URLs', () => {
    expect(redactUrl('/recovery/abcDEF123_-?x=1')).to.equal('/recovery/[token]?x=1');
    expect(redactUrl('/directory/users')).to.equal('/directory/users');
  });
});
