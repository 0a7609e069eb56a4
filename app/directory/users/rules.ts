/** Rules for user fields that hold everywhere a user is written (forms, bootstrap, seeds). */
import { nameProblem } from '../../identity/names.js';

export const PATH_MAX = 200;
export const DEFAULT_PATH = 'users';
export const USER_TYPES = ['internal', 'external', 'service_account'] as const;
export type UserType = (typeof USER_TYPES)[number];

/** Why a folder path is not acceptable, or undefined when it is. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'Enter a path, such as users or users/staff';
  if (path.length > PATH_MAX) return `Use at most ${PATH_MAX} characters`;
  // Each folder name follows the name rule: `staff ` is not a second `staff`.
  const problem = path.split('/').map(nameProblem).find(Boolean);
  if (problem) return problem;
  if (path.startsWith('/') || path.endsWith('/')) return 'A path cannot start or end with /';
  if (path.split('/').some((segment) => segment.trim() === '')) return 'A path cannot contain an empty segment (//)';
  return undefined;
}
