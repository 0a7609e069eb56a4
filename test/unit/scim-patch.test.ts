import { expect } from 'chai';
import { parse } from 'scim2-parse-filter';
import { ScimError } from '../../app/scim/errors.js';
import { applyPatch, itemMatches, type PatchOp, parsePath, readPatch } from '../../app/scim/patch.js';
import {
  type AttrDef,
  ENTERPRISE_SCHEMA,
  GROUP_SCHEMA,
  GROUP_TYPE,
  PATCH_SCHEMA,
  ROSTER_SCHEMA,
  USER,
  USER_SCHEMA,
  USER_TYPE,
} from '../../app/scim/schema.js';

type Json = Record<string, unknown>;

const EMAILS = USER.attributes.find((a) => a.name === 'emails')!;

function user(extra: Json = {}): Json {
  return {
    schemas: [USER_SCHEMA],
    id: '7',
    userName: 'ann',
    displayName: 'Ann Lee',
    name: { givenName: 'Ann', familyName: 'Lee' },
    emails: [
      { value: 'ann@home.example', type: 'home', primary: true },
      { value: 'ann@work.example', type: 'work' },
    ],
    ...extra,
  };
}

function group(extra: Json = {}): Json {
  return {
    schemas: [GROUP_SCHEMA],
    id: '3',
    displayName: 'staff',
    members: [
      { value: '42', display: 'ann' },
      { value: '43', display: 'bob' },
    ],
    ...extra,
  };
}

const patchUser = (ops: PatchOp[], resource = user()) => applyPatch(USER_TYPE, resource, ops);
const patchGroup = (ops: PatchOp[], resource = group()) => applyPatch(GROUP_TYPE, resource, ops);
const body = (...Operations: unknown[]) => ({ schemas: [PATCH_SCHEMA], Operations });

function scimError(run: () => unknown, scimType: string, detail?: RegExp): ScimError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'a ScimError').to.be.instanceOf(ScimError);
  const error = caught as ScimError;
  expect(error.status).to.equal(400);
  expect(error.scimType, error.message).to.equal(scimType);
  if (detail) expect(error.message).to.match(detail);
  return error;
}

describe('SCIM PATCH: reading the request body', () => {
  it('reads the operations, lower-casing op (Entra ID writes "Replace" and "Add")', () => {
    const ops = readPatch(body({ op: 'Replace', path: 'active', value: 'False' }, { op: 'Add', value: { title: 'x' } }));
    expect(ops).to.deep.equal([
      { op: 'replace', path: 'active', value: 'False' },
      { op: 'add', value: { title: 'x' } },
    ]);
  });

  it('reads member names without case, as SCIM attribute names', () => {
    expect(readPatch({ Schemas: [PATCH_SCHEMA], operations: [{ OP: 'remove', Path: 'title' }] })).to.deep.equal([
      { op: 'remove', path: 'title' },
    ]);
  });

  it('keeps a null value: replace with null unassigns', () => {
    expect(readPatch(body({ op: 'replace', path: 'title', value: null }))).to.deep.equal([{ op: 'replace', path: 'title', value: null }]);
  });

  const refused: [string, unknown, string, RegExp][] = [
    ['a body that is not an object', [], 'invalidSyntax', /JSON object/],
    ['a body without the PatchOp schema', { schemas: [USER_SCHEMA], Operations: [{ op: 'add', value: {} }] }, 'invalidSyntax', /PatchOp/],
    ['Operations that is not an array', { schemas: [PATCH_SCHEMA], Operations: { op: 'add' } }, 'invalidSyntax', /array/],
    ['no operations', body(), 'invalidValue', /at least one/],
    ['more than 1000 operations', body(...Array.from({ length: 1001 }, () => ({ op: 'remove', path: 'title' }))), 'invalidValue', /1000/],
    ['an operation that is not an object', body('remove'), 'invalidSyntax', /Operation 1 must be an object/],
    ['an unknown op', body({ op: 'move', path: 'title' }), 'invalidSyntax', /add, remove or replace/],
    ['a path that is not a string', body({ op: 'add', path: 3, value: 'x' }), 'invalidSyntax', /path must be a string/],
    ['remove without a path', body({ op: 'remove', value: 'x' }), 'noTarget', /remove needs a path/],
    ['add without a value', body({ op: 'add', path: 'title' }), 'invalidValue', /add needs a value/],
    [
      'replace without a value, in the second operation',
      body({ op: 'add', path: 'title', value: 'x' }, { op: 'replace' }),
      'invalidValue',
      /Operation 2/,
    ],
  ];
  for (const [what, request, scimType, detail] of refused) {
    it(`refuses ${what} (${scimType})`, () => scimError(() => readPatch(request), scimType, detail));
  }
});

