import type { Request, Response, Router } from 'express';
import { RuleError } from '../errors.js';
import { wantsJson } from './accepts.js';
import { isRegion } from './htmx.js';
import { finishDialog } from './render.js';
import { safeNext } from './return-to.js';
import { toast } from './toast.js';

export interface BulkItem {
  id: string | number;
  label: string;
  /** What goes with the item, for the review ("3 sessions", "member of 2 groups"). */
  details?: string[];
  /** Why the action will pass this item by, as the review foresees it ("already deactivated"). */
  skip?: string;
}

/** What became of one selected item: done, or skipped and why. */
export interface RowResult {
  id: string | number;
  label: string;
  /** Why it was left as it was; absent when the action was done. */
  skipped?: string;
}

/** The answer of an action that reports on every row rather than with a toast alone. */
export interface BulkResults {
  /** The totals, for the toast ("3 users deactivated; 1 skipped."). */
  message: string;
  rows: RowResult[];
}

/** The fields an action asks for besides the selection (a group, a folder, a reason). */
export interface BulkInput<T> {
  /** The partial that shows them inside the review's form, named from views/shared/. */
  view: string;
  /** The fields as typed, from the query string (the review) or the body (the confirmation). */
  read(source: Record<string, unknown>): Record<string, string>;
  /** What to act with, or a message for each field that is not acceptable. */
  parse(typed: Record<string, string>): Promise<{ value: T } | { errors: Record<string, string> }>;
  /** What else the partial shows, such as the choices of a field. */
  viewData?(): Promise<Record<string, unknown>>;
}

/**
 * A "select rows, then Delete (or another action), review, confirm" action. Every checkbox table
 * shares this one shape: GET <url>?ids=… shows the review (a modal with htmx, a page without), POST
 * <url> acts. Programs may POST directly. An action either ends with a toast (apply returns its
 * message) or reports what became of each row (apply returns BulkResults): a result modal or page,
 * and JSON for programs that ask for it.
 */
export interface BulkAction<T = undefined> {
  verb: string;
  /** Singular and plural of what is acted on. */
  noun: [string, string];
  /** The review's question without its "?" ("End the sessions of 3 users"); by default the verb and the count. */
  phrase?(what: string): string;
  /** A red button, for what destroys or locks out; Delete always is one. */
  danger?: boolean;
  input?: BulkInput<T>;
  /**
   * Everything a list shows rather than the rows ticked on its page: `all` with `filter`, the list's
   * query string. The ids that match, or null when more than MAX_IDS do.
   */
  matching?(req: Request, filter: string): Promise<string[] | null>;
  /**
   * The items among `ids` that this request may act on; anything else is ignored. `forReview`:
   * the items will be shown, with their details; otherwise they are about to be acted on, and
   * details that cost queries can be left out.
   */
  load(req: Request, ids: string[], forReview: boolean): Promise<BulkItem[]>;
  /**
   * Acts in one transaction on the items still there. Returns the toast, or null when another
   * request acted on all of them first (nothing changed, nothing recorded), or the result of each
   * row. Throws RuleError to refuse.
   */
  apply(req: Request, items: BulkItem[], input: T): Promise<string | BulkResults | null>;
  /** Where to go afterwards, and on Cancel. */
  back(req: Request): string;
  /** A sentence for the review, such as "This includes your own session: you will be logged out." */
  warning?(req: Request, items: BulkItem[]): string | undefined;
  /** The htmx event that makes the affected region reload itself. */
  changedEvent: string;
}

/** The most items one action takes: checked rows, posted ids, or everything a filter matches. */
export const MAX_IDS = 10_000;
/** A review of everything a filter matches names this many of them; the rest are counted. */
const REVIEW_SHOWN = 100;
/** A result page lists this many rows (those skipped first); programs get every row as JSON. */
const RESULTS_SHOWN = 500;

const NUMBER = new Intl.NumberFormat('en-US');

/** `ids` as repeated fields (checkboxes), comma-separated (links and programs) or JSON numbers, each once. */
export function readIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const ids = list
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : typeof v === 'number' ? [String(v)] : []))
    .map((v) => v.trim())
    .filter(Boolean);
  return [...new Set(ids)];
}

function count(action: BulkAction<unknown>, n: number): string {
  return `${NUMBER.format(n)} ${n === 1 ? action.noun[0] : action.noun[1]}`;
}

function phrase(action: BulkAction<unknown>, n: number): string {
  const what = count(action, n);
  return action.phrase ? action.phrase(what) : `${action.verb} ${what}`;
}

/** Where the review came from (`from`, a local path), so Cancel and success lead back there. */
function backTo(req: Request, action: BulkAction<unknown>): string {
  return safeNext(req.query.from) ?? action.back(req);
}

/** What is selected: rows by id, or everything the list's filter matches (`filter` is then set). */
type Selection = { ids: string[]; filter?: string } | { refusal: string };

async function selectionOf(req: Request, action: BulkAction<unknown>, source: Record<string, unknown>): Promise<Selection> {
  const tooMany = `More than ${NUMBER.format(MAX_IDS)} ${action.noun[1]} are selected: act on at most ${NUMBER.format(MAX_IDS)} at once (narrow the list first, with a folder, a search or a status).`;
  if (action.matching && ['1', 'true', 'on'].includes(String(source.all))) {
    const filter = typeof source.filter === 'string' ? source.filter : '';
    const ids = await action.matching(req, filter);
    return ids ? { ids, filter } : { refusal: tooMany };
  }
  const ids = readIds(source.ids);
  return ids.length > MAX_IDS ? { refusal: tooMany } : { ids };
}

