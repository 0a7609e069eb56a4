import { expect } from 'chai';
import { accountKey, blockMs, bucketKey, LIMITS, lockReason, locksAccount, secondsUntil, waitText } from '../../app/auth/throttle/rules.js';

describe('brute-force protection rules', () => {
  const MINUTE = 60_000;

  it('a client waits from its fifth failure: 1 minute, doubling, capped at an hour', () => {
    const waits = Array.from({ length: 12 }, (_, i) => blockMs('client', i + 1) / MINUTE);
    expect(waits).to.deep.equal([0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
    expect(blockMs('mfa', LIMITS.client.failures)).to.equal(MINUTE);
    expect(blockMs('browser', 1_000_000), 'huge counts stay at the cap').to.equal(LIMITS.client.maxBlockMs);
  });

  it('an address waits a fixed time once it reaches its limit; an account is locked, not blocked', () => {
    expect(blockMs('address', LIMITS.address.failures - 1)).to.equal(0);
    expect(blockMs('address', LIMITS.address.failures)).to.equal(LIMITS.address.blockMs);
    expect(blockMs('recovery', LIMITS.recovery.failures)).to.equal(LIMITS.recovery.blockMs);
    expect(blockMs('mfa_user', LIMITS.secondFactor.failures - 1)).to.equal(0);
    expect(blockMs('mfa_user', LIMITS.secondFactor.failures)).to.equal(LIMITS.secondFactor.blockMs);
    expect(blockMs('account', 1000)).to.equal(0);
  });

  it('an account is locked by enough failures from enough addresses', () => {
    expect(locksAccount(20, 3)).to.equal(true);
    expect(locksAccount(19, 10), 'too few failures').to.equal(false);
    expect(locksAccount(40, 2), 'one or two addresses are held back on their own instead').to.equal(false);
    expect(lockReason(20, 7)).to.equal('20 failed logins from 7 addresses');
  });

  it('counters are named by a hash: one length, no address or username in the clear, kinds apart', () => {
    const key = bucketKey('address', '10.0.0.1');
    expect(key).to.match(/^[0-9a-f]{64}$/);
    expect(bucketKey('recovery', '10.0.0.1')).to.not.equal(key);
    expect(accountKey('Ame\u0301lie'), 'the username in its normal form').to.equal(accountKey('Amélie'));
    expect(accountKey('ana')).to.not.equal(accountKey('Ana'));
    expect(bucketKey('client', 'a\0b', 'c')).to.not.equal(bucketKey('client', 'a', 'b\0c'));
  });

  it('says how long to wait in whole seconds and minutes, never zero', () => {
    const now = new Date('2026-12-02T12:00:00Z');
    expect(secondsUntil(new Date(now.getTime() + 1500), now)).to.equal(2);
    expect(secondsUntil(new Date(now.getTime() - 5000), now)).to.equal(1);
    expect(waitText(1)).to.equal('1 minute');
    expect(waitText(60)).to.equal('1 minute');
    expect(waitText(61)).to.equal('2 minutes');
  });
});
