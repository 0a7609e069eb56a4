import { expect } from 'chai';
import { fold, searchWords, TERM_MAX, termsOf } from '../../app/directory/users/terms.js';

/** Issue 16: what a person types is found at the start of any word of username, name or e-mail. */
type Person = { username: string; name: string; email: string };
const person = (username: string, name = '', email = ''): Person => ({ username, name, email });

/** Whether the search q finds this person: every word of q begins some word of theirs. */
function finds(q: string, who: Person): boolean {
  const terms = termsOf(who);
  const words = searchWords(q);
  return words.length > 0 && words.every((w) => terms.some((t) => t.startsWith(w)));
}

const sorted = (words: string[]) => [...words].sort();

describe('search: fold', () => {
  const cases: [string, string, string][] = [
    ['upper case', 'MULLER', 'muller'],
    ['mixed case', 'McDonald', 'mcdonald'],
    ['an umlaut', 'Müller', 'muller'],
    ['acute, grave, circumflex, tilde, cedilla', 'ÉÈÊÑÇ', 'eeenc'],
    ['Vietnamese stacked accents', 'Nguyễn', 'nguyen'],
    ['an accent typed as its own character (NFD)', 'Mu\u0308ller', 'muller'],
    ['ß', 'Straße', 'strasse'],
    ['capital ẞ', 'STRAẞE', 'strasse'],
    ['ł and Ł', 'Łukasz Słowik', 'lukasz slowik'],
    ['dotless ı', 'Işık', 'isik'],
    ['dotted İ', 'İlkay', 'ilkay'],
    ['ø and Ø', 'Søren ØSTER', 'soren oster'],
    ['æ and œ', 'Æsir cœur', 'aesir coeur'],
    ['đ and ð', 'Đorđe Guðrún', 'dorde gudrun'],
    ['þ', 'Þór', 'thor'],
    ['full-width letters', 'Ｆｉｘ', 'fix'],
    ['a ligature', 'ﬁx', 'fix'],
    ['Greek accents and case', 'Ελλάδα', 'ελλαδα'],
    ['Cyrillic case', 'МАРИЯ', 'мария'],
  ];
  for (const [what, text, folded] of cases) {
    it(`folds ${what}: ${JSON.stringify(text)} is ${JSON.stringify(folded)}`, () => expect(fold(text)).to.equal(folded));
  }

  it('leaves emoji untouched, including skin tones and joined sequences', () => {
    for (const emoji of ['😀', '👍🏽', '👩‍💻', '🏳️‍🌈'.replace('\uFE0F', '')]) expect(fold(emoji), emoji).to.equal(emoji);
  });

  it('leaves scripts without case or accents untouched', () => {
    for (const text of ['山田太郎', 'محمد', 'שלום', '123']) expect(fold(text), text).to.equal(text);
  });

  it('gives the same text for a name typed composed and decomposed', () => {
    for (const name of ['José', 'Zoë', 'Ångström', 'Nguyễn', 'Dvořák']) expect(fold(name.normalize('NFD')), name).to.equal(fold(name));
  });

  it('is idempotent: folding folded text changes nothing', () => {
    for (const text of ['Müller', 'STRAẞE', 'İlkay', 'Işık', 'ǅemal', 'Ⅻ', 'ΣΟΦΙΑ', 'Ｆｉｘ', 'ﬃ', '😀 Ana'])
      expect(fold(fold(text)), text).to.equal(fold(text));
  });

  it('folds an upper-case Greek prefix ending in Σ to the start of the lower-case word', () => {
    // "ΝΙΚΟΣ" typed in capitals (JavaScript lowers a word-final Σ to ς) must begin "Νικόστρατος".
    expect(finds('ΝΙΚΟΣ', person('n1', 'Νικόστρατος')), 'ΝΙΚΟΣ finds Νικόστρατος').to.equal(true);
  });
});

