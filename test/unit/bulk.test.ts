import { expect } from 'chai';
import { alreadyActive, alreadyDeactivated, isActor, SKIPPED } from '../../app/directory/users/bulk/writes.js';
import { readIds } from '../../app/http/bulk.js';

describe('bulk selections', () => {
  it('reads ids from repeated fields and comma-separated lists, each once, and nothing else', () => {
    expect(readIds(['3', '1,2', ' 2 , 4 ', ''])).to.deep.equal(['3', '1', '2', '4']);
    expect(readIds('5')).to.deep.equal(['5']);
    expect(readIds([7, 8, 7])).to.deep.equal(['7', '8']);
    for (const value of [undefined, null, true, { ids: '1' }, [['1']]]) expect(readIds(value)).to.deep.equal([]);
  });

  it('keeps every id, so that a selection over the limit is refused rather than cut short', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => String(i + 1));
    expect(readIds(many.join(','))).to.have.length(10_001);
  });

  it('says why a user is left as they are, in the words of the review and of the results', () => {
    const user = { id: 7, username: 'ana', email: '', isActive: true, path: 'users', hasPassword: true };
    expect(alreadyDeactivated(user)).to.equal(undefined);
    expect(alreadyDeactivated({ ...user, isActive: false })).to.equal(SKIPPED.deactivated);
    expect(alreadyActive(user)).to.equal('already active');
    expect(isActor(7)(user)).to.equal('this is you');
    expect(isActor(8)(user)).to.equal(undefined);
  });
});
