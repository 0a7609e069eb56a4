import { expect } from 'chai';
import { parseRunAt, readOffboardingForm } from '../../app/directory/users/offboarding/form.js';
import { describeScheduled, idleDue, parseCursor, specProblems } from '../../app/directory/users/offboarding/offboarding.js';

const NOW = new Date('2026-12-02T16:00:00Z');
const DAY = 86_400_000;

describe('scheduled offboarding rules', () => {
  it('reads a datetime-local value as UTC, and only real moments', () => {
    expect(parseRunAt('2027-01-31T17:05')?.toISOString()).to.equal('2027-01-31T17:05:00.000Z');
    expect(parseRunAt('2027-01-31 17:05:30')?.toISOString()).to.equal('2027-01-31T17:05:30.000Z');
    expect(parseRunAt('2027-01-31T17:05Z')?.toISOString()).to.equal('2027-01-31T17:05:00.000Z');
    for (const bad of [
      '2027-02-31T10:00',
      '2027-13-01T10:00',
      '2027-01-01T24:00',
      '2027-01-01T10:60',
      '0050-01-01T10:00',
      '2027-1-1T10:00',
      '',
      'now',
      '2027-01-01T10:00+02:00',
    ]) {
      expect(parseRunAt(bad), bad).to.equal(null);
    }
  });

  it('turns the form into a spec, inferring `when` from the field a program sent', () => {
    expect(
      readOffboardingForm({ action: 'delete', when: 'at', run_at: '2027-01-31T17:00', idle_days: '90', reason: ' Left ' }, NOW).spec,
    ).to.deep.equal({
      action: 'delete',
      when: { at: new Date('2027-01-31T17:00:00Z') },
      reason: 'Left',
    });
    expect(readOffboardingForm({ action: 'deactivate', idle_days: '45' }, NOW).spec).to.deep.equal({
      action: 'deactivate',
      when: { idleDays: 45 },
      reason: '',
    });
    expect(readOffboardingForm({ action: 'deactivate', run_at: '2027-01-31T17:00', idle_days: '45' }, NOW).spec?.when).to.deep.equal({
      at: new Date('2027-01-31T17:00:00Z'),
    });
    // Reasons are kept in NFC: "é" typed as e and an accent is one character.
    expect(readOffboardingForm({ action: 'delete', idle_days: '1', reason: 'Cafe\u0301' }, NOW).spec?.reason).to.equal('Caf\u00e9');
  });

  it('says what is wrong per field', () => {
    const errors = (body: Record<string, unknown>) => readOffboardingForm(body, NOW).errors;
    expect(errors({ action: 'delete', when: 'at', run_at: '2026-12-02T15:59' })).to.deep.equal({ run_at: 'Choose a time in the future' });
    expect(errors({ action: 'delete', when: 'at', run_at: '2026-12-02T16:00' })).to.deep.equal({ run_at: 'Choose a time in the future' });
    expect(errors({ action: 'delete', when: 'idle', idle_days: '3651' })).to.deep.equal({
      idle_days: 'Enter a whole number of days from 1 to 3650',
    });
    expect(errors({ action: 'delete', when: 'idle', idle_days: '3650' })).to.deep.equal({});
    expect(errors({ action: 'hasOwnProperty', when: 'sometime', reason: '\u202eevil' })).to.deep.equal({
      action: 'Choose deactivate or delete',
      when: 'Choose when: at a date and time, or after days without login',
      reason: 'Remove the invisible characters (such as zero-width spaces or right-to-left marks)',
    });
    expect(errors({ action: ['delete'], when: { at: 1 }, run_at: ['x', '2027-01-01T00:00'] })).to.deep.equal({});
  });

  it('checks specs given in code too (the bulk action builds its own)', () => {
    expect(specProblems({ action: 'delete', when: { at: new Date(Date.UTC(10000, 0, 1)) }, reason: '' }, NOW)).to.deep.equal({
      run_at: 'Choose a time before the year 10000',
    });
    expect(specProblems({ action: 'delete', when: { at: new Date(Number.NaN) }, reason: '' }, NOW)).to.have.property('run_at');
    expect(specProblems({ action: 'delete', when: { idleDays: 2.5 }, reason: '' }, NOW)).to.have.property('idle_days');
    expect(specProblems({ action: 'delete', when: { idleDays: 7 }, reason: 'x'.repeat(201) }, NOW)).to.deep.equal({
      reason: 'Use at most 200 characters',
    });
  });

  it('an idle rule comes due from the last login, or from the join date when there was none', () => {
    const joined = new Date('2026-01-01T00:00:00Z');
    expect(idleDue({ lastLogin: null, dateJoined: joined }, 10).getTime()).to.equal(joined.getTime() + 10 * DAY);
    expect(idleDue({ lastLogin: NOW, dateJoined: joined }, 1).getTime()).to.equal(NOW.getTime() + DAY);
  });

  it('describes an action, and reads a list cursor strictly', () => {
    expect(describeScheduled({ action: 'deactivate', runAt: NOW, idleDays: null }, 'ana')).to.equal(
      'deactivation of ana on 2 Dec 2026, 16:00 UTC',
    );
    expect(describeScheduled({ action: 'delete', runAt: null, idleDays: 1 })).to.equal('deletion after 1 day without login');
    expect(parseCursor('1796000000000.42')).to.deep.equal({ due: new Date(1796000000000), id: 42 });
    for (const bad of ['', '1.2.3', '999999999999999.1', '-1.2', '1e3.4', '12.99999999999']) expect(parseCursor(bad), bad).to.equal(null);
  });
});
