import { expect } from 'chai';
import { signingKey } from '../../app/oauth/provider.js';
import { freshDb } from '../support/db.js';

describe('the OAuth signing key', () => {
  it('is made once when several processes need it at the same time, and every one then signs with it', async () => {
    const { db } = await freshDb();
    try {
      const keys = await Promise.all(Array.from({ length: 8 }, () => signingKey(db)));
      expect(new Set(keys.map((k) => k.kid)).size).to.equal(1);
      expect(await db('oauth_keys').pluck('kid')).to.deep.equal([keys[0].kid]);
      expect((await signingKey(db)).kid).to.equal(keys[0].kid);
    } finally {
      await db.destroy();
    }
  });
});
