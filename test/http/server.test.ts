import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { expect } from 'chai';
import { insertUser } from '../../app/directory/users/users.js';
import { freshDb } from '../support/db.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<number | null>;
}

function start(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/server.ts'], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', SESSION_SECRET: 'x'.repeat(40), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exit };
}

async function waitFor(check: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the server process', function () {
  this.timeout(30_000);

  it('starts on a fresh database, logs the one-time setup link, serves the login page and stops on SIGTERM', async () => {
    const { db, url } = await freshDb();
    await db.destroy();
    const port = await freePort();
    const run = start({ DATABASE_URL: url, PORT: String(port) });
    try {
      await waitFor(() => /\/recovery\/[\w-]{43}/.test(run.output().stdout));
      const link = /(http:\/\/localhost:\d+\/recovery\/[\w-]{43})/.exec(run.output().stdout)![1];
      expect(link).to.contain(`localhost:${port}`);
      const loginPage = await fetch(`http://127.0.0.1:${port}/login`);
      expect(loginPage.status).to.equal(200);
      expect(await loginPage.text()).to.contain('name="password"');
      expect((await fetch(link.replace('localhost', '127.0.0.1'))).status).to.equal(200);
      // The request log never carries the token.
      const token = link.split('/').pop()!;
      expect(run.output().stderr + run.output().stdout.replace(link, '')).to.not.contain(token);
      run.child.kill('SIGTERM');
      expect(await run.exit).to.equal(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  for (const [variable, env, pattern] of [
    ['PORT', { PORT: 'eighty' }, /^Invalid configuration: PORT must be a port number/],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://db/roster' }, /^Invalid configuration: DATABASE_URL must look like/],
    [
      'DATABASE_URL',
      { DATABASE_URL: 'mysql://roster:hunter2@127.0.0.1:1/roster' },
      /^DATABASE_URL: cannot use mysql:\/\/roster:\*\*\*@127\.0\.0\.1:1\/roster/,
    ],
  ] as const) {
    it(`stops with one clear line for a bad ${variable} (${Object.values(env)[0]})`, async () => {
      const run = start(env);
      expect(await run.exit).to.equal(1);
      const { stderr } = run.output();
      expect(stderr.trim().split('\n')).to.have.length(1);
      expect(stderr.trim()).to.match(pattern);
      expect(stderr).to.not.contain('hunter2');
    });
  }

  it('runs, at start, a scheduled deactivation whose time passed while no server ran', async function () {
    this.timeout(60_000);
    const { db, url } = await freshDb();
    try {
      const anaId = await insertUser(db, { username: 'ana' });
      const past = new Date(Date.now() - 86_400_000);
      await db('scheduled_actions').insert({
        user_id: anaId,
        action: 'deactivate',
        run_at: past,
        idle_days: null,
        due: past,
        reason: '',
        created_by_id: null,
        created_by_name: 'akadmin',
        created: past,
        state: 'pending',
        failure: null,
        failed_at: null,
      });
      const port = await freePort();
      const run = start({ DATABASE_URL: url, PORT: String(port), BOOTSTRAP_PASSWORD: 'bootstrap-pass' });
      try {
        // Starting takes a while on a busy machine; the first tick follows at once.
        const until = Date.now() + 45_000;
        while ((await db('users').where({ id: anaId }).first())!.is_active) {
          if (Date.now() > until) throw new Error(`not deactivated: ${run.output().stdout}${run.output().stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(await db('scheduled_actions')).to.deep.equal([]);
        run.child.kill('SIGTERM');
        expect(await run.exit).to.equal(0);
        // Stopping gave the scheduler's lease up.
        const lease = await db('leases').first();
        expect(new Date(lease!.expires).getTime()).to.be.at.most(Date.now());
      } finally {
        run.child.kill('SIGKILL');
      }
    } finally {
      await db.destroy();
    }
  });

  it('stops with one clear line when the port is taken', async () => {
    const blocker = net.createServer().listen(0);
    await new Promise((resolve) => blocker.once('listening', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const { db, url } = await freshDb();
    await db.destroy();
    try {
      const run = start({ DATABASE_URL: url, PORT: String(port), BOOTSTRAP_PASSWORD: 'bootstrap-pass' });
      expect(await run.exit).to.equal(1);
      expect(run.output().stderr.trim()).to.equal(`PORT: cannot listen on ${port}: the port is in use`);
    } finally {
      blocker.close();
    }
  });
});