interface Review {
  items: BulkItem[];
  filter?: string;
  typed: Record<string, string>;
  errors?: Record<string, string>;
  error?: string;
}

async function showReview(req: Request, res: Response, action: BulkAction<unknown>, review: Review, status = 200) {
  const from = safeNext(req.query.from);
  const url = `${req.baseUrl}${req.path}${from ? `?from=${encodeURIComponent(from)}` : ''}`;
  const { items, filter } = review;
  // A whole filter's users are too many to list: the review names the first, the form names the filter.
  const shown = filter === undefined ? items : items.slice(0, REVIEW_SHOWN);
  const locals = {
    title: `${phrase(action, items.length)}?`,
    action: {
      verb: action.verb,
      url,
      back: backTo(req, action),
      danger: action.danger ?? action.verb === 'Delete',
      input: action.input?.view,
    },
    inputData: (await action.input?.viewData?.()) ?? {},
    items: shown,
    more: items.length - shown.length,
    filter,
    typed: review.typed,
    // Only when a field is wrong: a program asking for JSON gets these, else the message (`error`).
    errors: review.errors,
    warning: action.warning?.(req, items),
    error: review.error,
  };
  return res.dialog({ ...locals, content: '_bulk-review', crumbs: [{ href: locals.action.back, text: 'Back' }] }, status);
}

/**
 * The result of each row: JSON for a program that asks for it; otherwise the totals as a toast and
 * the rows as a modal (the region behind it reloads) or, without htmx, as a page.
 */
async function showResults(req: Request, res: Response, action: BulkAction<unknown>, results: BulkResults) {
  const { rows } = results;
  const skipped = rows.filter((r) => r.skipped !== undefined);
  if (wantsJson(req)) {
    res.json({
      done: rows.length - skipped.length,
      skipped: skipped.length,
      results: rows.map((r) => ({ id: r.id, label: r.label, result: r.skipped === undefined ? 'done' : 'skipped', reason: r.skipped })),
    });
    return;
  }
  toast(req, results.message, { kind: skipped.length === rows.length ? 'info' : 'success' });
  if (isRegion(req, 'modal')) res.set('HX-Trigger', action.changedEvent);
  // What needs a look first: the rows left as they were.
  const ordered = [...skipped, ...rows.filter((r) => r.skipped === undefined)];
  const back = backTo(req, action);
  await res.dialog({
    title: `${phrase(action, rows.length)}: results`,
    content: '_bulk-results',
    rows: ordered.slice(0, RESULTS_SHOWN),
    more: Math.max(0, ordered.length - RESULTS_SHOWN),
    summary: `${NUMBER.format(rows.length - skipped.length)} done, ${NUMBER.format(skipped.length)} skipped.`,
    back,
    crumbs: [{ href: back, text: 'Back' }],
  });
}

/** Nothing to review: a toast, and the modal stays shut (htmx) or the list comes back (without). */
async function leave(req: Request, res: Response, action: BulkAction<unknown>, message: string, kind: 'info' | 'error') {
  toast(req, message, { kind });
  if (isRegion(req, 'modal')) return res.set('HX-Reswap', 'none').fragment('shared/_empty');
  return res.redirect(303, backTo(req, action));
}

export function bulkRoute<T = undefined>(router: Router, url: string, action: BulkAction<T>): void {
  // The helpers below take any action, whatever its input.
  const general = action as BulkAction<unknown>;

  router.get(url, async (req, res) => {
    const selection = await selectionOf(req, general, req.query);
    if ('refusal' in selection) return leave(req, res, general, selection.refusal, 'error');
    const items = await action.load(req, selection.ids, true);
    if (!items.length) {
      const none =
        selection.filter === undefined ? `Select at least one ${action.noun[0]} first.` : `No ${action.noun[1]} match the list’s filter.`;
      return leave(req, res, general, none, 'info');
    }
    await showReview(req, res, general, { items, filter: selection.filter, typed: action.input?.read(req.query) ?? {} });
  });

  router.post(url, async (req, res) => {
    const body: Record<string, unknown> = req.body ?? {};
    const typed = action.input?.read(body) ?? {};
    const selection = await selectionOf(req, general, body);
    if ('refusal' in selection) return showReview(req, res, general, { items: [], typed, error: selection.refusal }, 422);
    const { ids, filter } = selection;
    const items = await action.load(req, ids, false);
    if (!items.length) {
      const none = filter === undefined ? `select at least one ${action.noun[0]}` : `no ${action.noun[1]} match the list’s filter`;
      const error = `Nothing to ${action.verb.toLowerCase()}: ${none}.`;
      return showReview(req, res, general, { items, filter, typed, error }, 422);
    }
    const parsed = action.input ? await action.input.parse(typed) : { value: undefined as T };
    if ('errors' in parsed)
      return showReview(req, res, general, { items: await action.load(req, ids, true), filter, typed, errors: parsed.errors }, 422);
    let outcome: string | BulkResults | null;
    try {
      outcome = await action.apply(req, items, parsed.value);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      return showReview(req, res, general, { items: await action.load(req, ids, true), filter, typed, error: err.message }, err.status);
    }
    if (outcome !== null && typeof outcome === 'object') return showResults(req, res, general, outcome);
    const done = outcome ?? {
      message: `Nothing to ${action.verb.toLowerCase()}: the selected ${action.noun[1]} were ${action.verb.toLowerCase()}d already.`,
      kind: 'info' as const,
    };
    await finishDialog(req, res, { changed: action.changedEvent, toast: done, back: backTo(req, general) });
  });
}
