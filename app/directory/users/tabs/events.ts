import { Router } from 'express';
import type { Knex } from 'knex';
import { EVENT_ACTIONS, type Event, type EventAction, type EventFilter, searchEvents } from '../../../events/events.js';
import { renderTab } from './tabs.js';

const DAY_MS = 86_400_000;

function parseDay(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const date = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Page tokens: "b-<ms>-<id>" for older than that event, "a-<ms>-<id>" for newer. */
function decodeCursor(token: string): EventFilter['cursor'] {
  const match = /^([ab])-(\d{1,15})-(\d{1,15})$/.exec(token);
  if (!match) return undefined;
  return { direction: match[1] === 'a' ? 'after' : 'before', created: new Date(Number(match[2])), id: Number(match[3]) };
}

function encodeCursor(event: Event, direction: 'a' | 'b'): string {
  return `${direction}-${event.created.getTime()}-${event.id}`;
}

/** The User events tab: the user's events, newest first, filtered by action and days (UTC). */
export function eventsTab(db: Knex): Router {
  const router = Router();
  router.get('/events', async (req, res) => {
    const text = (key: string) => (typeof req.query[key] === 'string' ? (req.query[key] as string).trim() : '');
    const values = { action: text('action'), from: text('from'), to: text('to') };
    const errors: Record<string, string> = {};
    const action = (EVENT_ACTIONS as readonly string[]).includes(values.action) ? (values.action as EventAction) : undefined;
    if (values.action && !action) errors.action = 'Choose an action from the list';
    const from = values.from ? parseDay(values.from) : undefined;
    if (values.from && !from) errors.from = 'Enter a date as YYYY-MM-DD';
    const to = values.to ? parseDay(values.to) : undefined;
    if (values.to && !to) errors.to = 'Enter a date as YYYY-MM-DD';
    if (from && to && to < from) errors.to = 'The end comes before the start';
    const filter: EventFilter = {
      userPk: req.subject!.id,
      action,
      from,
      until: to && new Date(to.getTime() + DAY_MS),
      cursor: decodeCursor(text('page')),
    };
    const failed = Object.keys(errors).length > 0;
    const { events, older, newer } = failed ? { events: [], older: false, newer: false } : await searchEvents(db, filter);
    const filterParams = new URLSearchParams(Object.entries(values).filter(([, v]) => v));
    const pageLink = (event: Event | undefined, direction: 'a' | 'b') =>
      event ? `?${new URLSearchParams([...filterParams, ['page', encodeCursor(event, direction)]])}` : null;
    const query = filterParams.size ? `?${filterParams}` : '';
    await renderTab(
      req,
      res,
      'events',
      {
        events,
        values,
        errors,
        actions: EVENT_ACTIONS,
        query,
        next: older ? pageLink(events[events.length - 1], 'b') : null,
        prev: newer ? pageLink(events[0], 'a') : null,
      },
      failed ? 422 : 200,
    );
  });
  return router;
}