describe('search: termsOf', () => {
  it('splits a username at . _ - and @', () => {
    expect(sorted(termsOf(person('fixture.dana')))).to.deep.equal(['dana', 'fixture']);
    expect(sorted(termsOf(person('a.b_c-d@e')))).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('folds the username parts: "Fixture.Dana" gives fixture and dana', () => {
    expect(sorted(termsOf(person('Fixture.Dana')))).to.deep.equal(['dana', 'fixture']);
  });

  it('takes each word of the name, folded', () => {
    expect(sorted(termsOf(person('u', 'Ana  Müller')))).to.deep.equal(['ana', 'muller', 'u']);
  });

  it("takes the e-mail's local parts and its domain parts", () => {
    expect(sorted(termsOf(person('u', '', 'kay.orbit+work@northwind-traders.example')))).to.deep.equal([
      'example',
      'kay',
      'northwind',
      'orbit',
      'traders',
      'u',
      'work',
    ]);
  });

  it('splits letters from digits: "user42" is user and 42, "Ops2" is ops and 2', () => {
    expect(sorted(termsOf(person('user42', 'Ops2 Team')))).to.deep.equal(['2', '42', 'ops', 'team', 'user']);
  });

  it('gives a common last name once, whatever number a username adds to it', () => {
    expect(sorted(termsOf(person('mara.muller42', 'Mara Müller')))).to.deep.equal(['42', 'mara', 'muller']);
  });

  it('joins a word across an apostrophe and also keeps its parts', () => {
    for (const name of ["O'Brien", 'O’Brien', 'Oʼbrien'])
      expect(termsOf(person('u1', name)), name).to.include.members(['obrien', 'o', 'brien']);
  });

  it('lists each word once, wherever it appears', () => {
    const terms = termsOf(person('ana', 'Ana ANA Äna', 'ana@ana.example'));
    expect(sorted(terms)).to.deep.equal(['ana', 'example']);
  });

  it('gives only the username words for a user without name or e-mail', () => {
    expect(sorted(termsOf(person('solo')))).to.deep.equal(['solo']);
  });

  it('gives no empty word for punctuation at the ends or doubled', () => {
    expect(termsOf(person('.a..b.', ' - ', '@'))).to.not.include('');
  });

  it('keeps a word of TERM_MAX characters whole and cuts a longer one to TERM_MAX', () => {
    const exact = 'w'.repeat(TERM_MAX);
    expect(termsOf(person('u', exact))).to.include(exact);
    expect(termsOf(person('u', `${exact}xyz`)))
      .to.include(exact)
      .and.not.include(`${exact}xyz`);
  });

  it('counts TERM_MAX in characters and never cuts between the halves of a surrogate pair', () => {
    // 𠀀 (U+20000) is a letter outside the BMP: two UTF-16 units, one character.
    const long = `${'a'.repeat(TERM_MAX - 1)}𠀀𠀀`;
    const [term] = termsOf(person(long));
    expect([...term].length).to.equal(TERM_MAX);
    expect(term).to.equal(`${'a'.repeat(TERM_MAX - 1)}𠀀`);
    expect(term, 'no lone surrogate').to.not.match(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('gives only folded words: each term folds to itself and searches for itself', () => {
    const terms = termsOf(person('Jean-Luc.Picard', "Seán O'Brien-Łukasz", 'ÉLODIE_x@Straße.example'));
    for (const term of terms) {
      expect(fold(term), term).to.equal(term);
      expect(searchWords(term), term).to.deep.equal([term]);
    }
  });
});

describe('search: searchWords', () => {
  it('folds the words typed', () => {
    expect(searchWords('MÜL')).to.deep.equal(['mul']);
    expect(searchWords('Mu\u0308ller')).to.deep.equal(['muller']);
  });

  it('keeps several words, in the order typed', () => {
    expect(searchWords('ana mul')).to.deep.equal(['ana', 'mul']);
    expect(searchWords('  mul   ana ')).to.deep.equal(['mul', 'ana']);
  });

  it('splits at punctuation as the stored words are split', () => {
    expect(searchWords('fixture.dana')).to.deep.equal(['fixture', 'dana']);
    expect(searchWords('jean-luc')).to.deep.equal(['jean', 'luc']);
    expect(searchWords('a_b@c')).to.deep.equal(['a', 'b', 'c']);
    expect(searchWords('ana, mul;')).to.deep.equal(['ana', 'mul']);
  });

  it('joins a word across an apostrophe, straight or curly', () => {
    for (const q of ["o'brien", 'O’Brien', 'oʼbrien']) expect(searchWords(q), q).to.deep.equal(['obrien']);
  });

  it('drops a word that begins another word of the search', () => {
    expect(searchWords('an ana')).to.deep.equal(['ana']);
    expect(searchWords('ana an')).to.deep.equal(['ana']);
    expect(searchWords('m mul muller')).to.deep.equal(['muller']);
  });

  it('splits letters from digits as the stored words are split: "muller4" is muller and 4', () => {
    expect(searchWords('muller4')).to.deep.equal(['muller', '4']);
    expect(searchWords('R2D2')).to.deep.equal(['r', '2', 'd']);
  });

  it('keeps a repeated word once', () => {
    expect(searchWords('ana ANA Ána')).to.deep.equal(['ana']);
  });

  it('keeps words that merely share a beginning', () => {
    expect(sorted(searchWords('anna anne'))).to.deep.equal(['anna', 'anne']);
  });

  it('uses at most the first 8 words', () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett'];
    expect(searchWords(words.join(' '))).to.deep.equal(words.slice(0, 8));
  });

  it('gives no words for punctuation, spaces or an empty search', () => {
    for (const q of ['', '   ', '...', "'", '-_.@', '%', '_', '\\', '%_\\']) expect(searchWords(q), JSON.stringify(q)).to.deep.equal([]);
  });

  it('treats % _ and \\ as punctuation, never as wildcards', () => {
    expect(searchWords('z%o')).to.deep.equal(['z', 'o']);
    expect(searchWords('z_rro')).to.deep.equal(['z', 'rro']);
    expect(searchWords('zo\\')).to.deep.equal(['zo']);
  });

  it('splits at emoji, control, bidi and zero-width characters', () => {
    expect(searchWords('😀ana')).to.deep.equal(['ana']);
    expect(searchWords('\u202Eana\u0000')).to.deep.equal(['ana']);
    expect(searchWords('ana\u200Bmul')).to.deep.equal(['ana', 'mul']);
  });

  it('cuts a long word to TERM_MAX characters, as stored', () => {
    const long = 'q'.repeat(TERM_MAX + 40);
    expect(searchWords(long)).to.deep.equal(['q'.repeat(TERM_MAX)]);
  });
});

describe('search: what a person types finds the user', () => {
  const ana = person('ana', 'Ana Müller', 'ana.mueller@corp.example');
  const dana = person('fixture.dana', 'Dee Smith', 'dsmith@corp.example');
  const sean = person('sean', "Seán O'Brien", 'seanob@dublin.example');
  const jlp = person('jlp', 'Jean-Luc Picard', 'captain@enterprise.example');

  const found: [string, Person][] = [
    ['muller', ana],
    ['Müller', ana],
    ['MUL', ana],
    ['mül', ana],
    ['mue', ana],
    ['dana', dana],
    ['Fix', dana],
    ['FIXTURE', dana],
    ['fixture.dana', dana],
    ['corp', dana],
    ['dsmith', dana],
    ["o'brien", sean],
    ['obrien', sean],
    ['brien', sean],
    ['sean', sean],
    ['jean-luc', jlp],
    ['luc jean', jlp],
    ['enterprise', jlp],
    ['ana mul', ana],
    ['mul ana', ana],
  ];
  for (const [q, who] of found) {
    it(`"${q}" finds ${who.username}`, () => expect(finds(q, who)).to.equal(true));
  }

  const missed: [string, Person, string][] = [
    ['ana', person('diana', 'Diana Prince'), 'the middle of a word is no match'],
    ['dana', person('zs', 'Zoë Saldaña'), 'the end of a word is no match'],
    ['ana smith', ana, 'every word must match'],
    ['jean-luc', person('jean', 'Jean Valjean'), 'both parts of a hyphenated search must match'],
    ['z%o', person('zorro', 'Zorro'), '% is no wildcard'],
  ];
  for (const [q, who, why] of missed) {
    it(`"${q}" does not find ${who.username}: ${why}`, () => expect(finds(q, who)).to.equal(false));
  }
});