describe('SCIM PATCH: paths', () => {
  it('resolves attribute names without case, to their canonical names and schema', () => {
    expect(parsePath(USER_TYPE, 'DISPLAYNAME')).to.deep.equal({ schema: USER_SCHEMA, attr: 'displayName' });
    expect(parsePath(USER_TYPE, 'name.givenname')).to.deep.equal({ schema: USER_SCHEMA, attr: 'name', sub: 'givenName' });
  });

  it('resolves extension attributes with or without their URN', () => {
    const department = { schema: ENTERPRISE_SCHEMA, attr: 'department' };
    expect(parsePath(USER_TYPE, `${ENTERPRISE_SCHEMA}:department`)).to.deep.equal(department);
    expect(parsePath(USER_TYPE, `${ENTERPRISE_SCHEMA.toLowerCase()}:Department`)).to.deep.equal(department);
    expect(parsePath(USER_TYPE, 'department')).to.deep.equal(department);
    expect(parsePath(USER_TYPE, `${ENTERPRISE_SCHEMA}:manager.value`)).to.deep.equal({
      schema: ENTERPRISE_SCHEMA,
      attr: 'manager',
      sub: 'value',
    });
    expect(parsePath(USER_TYPE, `${USER_SCHEMA}:userName`)).to.deep.equal({ schema: USER_SCHEMA, attr: 'userName' });
  });

  it('reads a value filter and the sub-attribute after it', () => {
    expect(parsePath(USER_TYPE, 'Emails[type eq "work"].Value')).to.deep.equal({
      schema: USER_SCHEMA,
      attr: 'emails',
      filter: { op: 'eq', attrPath: 'type', compValue: 'work' },
      sub: 'value',
    });
    expect(parsePath(GROUP_TYPE, 'members[value eq "42"]')).to.deep.equal({
      schema: GROUP_SCHEMA,
      attr: 'members',
      filter: { op: 'eq', attrPath: 'value', compValue: '42' },
    });
  });

  it('decodes JSON escapes in filter values, as the SQL filters do', () => {
    expect(parsePath(USER_TYPE, String.raw`emails[value eq "caf\u00e9 \"x\" a\\b"]`).filter).to.deep.equal({
      op: 'eq',
      attrPath: 'value',
      compValue: 'café "x" a\\b',
    });
  });

  it('reads brackets and dots inside quoted filter values as text', () => {
    expect(parsePath(USER_TYPE, 'emails[value eq "a]b.c@x.example"].type').filter).to.deep.equal({
      op: 'eq',
      attrPath: 'value',
      compValue: 'a]b.c@x.example',
    });
  });

  const malformed: [string, RegExp][] = [
    ['nickname.first', /names no attribute/],
    ['shoeSize', /names no attribute/],
    ['name.nickName', /names no attribute/],
    ['', /names no attribute/],
    ['emails[type eq "work"', /not closed/],
    ['emails[type eq]', /not valid/],
    ['emails[]', /empty/],
    ['emails[type eq null]', /not supported/],
    ['emails[primary eq "true"]', /not a boolean/],
    ['emails[type eq "work"]value', /malformed after/],
    ['emails[type eq "work"].value.x', /malformed after/],
    ['emails[type eq "work"].colour', /no sub-attribute colour/],
    ['emails[colour eq "red"]', /no sub-attribute colour/],
    ['emails[type eq "work" and colour eq "red"]', /no sub-attribute colour/],
    ['emails[primary gt true]', /only eq, ne and pr/],
    ['title[value eq "x"]', /single-valued/],
    ['emails[type[value eq "x"]]', /.+/],
  ];
  for (const [path, detail] of malformed) {
    it(`refuses ${JSON.stringify(path)} (invalidPath)`, () => scimError(() => parsePath(USER_TYPE, path), 'invalidPath', detail));
  }
});

