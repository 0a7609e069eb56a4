import { ConfigError, loadConfig } from '../app/config.js';
import { describeDatabaseUrl, migrate, openDb } from '../app/db.js';

// `npm run migrate` (and the Procfile's release phase): apply pending migrations and exit.
try {
  const config = loadConfig();
  const db = openDb(config.databaseUrl);
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date');
  } catch (err) {
    throw new ConfigError(`DATABASE_URL: cannot migrate ${describeDatabaseUrl(config.databaseUrl)}: ${(err as Error).message}`);
  } finally {
    await db.destroy();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exitCode = 1;
}
