import bcrypt from 'bcrypt';

export const PASSWORD_MIN = 8;
// bcrypt ignores everything after 72 bytes; refusing longer passwords keeps that from surprising anyone.
export const PASSWORD_MAX_BYTES = 72;

export function hashPassword(password: string, rounds: number): Promise<string> {
  return bcrypt.hash(password, rounds);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * Compares against the stored hash, or against a dummy hash of the same cost when there is none,
 * so that unknown users and users without a password take as long as everyone else.
 */
export async function verifyPassword(password: string, hash: string | null | undefined, rounds: number): Promise<boolean> {
  if (hash) return bcrypt.compare(password, hash);
  let dummy = dummyHashes.get(rounds);
  if (!dummy) {
    dummy = bcrypt.hash('roster-timing-equaliser', rounds);
    dummyHashes.set(rounds, dummy);
  }
  await bcrypt.compare(password, await dummy);
  return false;
}

/** Why a new password is not acceptable, or undefined when it is. */
export function passwordProblem(password: string, username: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters`;
  if (Buffer.byteLength(password) > PASSWORD_MAX_BYTES) return `Use at most ${PASSWORD_MAX_BYTES} bytes`;
  if (password === username) return 'The password cannot be the username';
  return undefined;
}