describe('SCIM PATCH: value filters on one item', () => {
  const matches = (filter: string, item: unknown, attr: AttrDef = EMAILS) => itemMatches(USER_TYPE, attr, item, parse(filter));
  const work = { value: 'Ann@Work.example', type: 'work', primary: true, display: '' };

  it('compares case-insensitive sub-attributes lower-cased', () => {
    expect(matches('type eq "WORK"', work)).to.equal(true);
    expect(matches('value eq "ann@work.example"', work)).to.equal(true);
    expect(matches('value co "@WORK."', work)).to.equal(true);
    expect(matches('value sw "ann@"', work)).to.equal(true);
    expect(matches('value ew ".EXAMPLE"', work)).to.equal(true);
  });

  it('compares case-exact sub-attributes exactly', () => {
    const exact: AttrDef = {
      ...EMAILS,
      subAttributes: EMAILS.subAttributes!.map((s) => (s.name === 'value' ? { ...s, caseExact: true } : s)),
    };
    expect(matches('value eq "ann@work.example"', work, exact)).to.equal(false);
    expect(matches('value eq "Ann@Work.example"', work, exact)).to.equal(true);
    expect(matches('type eq "Work"', work, exact)).to.equal(true);
  });

  it('orders text, with gt ge lt le', () => {
    expect(matches('value gt "ann"', work)).to.equal(true);
    expect(matches('value lt "ann"', work)).to.equal(false);
    expect(matches('type ge "work"', work)).to.equal(true);
    expect(matches('type le "WORK"', work)).to.equal(true);
  });

  it('tests presence: an empty string is not present', () => {
    expect(matches('value pr', work)).to.equal(true);
    expect(matches('display pr', work)).to.equal(false);
    expect(matches('primary pr', { value: 'x' })).to.equal(false);
  });

  it('orders text by code point, as the databases do', () => {
    expect(matches('value lt "\u{1F600}"', { value: '\uFFFF' })).to.equal(true);
    expect(matches('value gt "\u{1F600}"', { value: '\uFFFF' })).to.equal(false);
  });

  it('matches an empty string with eq "" and with co, sw, ew of ""', () => {
    expect(matches('display eq ""', work)).to.equal(true);
    expect(matches('display sw ""', work)).to.equal(true);
    expect(matches('display co ""', { value: 'x' })).to.equal(false);
  });

  it('compares booleans with eq and ne only, against true or false (invalidFilter otherwise)', () => {
    expect(matches('primary eq true', work)).to.equal(true);
    expect(matches('primary eq false', work)).to.equal(false);
    expect(matches('primary eq false', { value: 'x' })).to.equal(false);
    expect(matches('primary ne true', { value: 'x' })).to.equal(true);
    scimError(() => matches('primary gt false', work), 'invalidFilter', /only eq, ne and pr/);
    scimError(() => matches('primary co "t"', work), 'invalidFilter', /only eq, ne and pr/);
    scimError(() => matches('primary eq "true"', work), 'invalidFilter', /not a boolean/);
  });

  it('compares strings with strings only', () => {
    scimError(() => matches('value eq 42', work), 'invalidFilter', /not a string/);
  });

  it('compares dateTimes as instants, a time without zone as UTC', () => {
    const since = { ...EMAILS, subAttributes: [{ ...EMAILS.subAttributes![0], name: 'since', type: 'dateTime' as const }] };
    const item = { since: '2024-05-01T10:00:00+02:00' };
    expect(matches('since eq "2024-05-01T08:00:00Z"', item, since)).to.equal(true);
    expect(matches('since gt "2024-05-01T07:59"', item, since)).to.equal(true);
    expect(matches('since lt "2024-05-01"', item, since)).to.equal(false);
    scimError(() => matches('since sw "2024"', item, since), 'invalidFilter', /strings only/);
    scimError(() => matches('since gt "May 1st"', item, since), 'invalidFilter', /ISO 8601/);
  });

  it('combines with and, or, not; an absent sub-attribute matches ne and nothing else', () => {
    expect(matches('type eq "work" and primary eq true', work)).to.equal(true);
    expect(matches('type eq "home" or primary eq true', work)).to.equal(true);
    expect(matches('not (type eq "home")', work)).to.equal(true);
    expect(matches('type ne "home"', { value: 'x' })).to.equal(true);
    expect(matches('type eq "home"', { value: 'x' })).to.equal(false);
    expect(matches('type lt "zzz"', { value: 'x' })).to.equal(false);
  });

  it('refuses null comparisons, as the SQL filters do: pr says it (invalidFilter)', () => {
    scimError(() => matches('type eq null', { value: 'x' }), 'invalidFilter', /type pr/);
  });

  it('refuses a sub-attribute the attribute does not have (invalidFilter)', () => {
    scimError(() => matches('colour eq "red"', work), 'invalidFilter', /colour/);
  });
});

