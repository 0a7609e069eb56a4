import { expect } from 'chai';
import { statusOf } from '../../app/directory/users/status.js';

describe("a user's status", () => {
  const now = new Date('2026-12-02T12:00:00Z');
  const before = new Date('2026-12-02T11:59:59Z');
  const after = new Date('2026-12-02T12:00:01Z');
  const user = { isActive: true, validUntil: null, lockedUntil: null };

  it('is Active without an end of validity or a lock', () => {
    expect(statusOf(user, now)).to.equal('active');
    expect(statusOf({ ...user, validUntil: after, lockedUntil: before }, now)).to.equal('active');
  });

  it('is Expired from the end of validity on, and Locked until the lock runs out', () => {
    expect(statusOf({ ...user, validUntil: now }, now)).to.equal('expired');
    expect(statusOf({ ...user, lockedUntil: after }, now)).to.equal('locked');
    expect(statusOf({ ...user, lockedUntil: now }, now)).to.equal('active');
  });

  it('puts an admin’s deactivation first, then expiry, then a lock', () => {
    expect(statusOf({ isActive: false, validUntil: before, lockedUntil: after }, now)).to.equal('deactivated');
    expect(statusOf({ ...user, validUntil: before, lockedUntil: after }, now)).to.equal('expired');
  });
});
