// `npm run seed -- --users 100000 [--groups 20]`: fills the configured database with realistic
// users in nested folders and some groups, in batches, for manual testing and benchmarks.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { ConfigError, loadConfig } from '../app/config.js';
import { describeDatabaseUrl, migrate, openDb } from '../app/db.js';
import { INDEXED_COLUMNS, writeTerms } from '../app/directory/users/terms.js';

const FIRST = [
  'Ana',
  'Ben',
  'Chloé',
  'David',
  'Elif',
  'Farid',
  'Grace',
  'Hiro',
  'Inès',
  'Jonas',
  'Kasia',
  'Liam',
  'Mara',
  'Noah',
  'Olga',
  'Pablo',
  'Qiu',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
  'Amir',
  'Bianca',
  'Carlos',
  'Dana',
  'Emil',
  'Fatima',
  'Gustav',
  'Hana',
  'Ivan',
  'Julia',
  'Kofi',
  'Lena',
  'Mateo',
  'Nadia',
];
const LAST = [
  'Müller',
  'Smith',
  'García',
  'Kowalski',
  'Nguyen',
  'Okafor',
  'Rossi',
  'Tanaka',
  'Dubois',
  'Johansson',
  'Yılmaz',
  'Silva',
  'Novak',
  'Ivanova',
  'Haddad',
  'Chen',
  'Kim',
  'Larsen',
  'Moreau',
  'Papadopoulos',
  'Schmidt',
  'Fernández',
  'Andersen',
  'Costa',
  'Horvat',
  'Jensen',
  'Kaur',
  'Lopez',
  'Mensah',
  'Nakamura',
];
/**
 * Folders and the share of users (in percent) in each: a few big ones, a small one
 * (users/staff/finance, 0.2%), as directories are. The bench measures a big and a small folder.
 */
const FOLDERS: readonly [string, number][] = [
  ['users', 16],
  ['users/staff', 8],
  ['users/staff/engineering', 12],
  ['users/staff/engineering/platform', 4],
  ['users/staff/sales', 8],
  ['users/staff/support', 8],
  ['users/staff/finance', 0.2],
  ['users/customers', 12],
  ['users/customers/eu', 8],
  ['users/customers/eu/de', 6],
  ['users/customers/eu/fr', 5],
  ['users/customers/us', 8],
  ['users/customers/apac', 3],
  ['users/partners', 2],
];
const GROUPS = [
  'Engineering',
  'Platform',
  'Sales',
  'Support',
  'Finance',
  'Customers EU',
  'Customers US',
  'Partners',
  'On-call',
  'VPN users',
  'Wiki editors',
  'Auditors',
  'Contractors',
  'Beta testers',
  'Newsletter',
];
const DOMAINS = ['example.com', 'example.org', 'corp.example', 'mail.example'];
const DAY = 86_400_000;

/** A small seeded generator, so that the same arguments give the same data. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function asciiFold(text: string): string {
  return text.normalize('NFKD').replace(/[^\w]/g, '').toLowerCase();
}

export async function seedGroups(db: Knex, count: number): Promise<number[]> {
  const now = new Date();
  const names = Array.from({ length: count }, (_, i) => (i < GROUPS.length ? GROUPS[i] : `Team ${i + 1}`));
  await db('groups')
    .insert(names.map((name) => ({ uuid: randomUUID(), name, is_superuser: false, attributes: '{}', created: now, last_updated: now })))
    .onConflict('name')
    .ignore();
  return (await db('groups').whereIn('name', names).select('id')).map((g) => g.id);
}

export async function seedUsers(db: Knex, count: number, groupIds: number[], batchSize: number): Promise<void> {
  const rnd = random(count);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)];
  const total = FOLDERS.reduce((sum, [, share]) => sum + share, 0);
  const folder = () => {
    let at = rnd() * total;
    for (const [path, share] of FOLDERS) {
      at -= share;
      if (at < 0) return path;
    }
    return FOLDERS[0][0];
  };
  const start = Date.now();
  const base = Number((await db('users').max({ id: 'id' }).first())?.id ?? 0);
  for (let done = 0; done < count; ) {
    const size = Math.min(batchSize, count - done);
    const now = Date.now();
    const rows = Array.from({ length: size }, (_, k) => {
      const n = base + done + k + 1;
      const first = pick(FIRST);
      const last = pick(LAST);
      const service = rnd() < 0.02;
      const joined = now - Math.floor(rnd() * 3 * 365 * DAY);
      const login = rnd() < 0.8 ? joined + Math.floor(rnd() * (now - joined)) : null;
      return {
        uuid: randomUUID(),
        username: service ? `svc-${asciiFold(last)}-${n}` : `${asciiFold(first)}.${asciiFold(last)}${n}`,
        name: service ? `${last} service` : `${first} ${last}`,
        email: service ? '' : `${asciiFold(first)}.${asciiFold(last)}${n}@${pick(DOMAINS)}`,
        is_active: rnd() > 0.05,
        path: service ? 'service-accounts' : folder(),
        type: service ? 'service_account' : rnd() < 0.08 ? 'external' : 'internal',
        attributes: rnd() < 0.3 ? JSON.stringify({ employee_id: n, office: pick(['Berlin', 'Lisbon', 'Austin', 'Osaka']) }) : '{}',
        password: null,
        date_joined: new Date(joined),
        last_updated: new Date(joined),
        last_login: login === null ? null : new Date(login),
      };
    });
    await db.transaction(async (trx) => {
      await trx('users').insert(rows);
      const created = await trx('users')
        .whereIn(
          'username',
          rows.map((r) => r.username),
        )
        .select(...INDEXED_COLUMNS);
      await writeTerms(trx, created);
      if (!groupIds.length) return;
      const memberships = created.flatMap(({ id }) => {
        const n = Math.floor(rnd() * 3);
        return [...new Set(Array.from({ length: n }, () => pick(groupIds)))].map((group_id) => ({ user_id: id, group_id }));
      });
      if (memberships.length) await trx.batchInsert('group_memberships', memberships, 400);
    });
    done += size;
    const seconds = (Date.now() - start) / 1000;
    process.stderr.write(
      `\rusers: ${done.toLocaleString('en')} / ${count.toLocaleString('en')}  (${Math.round(done / Math.max(seconds, 0.001)).toLocaleString('en')}/s)`,
    );
  }
  process.stderr.write('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000' },
      groups: { type: 'string', default: '15' },
      batch: { type: 'string', default: '400' },
    },
  });
  const users = Number(values.users);
  const groups = Number(values.groups);
  const batch = Number(values.batch);
  if (!Number.isInteger(users) || users < 0) throw new ConfigError('--users must be a whole number');
  if (!Number.isInteger(groups) || groups < 0) throw new ConfigError('--groups must be a whole number');
  if (!Number.isInteger(batch) || batch < 1 || batch > 500)
    throw new ConfigError('--batch must be between 1 and 500 (SQLite inserts at most 500 rows a statement)');
  const config = loadConfig();
  const db = openDb(config.databaseUrl);
  try {
    await migrate(db);
    const started = Date.now();
    const groupIds = await seedGroups(db, groups);
    await seedUsers(db, users, groupIds, batch);
    console.log(
      `Seeded ${users.toLocaleString('en')} users and ${groupIds.length} groups into ${describeDatabaseUrl(config.databaseUrl)} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await db.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exitCode = 1;
  });
}
