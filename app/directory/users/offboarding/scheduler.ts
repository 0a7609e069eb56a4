import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Config } from '../../../config.js';
import type { Db, ScheduledActionRow } from '../../../db.js';
import { throughIndex } from '../../../db.js';
import { RuleError } from '../../../errors.js';
import { systemActor } from '../../../events/events.js';
import { lockSuperuserGroups } from '../../groups/groups.js';
import { deleteUsers, setActive, toUser } from '../users.js';
import { releaseLease, takeLease } from './lease.js';
import { actionContext, idleDue, toScheduledAction } from './offboarding.js';

/** The lease that says which process does the scheduled work. */
export const SCHEDULER_LEASE = 'scheduler';
/** Due actions read per statement. */
const BATCH = 100;

export type RunOutcome = 'done' | 'failed' | 'waiting' | 'gone';

/** What a tick did: whether this process held the lease, and how each action it looked at ended. */
export interface TickReport {
  held: boolean;
  done: number;
  failed: number;
  /** Idle rules whose user logged in since they were scheduled: not due yet. */
  waiting: number;
}

/** Pending actions due by `now`, soonest first, after a place in that order. */
async function dueActions(db: Db, now: Date, after: ScheduledActionRow | null): Promise<ScheduledActionRow[]> {
  const query = db
    .from(throughIndex(db, 'scheduled_actions', 'scheduled_actions_state_due'))
    .where({ state: 'pending' })
    .where('due', '<=', now);
  if (after) query.where('due', '>=', after.due).where((q) => q.where('due', '>', after.due).orWhere('id', '>', after.id));
  const rows = await query
    .orderBy([
      { column: 'due', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])
    .limit(BATCH);
  return rows;
}

/**
 * Runs one due action in one transaction, through the pages' own code (setActive, deleteUsers) as
 * the system. Locks in the order every change of users takes them (superuser groups, then the user,
 * then the action), so that it waits for a request on the same user rather than deadlocking with it.
 * The claim is an update that only a pending action passes: of two processes that both think they
 * hold the lease (one expired mid-run), the second finds it gone or failed. Should the process die
 * before the commit, nothing happened and the action is pending again.
 */
export async function runScheduledAction(
  db: Knex,
  row: ScheduledActionRow,
  options: { now: Date; deleteEvents: boolean },
): Promise<RunOutcome> {
  return db.transaction(async (trx) => {
    await lockSuperuserGroups(trx);
    const userRow = await trx('users').where({ id: row.user_id }).forUpdate().first();
    const claimed = await trx('scheduled_actions')
      .where({ id: row.id, state: 'pending' })
      .where('due', '<=', options.now)
      .update({ state: 'running' });
    if (!userRow || !claimed) return 'gone'; // run, cancelled or replaced by another request meanwhile
    const user = toUser(userRow);
    const action = toScheduledAction(row);
    if (action.idleDays !== null) {
      // The user logged in since the rule was scheduled: it comes due later.
      const due = idleDue(user, action.idleDays);
      if (due > options.now) {
        await trx('scheduled_actions').where({ id: row.id }).update({ state: 'pending', due });
        return 'waiting';
      }
    }
    const actor = systemActor({ scheduled_action: actionContext(action) });
    try {
      if (action.action === 'delete') await deleteUsers(trx, [user], actor, { deleteEvents: options.deleteEvents });
      else await setActive(trx, user, false, actor);
    } catch (err) {
      // The pages' guard rails (the last active administrator stays): failed, with the reason, for
      // an administrator to see; never tried again by itself.
      if (!(err instanceof RuleError)) throw err;
      await trx('scheduled_actions')
        .where({ id: row.id })
        .update({ state: 'failed', failure: err.message.slice(0, 500), failed_at: options.now });
      return 'failed';
    }
    await trx('scheduled_actions').where({ id: row.id }).delete(); // a deleted user's went with them
    return 'done';
  });
}

/**
 * Runs every action due by `now`, each once and in its own transaction. An action that throws
 * (the database went away) is logged and stays pending for the next tick; the others still run.
 * Between batches the lease is renewed: a process that lost it stops.
 */
export async function runDueActions(
  db: Knex,
  options: { now: Date; deleteEvents: boolean; logger: Logger; renew?: () => Promise<boolean> },
): Promise<Omit<TickReport, 'held'>> {
  const report = { done: 0, failed: 0, waiting: 0 };
  let after: ScheduledActionRow | null = null;
  for (;;) {
    const rows = await dueActions(db, options.now, after);
    for (const row of rows) {
      try {
        const outcome = await runScheduledAction(db, row, options);
        if (outcome !== 'gone') report[outcome] += 1;
        if (outcome === 'failed') options.logger.warn({ scheduledAction: row.id }, 'scheduled offboarding refused by the rules');
      } catch (err) {
        options.logger.error({ err, scheduledAction: row.id }, 'scheduled offboarding could not run; it is tried again at the next tick');
      }
    }
    if (rows.length < BATCH || (options.renew && !(await options.renew()))) return report;
    after = rows[rows.length - 1];
  }
}

export interface Scheduler {
  /** This process's name in the lease. */
  readonly holder: string;
  /** Takes or renews the lease; when held, runs what is due by `now`. */
  tick(now?: Date): Promise<TickReport>;
  /** Ticks now (a time missed while no server ran is due at once), then every SCHEDULER_INTERVAL. */
  start(): void;
  /** Stops ticking, waits for a tick under way, and gives the lease up. */
  stop(): Promise<void>;
}

/**
 * The scheduler of one process. Every process runs one; the lease in the database makes one of them
 * do the work at a time. A lease lasts three intervals: a holder that stops without giving it up
 * (killed) is replaced within that.
 */
export function createScheduler(db: Knex, config: Config, logger: Logger, holder = defaultHolder()): Scheduler {
  const ttl = 3 * config.schedulerIntervalMs;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;

  async function tick(now = new Date()): Promise<TickReport> {
    const renew = () => takeLease(db, SCHEDULER_LEASE, holder, now, ttl);
    if (!(await renew())) return { held: false, done: 0, failed: 0, waiting: 0 };
    const report = await runDueActions(db, { now, deleteEvents: config.deleteUserEvents, logger, renew });
    if (report.done || report.failed) logger.info({ ...report }, 'scheduled offboarding ran');
    return { held: true, ...report };
  }

  function loop(): void {
    running = tick()
      .catch((err) => logger.error({ err }, 'scheduler tick failed; trying again at the next one'))
      .finally(() => {
        running = undefined;
        if (stopped) return;
        timer = setTimeout(loop, config.schedulerIntervalMs);
        timer.unref();
      });
  }

  return {
    holder,
    tick,
    start() {
      if (!stopped) return;
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await releaseLease(db, SCHEDULER_LEASE, holder).catch((err) => logger.warn({ err }, 'could not give the scheduler lease up'));
    },
  };
}

/** Host, process and a random part: unique among processes, and readable in the leases table. */
function defaultHolder(): string {
  return `${hostname().slice(0, 60)}:${process.pid}:${randomBytes(4).toString('hex')}`;
}
