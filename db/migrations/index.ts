import type { Knex } from 'knex';
import * as users from './20261127_01_users.js';
import * as groups from './20261127_02_groups.js';
import * as sessions from './20261127_03_sessions.js';
import * as events from './20261127_04_events.js';
import * as recoveryTokens from './20261127_05_recovery_tokens.js';
import * as oauth from './20261127_06_oauth.js';
import * as authenticators from './20261127_07_authenticators.js';
import * as apiTokens from './20261127_08_api_tokens.js';
import * as exactNames from './20261202_09_exact_names.js';
import * as searchTerms from './20261202_10_search_terms.js';
import * as searchRuns from './20261202_11_search_runs.js';
import * as searchRunsKey from './20261202_12_search_runs_key.js';
import * as accountState from './20261202_13_account_state.js';
import * as loginThrottle from './20261202_14_login_throttle.js';
import * as scheduledActions from './20261202_15_scheduled_actions.js';
import * as statusIndexes from './20261207_16_status_indexes.js';
import * as scim from './20261207_17_scim.js';

/** Every migration, in order. A new migration is a new file listed here. */
export const migrations: Record<string, Knex.Migration> = {
  '20261127_01_users': users,
  '20261127_02_groups': groups,
  '20261127_03_sessions': sessions,
  '20261127_04_events': events,
  '20261127_05_recovery_tokens': recoveryTokens,
  '20261127_06_oauth': oauth,
  '20261127_07_authenticators': authenticators,
  '20261127_08_api_tokens': apiTokens,
  '20261202_09_exact_names': exactNames,
  '20261202_10_search_terms': searchTerms,
  '20261202_11_search_runs': searchRuns,
  '20261202_12_search_runs_key': searchRunsKey,
  '20261202_13_account_state': accountState,
  '20261202_14_login_throttle': loginThrottle,
  '20261202_15_scheduled_actions': scheduledActions,
  '20261207_16_status_indexes': statusIndexes,
  '20261207_17_scim': scim,
};
