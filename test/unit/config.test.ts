import { expect } from 'chai';
import { ConfigError, loadConfig, parseDuration } from '../../app/config.js';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).to.equal(3000);
    expect(config.databaseUrl).to.equal('sqlite:data/roster.sqlite3');
    expect(config.publicUrl).to.equal('http://localhost:3000');
    expect(config.mailFrom).to.equal('Roster <roster@localhost>');
    expect(config.bootstrap).to.deep.equal({ username: 'akadmin', password: undefined, email: undefined });
    expect(config.recoveryTokenTtlMs).to.equal(30 * 60_000);
    expect(config.smtpUrl).to.equal(undefined);
    expect(config.bcryptRounds).to.be.at.least(12);
    expect(config.schedulerIntervalMs).to.equal(30_000);
    expect(loadConfig({ SCHEDULER_INTERVAL: '5m' }).schedulerIntervalMs).to.equal(300_000);
  });

  it('derives PUBLIC_URL from PORT and strips a trailing slash from a given one', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).to.equal('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).publicUrl).to.equal('https://id.example.com');
  });

  it('names the variable in one line when a value is invalid', () => {
    for (const [env, variable] of [
      [{ PORT: 'abc' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ DATABASE_URL: 'postgres://x@y/z' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'mysql://host-without-db' }, 'DATABASE_URL'],
      [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL'],
      [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
      [{ RECOVERY_TOKEN_TTL: 'soon' }, 'RECOVERY_TOKEN_TTL'],
      [{ BOOTSTRAP_EMAIL: 'not-an-email' }, 'BOOTSTRAP_EMAIL'],
      [{ BOOTSTRAP_PASSWORD: 'short' }, 'BOOTSTRAP_PASSWORD'],
      [{ NODE_ENV: 'production' }, 'SESSION_SECRET'],
      [{ COMPRESSION: 'maybe' }, 'COMPRESSION'],
      [{ SCHEDULER_INTERVAL: '2d' }, 'SCHEDULER_INTERVAL'],
      [{ SCHEDULER_INTERVAL: 'often' }, 'SCHEDULER_INTERVAL'],
    ] as const) {
      const message = configError(env);
      expect(message, JSON.stringify(env)).to.contain(variable);
      expect(message).not.to.contain('\n');
    }
  });

  it('accepts MySQL and SQLite URLs and a production secret', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://u:p@127.0.0.1:3306/roster' }).databaseUrl).to.equal('mysql://u:p@127.0.0.1:3306/roster');
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite3' }).databaseUrl).to.equal('sqlite:/tmp/x.sqlite3');
    expect(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) }).sessionSecret).to.equal('x'.repeat(32));
  });

  it('parses durations', () => {
    expect(parseDuration('45s')).to.equal(45_000);
    expect(parseDuration('30m')).to.equal(1_800_000);
    expect(parseDuration('24h')).to.equal(86_400_000);
    expect(parseDuration('1d')).to.equal(86_400_000);
    expect(parseDuration('10')).to.equal(undefined);
    expect(loadConfig({ RECOVERY_TOKEN_TTL: '2h' }).recoveryTokenTtlMs).to.equal(7_200_000);
  });
});
