// `npm test`: runs the whole suite on SQLite, then on MariaDB/MySQL when TEST_MYSQL_URL is set.
// In CI (CI=true) a missing TEST_MYSQL_URL is a failure, never a silent skip.
import { spawn } from 'node:child_process';

const SPECS = ['test/unit/**/*.test.ts', 'test/http/**/*.test.ts', 'test/browser/**/*.test.ts'];
const extraArgs = process.argv.slice(2);

function runMocha(database: 'sqlite' | 'mysql'): Promise<{ code: number; passed: number; failed: number }> {
  console.log(`\n=== Roster test suite on ${database === 'sqlite' ? 'SQLite' : 'MariaDB/MySQL'} ===`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['node_modules/mocha/bin/mocha.js', ...(extraArgs.length ? extraArgs : SPECS)], {
      env: { ...process.env, TEST_DB: database },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const passed = Number(/(\d+) passing/.exec(out)?.[1] ?? 0);
      const failed = Number(/(\d+) failing/.exec(out)?.[1] ?? 0);
      resolve({ code: code ?? 1, passed, failed });
    });
  });
}

const targets: ('sqlite' | 'mysql')[] = ['sqlite'];
let missingMysql = false;
if (process.env.TEST_MYSQL_URL) targets.push('mysql');
else if (process.env.CI) missingMysql = true;
else console.log('TEST_MYSQL_URL is not set: running on SQLite only (CI runs both).');

let passed = 0;
let failed = 0;
let code = 0;
for (const target of targets) {
  const result = await runMocha(target);
  passed += result.passed;
  failed += result.failed;
  if (result.code !== 0) code = 1;
}
if (missingMysql) {
  console.error('\nCI=true but TEST_MYSQL_URL is not set: the MariaDB half of the suite cannot run.');
  failed += 1;
  code = 1;
}
console.log(`\nDatabases: ${targets.join(', ')}`);
console.log(`summary: ${passed} passed, ${failed} failed`);
process.exitCode = code;
