import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { pino } from 'pino';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../app/app.js';
import { ADMIN_GROUP } from '../../app/auth/bootstrap.js';
import { hashPassword } from '../../app/auth/passwords.js';
import { type Config, loadConfig } from '../../app/config.js';
import { addMember, ensureGroup } from '../../app/directory/groups/groups.js';
import { insertUser, type NewUser } from '../../app/directory/users/users.js';
import { freshDb } from './db.js';

export const TEST_ROUNDS = 4;
export const PASSWORD = 'correct horse battery';

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...env });
  return { ...config, bcryptRounds: TEST_ROUNDS };
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  db: Knex;
  url: string;
  config: Config;
  close(): Promise<void>;
}

/** An app on a fresh database. Call close() in after(). */
export async function testApp(env: Record<string, string> = {}): Promise<TestApp> {
  const { db, url } = await freshDb();
  const config = testConfig(url, env);
  const app = createApp({ config, db, logger: pino({ level: 'silent' }), sessionSecret: 'test-secret-that-is-long-enough-000' });
  return { app, db, url, config, close: () => db.destroy() };
}

/** Serves an app on a random local port (for browsers and multi-instance tests). */
export async function serve(app: TestApp['app'], port = 0): Promise<{ baseUrl: string; server: Server; close(): Promise<void> }> {
  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${bound}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function createUser(db: Knex, user: Partial<NewUser> & { password?: string | null; admin?: boolean } = {}): Promise<number> {
  const { password = PASSWORD, admin = false, ...rest } = user;
  const id = await insertUser(db, {
    username: `user${Math.random().toString(36).slice(2, 8)}`,
    ...rest,
    passwordHash: password ? await hashPassword(password, TEST_ROUNDS) : null,
  });
  if (admin) await addMember(db, await ensureGroup(db, ADMIN_GROUP, true), id);
  return id;
}

export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field in the page');
  return match[1];
}

/** Logs the agent in through the real form; returns the POST's response. */
export async function login(agent: TestAgent, username: string, password = PASSWORD) {
  const page = await agent.get('/login');
  return agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfFrom(page.text), username, password });
}

/** A CSRF token for the agent's session, read from a page it can see. */
export async function csrfOf(agent: TestAgent, pagePath = '/me'): Promise<string> {
  return csrfFrom((await agent.get(pagePath)).text);
}

export function agentFor(app: TestApp['app']): TestAgent {
  return supertest.agent(app);
}

/** A free port on 127.0.0.1, for a server whose URL must be known before the app is built. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
