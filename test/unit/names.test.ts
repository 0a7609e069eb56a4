import { expect } from 'chai';
import { nameProblem, normalName } from '../../app/identity/names.js';

describe('the name rule', () => {
  it('accepts names in any script, with inner spaces and punctuation', () => {
    for (const name of ['ana', 'Ana Müller', 'José', '李雷', 'Ελένη', "o'brien", 'staff-eu', 'ops_1.team', 'emoji 🙂']) {
      expect(nameProblem(name), name).to.equal(undefined);
    }
  });

  const refused: [string, string, RegExp][] = [
    ['NUL', 'ad\u0000min', /control/],
    ['a bell', 'ad\u0007min', /control/],
    ['a tab', 'ad\tmin', /control/],
    ['a line break', 'ad\nmin', /control/],
    ['DEL', 'ad\u007fmin', /control/],
    ['a C1 control', 'ad\u0085min', /control/],
    ['a right-to-left override', 'admin\u202Etxt.exe', /invisible/],
    ['a left-to-right mark', 'ad\u200Emin', /invisible/],
    ['a bidi isolate', 'ad\u2066min', /invisible/],
    ['a zero-width space', 'ad\u200Bmin', /invisible/],
    ['a zero-width joiner', 'ad\u200Dmin', /invisible/],
    ['a byte order mark', '\uFEFFadmin', /invisible/],
    ['a soft hyphen', 'ad\u00ADmin', /invisible/],
    ['a Hangul filler', 'ad\u3164min', /invisible/],
    ['a line separator', 'ad\u2028min', /invisible/],
    ['a lone surrogate', 'ad\uD800min', /not text/],
    ['a space at the start', ' admin', /spaces/],
    ['a space at the end', 'admin\u00A0', /spaces/],
  ];
  for (const [what, name, message] of refused) {
    it(`refuses ${what}`, () => expect(nameProblem(name)).to.match(message));
  }

  it('keeps names in NFC: an accent typed as its own character makes the same name', () => {
    expect(normalName('Jose\u0301')).to.equal('José');
    expect(normalName('José')).to.equal('José');
  });
});