describe('SCIM PATCH: applying operations', () => {
  it('returns a new resource and leaves the input as it was', () => {
    const input = user();
    const copy = structuredClone(input);
    const output = patchUser([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@work.example' }], input);
    expect(input).to.deep.equal(copy);
    expect(output).to.not.equal(input);
  });

  describe('add', () => {
    it('sets a simple attribute, under its canonical name', () => {
      expect(patchUser([{ op: 'add', path: 'TITLE', value: 'Engineer' }]).title).to.equal('Engineer');
    });

    it('appends values to a multi-valued attribute, one object or an array, without repeating one already there', () => {
      const output = patchUser([
        { op: 'add', path: 'emails', value: { value: 'ann@other.example', type: 'other' } },
        { op: 'add', path: 'emails', value: [{ value: 'ANN@WORK.example', type: 'work' }, { value: 'ann@new.example' }] },
      ]);
      expect(output.emails).to.deep.equal([
        { value: 'ann@home.example', type: 'home', primary: true },
        { value: 'ann@work.example', type: 'work' },
        { value: 'ann@other.example', type: 'other' },
        { value: 'ann@new.example' },
      ]);
    });

    it('merges the sub-attributes of a complex attribute', () => {
      expect(patchUser([{ op: 'add', path: 'name', value: { middleName: 'J' } }]).name).to.deep.equal({
        givenName: 'Ann',
        familyName: 'Lee',
        middleName: 'J',
      });
    });

    it('without a path, adds each attribute of the value, URN-qualified ones under their URN', () => {
      const output = patchUser([
        {
          op: 'add',
          value: { nickName: 'Annie', [`${ENTERPRISE_SCHEMA}:department`]: 'Ops', emails: [{ value: 'a@b.example', type: 'other' }] },
        },
      ]);
      expect(output.nickName).to.equal('Annie');
      expect(output[ENTERPRISE_SCHEMA]).to.deep.equal({ department: 'Ops' });
      expect(output.schemas).to.deep.equal([USER_SCHEMA, ENTERPRISE_SCHEMA]);
      expect(output.emails).to.have.length(3);
    });

    it('without a path, takes a schema URN as a key for an object of its attributes', () => {
      const output = patchUser([{ op: 'add', value: { [ENTERPRISE_SCHEMA]: { department: 'Ops', manager: { value: '9' } } } }]);
      expect(output[ENTERPRISE_SCHEMA]).to.deep.equal({ department: 'Ops', manager: { value: '9' } });
    });

    it('takes a schema URN as the path, for an object of its attributes', () => {
      const output = patchUser([{ op: 'add', path: ROSTER_SCHEMA, value: { validUntil: '2030-01-31T17:00:00Z' } }]);
      expect(output[ROSTER_SCHEMA]).to.deep.equal({ validUntil: '2030-01-31T17:00:00Z' });
      expect(output.schemas).to.deep.equal([USER_SCHEMA, ROSTER_SCHEMA]);
    });

    it('takes the manager as a bare id (Entra ID)', () => {
      const output = patchUser([{ op: 'add', path: `${ENTERPRISE_SCHEMA}:manager`, value: '9' }]);
      expect(output[ENTERPRISE_SCHEMA]).to.deep.equal({ manager: { value: '9' } });
    });

    it('adds a member and drops the display Okta sends along (readOnly: Roster fills it)', () => {
      const output = patchGroup([{ op: 'add', path: 'members', value: [{ value: '44', display: 'cy@example.com' }] }]);
      expect(output.members).to.deep.equal([{ value: '42', display: 'ann' }, { value: '43', display: 'bob' }, { value: '44' }]);
    });

    it('does not add a member that is already there', () => {
      expect(patchGroup([{ op: 'add', path: 'members', value: [{ value: '42' }] }]).members).to.deep.equal(group().members);
    });
  });

  describe('replace', () => {
    it('replaces a simple attribute named in any case', () => {
      const output = patchUser([{ op: 'replace', path: 'displayname', value: 'Ann L.' }], user({ displayName: 'Ann Lee' }));
      expect(output.displayName).to.equal('Ann L.');
      expect(output).to.not.have.property('displayname');
    });

    it('takes Entra ID’s value-only form: {"op":"Replace","value":{"active":"False"}}', () => {
      const [op] = readPatch(body({ op: 'Replace', value: { active: 'False' } }));
      expect(patchUser([op], user({ active: true })).active).to.equal(false);
    });

    it('reads booleans from "True", "False", "true", "false"', () => {
      for (const [sent, read] of [
        ['True', true],
        ['False', false],
        ['true', true],
        ['false', false],
        [true, true],
      ] as const) {
        expect(patchUser([{ op: 'replace', path: 'active', value: sent }]).active, String(sent)).to.equal(read);
      }
    });

    it('reads dotted keys of a value-only replace as paths (Entra ID)', () => {
      const output = patchUser([
        { op: 'replace', value: { 'name.givenName': 'Anna', 'urn:ietf:params:scim:schemas:core:2.0:User:title': 'Lead' } },
      ]);
      expect(output.name).to.deep.equal({ givenName: 'Anna', familyName: 'Lee' });
      expect(output.title).to.equal('Lead');
    });

    it('replaces the sub-attributes given of a complex attribute and keeps the others (RFC 7644 §3.5.2.3)', () => {
      expect(patchUser([{ op: 'replace', path: 'name', value: { givenName: 'Anna' } }]).name).to.deep.equal({
        givenName: 'Anna',
        familyName: 'Lee',
      });
      expect(patchUser([{ op: 'replace', value: { name: { familyName: 'Li' } } }]).name).to.deep.equal({
        givenName: 'Ann',
        familyName: 'Li',
      });
    });

    it('unassigns a sub-attribute given as null, and an attribute replaced by null', () => {
      const output = patchUser([
        { op: 'replace', path: 'name', value: { familyName: null } },
        { op: 'replace', path: 'displayName', value: null },
      ]);
      expect(output.name).to.deep.equal({ givenName: 'Ann' });
      expect(output).to.not.have.property('displayName');
    });

    it('replaces all the values of a multi-valued attribute', () => {
      expect(patchUser([{ op: 'replace', path: 'emails', value: [{ value: 'only@example.com' }] }]).emails).to.deep.equal([
        { value: 'only@example.com' },
      ]);
    });

    it('replaces a sub-attribute of the values a filter selects', () => {
      const output = patchUser([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'ann@new.example' }]);
      expect(output.emails).to.deep.equal([
        { value: 'ann@home.example', type: 'home', primary: true },
        { value: 'ann@new.example', type: 'work' },
      ]);
    });

    it('merges an object into the values a filter selects', () => {
      const output = patchUser([{ op: 'replace', path: 'emails[value ew "@work.example"]', value: { display: 'Work' } }]);
      expect((output.emails as Json[])[1]).to.deep.equal({ value: 'ann@work.example', type: 'work', display: 'Work' });
    });

    it('creates the value an equality filter describes when none matches (Entra ID’s first work e-mail)', () => {
      const noWork = user({ emails: [{ value: 'ann@home.example', type: 'home' }] });
      const [op] = readPatch(body({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'ann@work.example' }));
      expect(patchUser([op], noWork).emails).to.deep.equal([
        { value: 'ann@home.example', type: 'home' },
        { value: 'ann@work.example', type: 'work' },
      ]);
      const noEmails = user({ emails: undefined });
      expect(
        patchUser([{ op: 'add', path: 'phoneNumbers[type eq "mobile" and primary eq true].value', value: '555' }], noEmails).phoneNumbers,
      ).to.deep.equal([{ type: 'mobile', primary: true, value: '555' }]);
    });

    it('gives noTarget when another kind of filter matches nothing', () => {
      scimError(
        () => patchUser([{ op: 'replace', path: 'emails[type eq "work" or type eq "x"].value', value: 'y' }], user({ emails: [] })),
        'noTarget',
      );
      scimError(() => patchUser([{ op: 'replace', path: 'emails[value co "nowhere"]', value: { type: 'x' } }]), 'noTarget');
    });

    it('sets a sub-attribute on every value when the path has no filter', () => {
      const output = patchUser([{ op: 'replace', path: 'emails.display', value: 'x' }]);
      expect((output.emails as Json[]).map((e) => e.display)).to.deep.equal(['x', 'x']);
      scimError(() => patchUser([{ op: 'replace', path: 'emails.display', value: 'x' }], user({ emails: [] })), 'noTarget');
    });
  });

  describe('primary', () => {
    it('takes primary from the other values when an operation makes one primary (RFC 7643 §2.4)', () => {
      const output = patchUser([{ op: 'replace', path: 'emails[type eq "work"].primary', value: true }]);
      expect(output.emails).to.deep.equal([
        { value: 'ann@home.example', type: 'home', primary: false },
        { value: 'ann@work.example', type: 'work', primary: true },
      ]);
    });

    it('does so for an added value', () => {
      const output = patchUser([{ op: 'add', path: 'emails', value: { value: 'new@example.com', primary: 'True' } }]);
      expect((output.emails as Json[]).map((e) => e.primary)).to.deep.equal([false, undefined, true]);
    });
  });

  describe('remove', () => {
    it('removes an attribute', () => {
      expect(patchUser([{ op: 'remove', path: 'displayName' }])).to.not.have.property('displayName');
      expect(patchUser([{ op: 'remove', path: 'emails' }])).to.not.have.property('emails');
    });

    it('removes the values a filter selects (Okta: members[value eq "42"])', () => {
      const [op] = readPatch(body({ op: 'remove', path: 'members[value eq "42"]' }));
      expect(patchGroup([op]).members).to.deep.equal([{ value: '43', display: 'bob' }]);
    });

    it('removes the members given as the value (Entra ID: path members, value [{value}])', () => {
      const [op] = readPatch(body({ op: 'Remove', path: 'members', value: [{ value: '43' }, { value: '99' }] }));
      expect(patchGroup([op]).members).to.deep.equal([{ value: '42', display: 'ann' }]);
    });

    it('unassigns the attribute when its last value goes', () => {
      expect(patchGroup([{ op: 'remove', path: 'members[value eq "42" or value eq "43"]' }])).to.not.have.property('members');
    });

    it('removes a sub-attribute from the values a filter selects', () => {
      const output = patchUser([{ op: 'remove', path: 'emails[type eq "home"].primary' }]);
      expect(output.emails).to.deep.equal([
        { value: 'ann@home.example', type: 'home' },
        { value: 'ann@work.example', type: 'work' },
      ]);
    });

    it('removes a sub-attribute of a complex attribute, and the attribute when nothing is left', () => {
      const output = patchUser([
        { op: 'remove', path: 'name.givenName' },
        { op: 'remove', path: 'name.familyName' },
      ]);
      expect(output).to.not.have.property('name');
    });

    it('succeeds without change when what it removes is not there', () => {
      const input = user();
      expect(patchUser([{ op: 'remove', path: 'title' }], input)).to.deep.equal(input);
      expect(patchUser([{ op: 'remove', path: 'emails[type eq "other"]' }], input)).to.deep.equal(input);
      expect(patchUser([{ op: 'remove', path: `${ENTERPRISE_SCHEMA}:department` }], input)).to.deep.equal(input);
    });

    it('removes an extension’s URN from schemas with its last attribute', () => {
      const input = user({ schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA], [ENTERPRISE_SCHEMA]: { department: 'Ops' } });
      const output = patchUser([{ op: 'remove', path: `${ENTERPRISE_SCHEMA}:department` }], input);
      expect(output).to.not.have.property(ENTERPRISE_SCHEMA);
      expect(output.schemas).to.deep.equal([USER_SCHEMA]);
    });

    it('refuses to remove a required attribute (mutability, RFC 7644 §3.5.2.2)', () => {
      scimError(() => patchUser([{ op: 'remove', path: 'userName' }]), 'mutability', /userName is required/);
      scimError(() => patchUser([{ op: 'replace', value: { userName: null } }]), 'mutability', /userName is required/);
      scimError(() => patchGroup([{ op: 'remove', path: 'displayName' }]), 'mutability', /displayName is required/);
    });
  });

  describe('mutability', () => {
    it('refuses to change readOnly attributes', () => {
      scimError(() => patchUser([{ op: 'replace', path: 'id', value: '8' }]), 'mutability', /id is read-only/);
      scimError(() => patchUser([{ op: 'add', path: 'groups', value: [{ value: '3' }] }]), 'mutability', /groups is read-only/);
      scimError(() => patchUser([{ op: 'remove', path: 'meta' }]), 'mutability');
      scimError(() => patchUser([{ op: 'replace', path: 'meta.lastModified', value: '2030-01-01T00:00:00Z' }]), 'mutability');
      scimError(() => patchGroup([{ op: 'replace', path: 'members[value eq "42"].display', value: 'x' }]), 'mutability', /members.display/);
    });

    it('leaves a readOnly attribute given its current value (Okta renames groups with their id)', () => {
      const [op] = readPatch(body({ op: 'replace', value: { id: '3', displayName: 'Staff' } }));
      expect(patchGroup([op])).to.include({ id: '3', displayName: 'Staff' });
    });

    it('refuses to change an immutable sub-attribute once set, but takes new values', () => {
      scimError(() => patchGroup([{ op: 'replace', path: 'members[value eq "42"].value', value: '44' }]), 'mutability', /immutable/);
      scimError(() => patchGroup([{ op: 'remove', path: 'members[value eq "42"].value' }]), 'mutability', /immutable/);
      expect(patchGroup([{ op: 'replace', path: 'members[value eq "42"]', value: { value: '42', type: 'User' } }]).members).to.deep.equal([
        { value: '42', display: 'ann', type: 'User' },
        { value: '43', display: 'bob' },
      ]);
      expect(patchGroup([{ op: 'replace', path: 'members', value: [{ value: '50' }] }]).members).to.deep.equal([{ value: '50' }]);
    });

    it('sets a writeOnly password', () => {
      expect(patchUser([{ op: 'replace', path: 'password', value: 's3cret!' }]).password).to.equal('s3cret!');
    });
  });

  describe('values of the wrong type', () => {
    const wrong: [string, PatchOp, RegExp][] = [
      ['a boolean that is not true or false', { op: 'replace', path: 'active', value: 'no' }, /active must be true or false/],
      ['a number for a string', { op: 'replace', path: 'title', value: 3 }, /title must be a string/],
      ['a string for a complex attribute', { op: 'replace', path: 'name', value: 'Ann' }, /name must be an object/],
      ['a number in a sub-attribute', { op: 'add', path: 'emails', value: [{ value: 5 }] }, /emails.value must be a string/],
      [
        'a date that is not ISO 8601',
        { op: 'add', path: `${ROSTER_SCHEMA}:validUntil`, value: 'next Tuesday' },
        /validUntil must be an ISO 8601/,
      ],
      ['a value-only op whose value is not an object', { op: 'add', value: 'x' }, /object of attributes/],
      ['a null value in a multi-valued attribute', { op: 'add', path: 'emails', value: [null] }, /null/],
    ];
    for (const [what, op, detail] of wrong) {
      it(`refuses ${what} (invalidValue)`, () => scimError(() => patchUser([op]), 'invalidValue', detail));
    }

    it('takes an ISO 8601 date and time', () => {
      const output = patchUser([{ op: 'add', path: `${ROSTER_SCHEMA}:validUntil`, value: '2030-01-31T17:00:00+01:00' }]);
      expect(output[ROSTER_SCHEMA]).to.deep.equal({ validUntil: '2030-01-31T17:00:00+01:00' });
    });
  });

  describe('unknown attributes', () => {
    it('refuses unknown paths and keys (invalidPath)', () => {
      scimError(() => patchUser([{ op: 'replace', path: 'shoeSize', value: '9' }]), 'invalidPath', /shoeSize/);
      scimError(() => patchUser([{ op: 'replace', value: { shoeSize: '9' } }]), 'invalidPath', /shoeSize/);
      scimError(() => patchUser([{ op: 'add', path: 'emails', value: [{ colour: 'red' }] }]), 'invalidPath', /colour/);
      scimError(() => patchUser([{ op: 'remove', path: 'emails[type eq "work"' }]), 'invalidPath');
    });

    it('ignores schemas in a value-only operation: Roster keeps it in step itself', () => {
      expect(patchUser([{ op: 'replace', value: { schemas: ['x'], title: 'Lead' } }]).schemas).to.deep.equal([USER_SCHEMA]);
    });
  });

  it('is atomic, and names the operation that failed', () => {
    const input = user();
    const error = scimError(
      () =>
        patchUser(
          [
            { op: 'replace', path: 'title', value: 'Lead' },
            { op: 'replace', path: 'active', value: 'maybe' },
          ],
          input,
        ),
      'invalidValue',
      /^Operation 2: active/,
    );
    expect(error.body()).to.include({ scimType: 'invalidValue', status: '400' });
    expect(input).to.not.have.property('title');
  });
});
