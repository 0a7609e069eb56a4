// `npm test`: runs the whole suite on SQLite and, when TEST_MYSQL_URL is set, on MariaDB/MySQL at
// the same time (most of a browser test is waiting, so the two halves share the machine well).
// Each half's report is printed whole when it ends. In CI (CI=true) a missing TEST_MYSQL_URL is a
// failure, never a silent skip.
import { spawn } from 'node:child_process';

const SPECS = ['test/unit/**/*.test.ts', 'test/http/**/*.test.ts', 'test/browser/**/*.test.ts'];
const extraArgs = process.argv.slice(2);
type Target = 'sqlite' | 'mysql';
const NAMES: Record<Target, string> = { sqlite: 'SQLite', mysql: 'MariaDB/MySQL' };

function runMocha(database: Target): Promise<{ code: number; passed: number; failed: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['node_modules/mocha/bin/mocha.js', ...(extraArgs.length ? extraArgs : SPECS)], {
      env: { ...process.env, TEST_DB: database },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.on('close', (code) => {
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      console.log(`\n=== Roster test suite on ${NAMES[database]} (${minutes} min) ===`);
      process.stdout.write(out);
      const passed = Number(/(\d+) passing/.exec(out)?.[1] ?? 0);
      const failed = Number(/(\d+) failing/.exec(out)?.[1] ?? 0);
      resolve({ code: code ?? 1, passed, failed });
    });
  });
}

const targets: Target[] = ['sqlite'];
let missingMysql = false;
if (process.env.TEST_MYSQL_URL) targets.push('mysql');
else if (process.env.CI) missingMysql = true;
else console.log('TEST_MYSQL_URL is not set: running on SQLite only (CI runs both).');
console.log(`Running the suite on ${targets.map((t) => NAMES[t]).join(' and ')}; each report follows when its run ends.`);

const results = await Promise.all(targets.map(runMocha));
const passed = results.reduce((n, r) => n + r.passed, 0);
let failed = results.reduce((n, r) => n + r.failed, 0);
let code = results.some((r) => r.code !== 0) ? 1 : 0;
if (missingMysql) {
  console.error('\nCI=true but TEST_MYSQL_URL is not set: the MariaDB half of the suite cannot run.');
  failed += 1;
  code = 1;
}
console.log(`\nDatabases: ${targets.join(', ')}`);
console.log(`summary: ${passed} passed, ${failed} failed`);
process.exitCode = code;
