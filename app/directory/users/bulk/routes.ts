import { Router } from 'express';
import type { Knex } from 'knex';
import type { Actor } from '../../../events/events.js';
import { type BulkInput, type BulkResults, bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { parseIds } from '../../../http/params.js';
import { nameProblem, normalName } from '../../../identity/names.js';
import { text } from '../../form-fields.js';
import { findGroupByNameOrId, type Group, groupChoices } from '../../groups/groups.js';
import { folderPaths } from '../folders.js';
import { lockDown } from '../lockdown.js';
import { NEW_OFFBOARDING, readOffboardingForm } from '../offboarding/form.js';
import {
  asScheduled,
  describeScheduled,
  OFFBOARDING_ACTIONS,
  type OffboardingSpec,
  SELF_OFFBOARDING,
  scheduleOffboarding,
} from '../offboarding/offboarding.js';
import { pathProblem } from '../rules.js';
import { dependents, findByIds, type User } from '../users.js';
import { matchingIds } from './matching.js';
import {
  addToGroup,
  alreadyActive,
  alreadyDeactivated,
  endSessionsOf,
  isActor,
  moveUsers,
  type Outcome,
  removeFromGroup,
  SKIPPED,
  setActiveOf,
} from './writes.js';

/** An action on the users selected in the list (or on all that its filter matches), at /directory/users/<slug>. */
interface UserAction<T> {
  slug: string;
  /** The button that confirms, and the entry of the list's Actions menu. */
  verb: string;
  phrase?(what: string): string;
  danger?: boolean;
  warning?: string;
  input?(db: Knex): BulkInput<T>;
  /** The review's line about a user: what goes with them, and why the action will pass them by. */
  preview(user: User, seen: { actorId: number; sessions: number }): { details?: string[]; skip?: string };
  /** The model function: one transaction, an outcome for each selected id. */
  act(db: Knex, ids: number[], input: T, actor: Actor): Promise<Outcome[]>;
  /** The totals' sentence for the users acted on ("3 users deactivated"). */
  done(what: string, input: T): string;
}

const sessionsOf = (n: number) => (n ? [`${n} ${n === 1 ? 'session ends' : 'sessions end'}`] : []);

function groupInput(db: Knex): BulkInput<Group> {
  return {
    view: '../directory/users/_bulk-group',
    read: (source) => ({ group: text(source.group).trim() }),
    parse: async ({ group }) => {
      const found = group ? await findGroupByNameOrId(db, group) : undefined;
      if (found) return { value: found };
      return { errors: { group: group ? `There is no group named “${group}”` : 'Choose a group' } };
    },
    viewData: async () => ({ choices: await groupChoices(db) }),
  };
}

function pathInput(db: Knex): BulkInput<string> {
  return {
    view: '../directory/users/_bulk-path',
    read: (source) => ({ path: text(source.path).trim() }),
    parse: async ({ path }) => {
      const problem = pathProblem(path);
      return problem ? { errors: { path: problem } } : { value: normalName(path) };
    },
    viewData: async () => ({ folders: await folderPaths(db) }),
  };
}

export const REASON_MAX = 500;

const reasonInput = (): BulkInput<string> => ({
  view: '../directory/users/_bulk-reason',
  read: (source) => ({ reason: text(source.reason).trim() }),
  parse: async ({ reason }) => {
    if (!reason) return { errors: { reason: 'Say why: the reason is recorded with the lockdown' } };
    if (reason.length > REASON_MAX) return { errors: { reason: `Use at most ${REASON_MAX} characters` } };
    const problem = nameProblem(reason);
    return problem ? { errors: { reason: problem } } : { value: normalName(reason) };
  },
});

/** The fields of a scheduled offboarding, as on one user's form (and read by the same code). */
const offboardingInput = (): BulkInput<OffboardingSpec> => ({
  view: '../directory/users/offboarding/_bulk',
  // The review opens with the form's defaults; the confirmation sends what was typed.
  read: (source) => ({ ...(text(source.action) ? readOffboardingForm(source).values : NEW_OFFBOARDING) }),
  parse: async (typed) => {
    const form = readOffboardingForm(typed);
    return form.spec ? { value: form.spec } : { errors: form.errors as Record<string, string> };
  },
  viewData: async () => ({ actions: OFFBOARDING_ACTIONS }),
});

/**
 * The list's bulk actions, in the order of its Actions menu (Delete has its own button). Another
 * action joins the menu by being added here.
 */
const ACTIONS = [
  action<undefined>({
    slug: 'deactivate',
    verb: 'Deactivate',
    danger: true,
    warning: 'Their sessions and OAuth tokens end at once, and they cannot log in until activated again.',
    preview: (user, seen) => ({ details: sessionsOf(seen.sessions), skip: isActor(seen.actorId)(user) ?? alreadyDeactivated(user) }),
    act: (db, ids, _, actor) => setActiveOf(db, ids, false, actor),
    done: (what) => `${what} deactivated`,
  }),
  action<undefined>({
    slug: 'activate',
    verb: 'Activate',
    preview: (user) => ({ skip: alreadyActive(user) }),
    act: (db, ids, _, actor) => setActiveOf(db, ids, true, actor),
    done: (what) => `${what} activated`,
  }),
  action<Group>({
    slug: 'add-to-group',
    verb: 'Add to group',
    phrase: (what) => `Add ${what} to a group`,
    input: groupInput,
    preview: () => ({}),
    act: (db, ids, group, actor) => addToGroup(db, ids, group, actor),
    done: (what, group) => `${what} added to ${group.name}`,
  }),
  action<Group>({
    slug: 'remove-from-group',
    verb: 'Remove from group',
    phrase: (what) => `Remove ${what} from a group`,
    input: groupInput,
    preview: (user, seen) => ({ skip: isActor(seen.actorId)(user) }),
    act: (db, ids, group, actor) => removeFromGroup(db, ids, group, actor),
    done: (what, group) => `${what} removed from ${group.name}`,
  }),
  action<string>({
    slug: 'move',
    verb: 'Move',
    phrase: (what) => `Move ${what} to another folder`,
    input: pathInput,
    preview: (user) => ({ details: [`in ${user.path}`] }),
    act: (db, ids, path, actor) => moveUsers(db, ids, path, actor),
    done: (what, path) => `${what} moved to ${path}`,
  }),
  action<undefined>({
    slug: 'end-sessions',
    verb: 'End sessions',
    phrase: (what) => `End every session of ${what}`,
    warning: 'Each browser of theirs is logged out at its next request.',
    preview: (user, seen) => ({
      details: sessionsOf(seen.sessions),
      skip: isActor(seen.actorId)(user) ?? (seen.sessions ? undefined : SKIPPED.noSessions),
    }),
    act: (db, ids, _, actor) => endSessionsOf(db, ids, actor),
    done: (what) => `Sessions of ${what} ended`,
  }),
  action<OffboardingSpec>({
    slug: 'schedule-offboarding',
    verb: 'Schedule offboarding',
    phrase: (what) => `Schedule the offboarding of ${what}`,
    warning: 'A user who has an action scheduled already gets this one in its place.',
    input: offboardingInput,
    preview: (user, seen) => ({ skip: user.id === seen.actorId ? SELF_OFFBOARDING : undefined }),
    act: async (db, ids, spec, actor) =>
      (await scheduleOffboarding(db, ids, spec, actor)).map((result) => ({
        id: result.userId,
        username: result.username ?? `user #${result.userId}`,
        skipped: result.outcome === 'skipped' ? result.why : undefined,
      })),
    done: (what, spec) => `Scheduled for ${what}: ${describeScheduled(asScheduled(spec))}`,
  }),
  action<string>({
    slug: 'lockdown',
    verb: 'Lock down',
    danger: true,
    warning:
      'For accounts that may be in the wrong hands. Each user is deactivated; their password stops working; their sessions end; their OAuth tokens and consents, API tokens and unused recovery links are revoked. Activating them later restores none of it: they set a new password through a recovery link.',
    input: reasonInput,
    preview: (user, seen) => ({
      details: sessionsOf(seen.sessions),
      skip: isActor(seen.actorId)(user) ?? (!user.isActive && !user.hasPassword && !seen.sessions ? SKIPPED.lockedDown : undefined),
    }),
    act: (db, ids, reason, actor) => lockDown(db, ids, reason, actor),
    done: (what) => `${what} locked down`,
  }),
];

/** Keeps each action's input type while the list holds actions of every kind. */
function action<T>(definition: UserAction<T>): UserAction<unknown> {
  return definition as UserAction<unknown>;
}

/** The entries of the list's Actions menu: each action's URL below /directory/users/ and its name. */
export const BULK_ACTIONS = ACTIONS.map(({ slug, verb }) => ({ slug, verb }));

const plural = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'user' : 'users'}`;

function results(outcomes: Outcome[], sentence: string): BulkResults {
  const skipped = outcomes.filter((o) => o.skipped !== undefined).length;
  return {
    message: `${sentence}${skipped ? `; ${skipped.toLocaleString('en-US')} skipped` : ''}.`,
    rows: outcomes.map((o) => ({ id: o.id, label: o.username, skipped: o.skipped })),
  };
}

/** /directory/users/<action> for each bulk action: review (GET), then act (POST) with a result per user. */
export function bulkActionRoutes(db: Knex): Router {
  const router = Router();
  for (const definition of ACTIONS) {
    bulkRoute(router, `/${definition.slug}`, {
      verb: definition.verb,
      noun: ['user', 'users'],
      phrase: definition.phrase,
      danger: definition.danger,
      input: definition.input?.(db),
      changedEvent: 'users-changed',
      back: () => '/directory/users',
      warning: () => definition.warning,
      matching: (_req, filter) => matchingIds(db, filter),
      load: async (req, ids, forReview) => {
        const wanted = parseIds(ids);
        // Acting reads the users in its own transaction, and reports an id that is gone as such.
        if (!forReview) return wanted.map((id) => ({ id, label: `user #${id}` }));
        const users = await findByIds(db, wanted);
        const counts = await dependents(
          db,
          users.map((u) => u.id),
          false,
        );
        return users.map((user) => ({
          id: user.id,
          label: user.name ? `${user.username} (${user.name})` : user.username,
          ...definition.preview(user, { actorId: req.user!.id, sessions: counts(user.id).sessions }),
        }));
      },
      apply: async (req, items, input) => {
        const outcomes = await definition.act(
          db,
          items.map((i) => Number(i.id)),
          input,
          actorOf(req),
        );
        const acted = outcomes.filter((o) => o.skipped === undefined).length;
        return results(outcomes, definition.done(plural(acted), input));
      },
    });
  }
  return router;
}
