import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { freshDb } from './db.js';

/**
 * Several Roster processes (`app/server.ts`, as `npm start` runs it) on one database, behind a real
 * HAProxy from Debian that sends each request to the next process in turn and says which one
 * answered (header X-Served-By: the process's name). HAProxy adds the client's address to
 * X-Forwarded-For, and the processes trust their loopback proxy, so a test can speak for several
 * client addresses by sending X-Forwarded-For itself.
 */
export interface Cluster {
  /** The load balancer. */
  url: string;
  /** Each process, by name (a, b, …), for requests that must reach one of them. */
  processes: Record<string, string>;
  db: Knex;
  stop(): Promise<void>;
}

const HAPROXY = '/usr/sbin/haproxy';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}):\n${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within 60 s:\n${output()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `count` processes on a fresh database and HAProxy before them. `env`: more settings. */
export async function startCluster(count = 2, env: Record<string, string> = {}): Promise<Cluster> {
  if (spawnSync(HAPROXY, ['-v']).status !== 0)
    throw new Error(`${HAPROXY} is missing: install Debian's haproxy (apt-get install -y haproxy), as .ci/run does`);
  const { db, url: databaseUrl } = await freshDb();
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    await db.destroy();
  };
  try {
    const names = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i));
    const balancerPort = await freePort();
    const url = `http://127.0.0.1:${balancerPort}`;
    const processes: Record<string, string> = {};
    const ready: Promise<void>[] = [];
    // Started together, as a deployment starts them: what each makes on first use must not differ.
    for (const name of names) {
      const port = await freePort();
      processes[name] = `http://127.0.0.1:${port}`;
      let output = '';
      const child = spawn(process.execPath, ['--import', 'tsx', 'app/server.ts'], {
        env: {
          ...process.env,
          NODE_ENV: 'test',
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          PUBLIC_URL: url,
          SESSION_SECRET: 'cluster-test-secret-that-is-long-enough',
          TRUST_PROXY: 'loopback',
          LOG_LEVEL: 'warn',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr!.on('data', (chunk) => {
        output += chunk;
      });
      children.push(child);
      ready.push(waitFor(`${processes[name]}/-/health/ready/`, child, () => output));
    }
    await Promise.all(ready);
    const config = path.join(os.tmpdir(), `roster-haproxy-${balancerPort}.cfg`);
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 256',
        'defaults',
        '  mode http',
        '  timeout connect 5s',
        '  timeout client 60s',
        '  timeout server 60s',
        '  option forwardfor',
        '  option http-server-close',
        'frontend roster',
        `  bind 127.0.0.1:${balancerPort}`,
        '  default_backend processes',
        'backend processes',
        '  balance roundrobin',
        '  http-response set-header X-Served-By %s',
        ...names.map((name) => `  server ${name} ${processes[name].replace('http://', '')}`),
        '',
      ].join('\n'),
    );
    let output = '';
    const balancer = spawn(HAPROXY, ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    balancer.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    balancer.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    children.push(balancer);
    await waitFor(`${url}/-/health/live/`, balancer, () => output);
    return { url, processes, db, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
