import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import { bulkRoute } from '../../../http/bulk.js';
import { actorOf } from '../../../http/guard.js';
import { isRegion } from '../../../http/htmx.js';
import { parseIds } from '../../../http/params.js';
import { finishDialog } from '../../../http/render.js';
import { openedFrom, postedFrom } from '../../../http/return-to.js';
import { text } from '../../form-fields.js';
import {
  NEW_OFFBOARDING,
  type OffboardingFormErrors,
  type OffboardingFormValues,
  offboardingFormValues,
  readOffboardingForm,
} from './form.js';
import {
  asScheduled,
  cancelScheduled,
  describeScheduled,
  findScheduled,
  listScheduled,
  OFFBOARDING_ACTIONS,
  parseCursor,
  type ScheduledAction,
  scheduledFor,
  scheduleOffboarding,
} from './offboarding.js';

const LIST = '/directory/users/scheduled';

/** The schedule form of the user, as a modal for htmx or a page of its own. */
function showForm(
  req: Request,
  res: Response,
  locals: { values: OffboardingFormValues; errors: OffboardingFormErrors; from?: string },
  status = 200,
) {
  const user = req.subject!;
  return res.dialog(
    {
      title: `Schedule offboarding of ${user.username}`,
      nav: 'users',
      user,
      pending: res.locals.offboarding as ScheduledAction | null,
      actions: OFFBOARDING_ACTIONS,
      content: '../directory/users/offboarding/_form',
      crumbs: [{ href: `/directory/users/${user.id}`, text: user.username }],
      ...locals,
    },
    status,
  );
}

/**
 * Scheduled offboarding. `member` answers under /directory/users/:userId (the form; and the user's
 * scheduled action for the header of every page about them), `list` answers /directory/users/scheduled
 * (every scheduled action, and cancelling them: one mechanism, from the list's checkboxes, its
 * rows' buttons and the user's page).
 */
export function offboardingRoutes(db: Knex): { member: Router; list: Router } {
  const member = Router();
  const list = Router();

  member.use(async (req, res, next) => {
    res.locals.offboarding = await scheduledFor(db, req.subject!.id);
    res.locals.describeScheduled = describeScheduled;
    next();
  });

  member.get('/offboarding', async (req, res) => {
    const pending = res.locals.offboarding as ScheduledAction | null;
    await showForm(req, res, { values: pending ? offboardingFormValues(pending) : NEW_OFFBOARDING, errors: {}, from: openedFrom(req) });
  });

  member.post('/offboarding', async (req, res) => {
    const user = req.subject!;
    const form = readOffboardingForm(req.body);
    const [result] = form.spec ? await scheduleOffboarding(db, [user.id], form.spec, actorOf(req)) : [];
    if (!result || result.outcome === 'skipped') {
      const errors = result?.outcome === 'skipped' ? { action: result.why } : form.errors;
      return showForm(req, res, { values: form.values, errors, from: postedFrom(req) }, 422);
    }
    await finishDialog(req, res, {
      changed: 'users-changed',
      toast: `Scheduled: ${describeScheduled(asScheduled(form.spec!), user.username)}.`,
      back: postedFrom(req) ?? `/directory/users/${user.id}`,
    });
  });

  list.get('/scheduled', async (req, res) => {
    const descending = text(req.query.sort) === '-due';
    const after = parseCursor(text(req.query.after));
    const page = await listScheduled(db, { descending, after });
    const locals = {
      title: 'Scheduled offboarding',
      nav: 'users',
      page,
      descending,
      after: after ? text(req.query.after) : undefined,
      actions: OFFBOARDING_ACTIONS,
      describeScheduled,
    };
    if (isRegion(req, 'scheduled-table')) return res.fragment('directory/users/offboarding/_table', locals);
    await res.page('directory/users/offboarding/index', locals);
  });

  bulkRoute(list, '/scheduled/cancel', {
    verb: 'Remove',
    noun: ['scheduled action', 'scheduled actions'],
    changedEvent: 'users-changed',
    back: () => LIST,
    load: async (_req, ids) =>
      (await findScheduled(db, parseIds(ids))).map((action) => ({
        id: action.id,
        label: action.username,
        details: [describeScheduled(action), ...(action.state === 'failed' ? [`failed: ${action.failure}`] : [])],
      })),
    apply: async (req, items) => {
      const cancelled = await cancelScheduled(
        db,
        items.map((i) => Number(i.id)),
        actorOf(req),
      );
      if (cancelled.length !== 1) return cancelled.length ? `${cancelled.length} scheduled actions cancelled.` : null;
      return `Cancelled: ${describeScheduled(cancelled[0], cancelled[0].username)}.`;
    },
  });

  return { member, list };
}
