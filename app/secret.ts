import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Development convenience: without SESSION_SECRET, a secret is generated once into the data
 * directory so sessions survive restarts. Production requires SESSION_SECRET (see config).
 */
export function sessionSecretFor(configured: string | undefined, dataDir = 'data'): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'session-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
