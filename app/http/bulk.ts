import type { Request, Response, Router } from 'express';
import { RuleError } from '../errors.js';
import { isRegion } from './htmx.js';
import { finishDialog } from './render.js';
import { safeNext } from './return-to.js';
import { toast } from './toast.js';

export interface BulkItem {
  id: string | number;
  label: string;
  /** What goes with the item, for the review ("3 sessions", "member of 2 groups"). */
  details?: string[];
}

/**
 * A "select rows, then Delete (or Remove), review, confirm" action. Every checkbox table shares this
 * one shape: GET <url>?ids=… shows the review (a modal with htmx, a page without), POST <url> acts.
 * Programs may POST directly.
 */
export interface BulkAction {
  verb: 'Delete' | 'Remove' | 'Revoke';
  /** Singular and plural of what is acted on. */
  noun: [string, string];
  /**
   * The items among `ids` that this request may act on; anything else is ignored. `forReview`:
   * the items will be shown, with their details; otherwise they are about to be acted on, and
   * details that cost queries can be left out.
   */
  load(req: Request, ids: string[], forReview: boolean): Promise<BulkItem[]>;
  /**
   * Acts in one transaction on the items still there; returns the toast, or null when another
   * request acted on all of them first (nothing changed, nothing recorded). Throws RuleError to refuse.
   */
  apply(req: Request, items: BulkItem[]): Promise<string | null>;
  /** Where to go afterwards, and on Cancel. */
  back(req: Request): string;
  /** A sentence for the review, such as "This includes your own session: you will be logged out." */
  warning?(req: Request, items: BulkItem[]): string | undefined;
  /** The htmx event that makes the affected region reload itself. */
  changedEvent: string;
}

const MAX_IDS = 10_000;

/** `ids` as repeated fields (checkboxes) or comma-separated (links and programs). */
export function readIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const ids = list
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : []))
    .map((v) => v.trim())
    .filter(Boolean);
  return [...new Set(ids)].slice(0, MAX_IDS);
}

function count(action: BulkAction, n: number): string {
  return `${n} ${n === 1 ? action.noun[0] : action.noun[1]}`;
}

/** Where the review came from (`from`, a local path), so Cancel and success lead back there. */
function backTo(req: Request, action: BulkAction): string {
  return safeNext(req.query.from) ?? action.back(req);
}

async function showReview(req: Request, res: Response, action: BulkAction, items: BulkItem[], error?: string, status = 200) {
  const from = safeNext(req.query.from);
  const url = `${req.baseUrl}${req.path}${from ? `?from=${encodeURIComponent(from)}` : ''}`;
  const locals = {
    title: `${action.verb} ${count(action, items.length)}?`,
    action: { verb: action.verb, url, back: backTo(req, action) },
    items,
    warning: action.warning?.(req, items),
    error,
  };
  return res.dialog({ ...locals, content: '_bulk-review', crumbs: [{ href: locals.action.back, text: 'Back' }] }, status);
}

export function bulkRoute(router: Router, url: string, action: BulkAction): void {
  router.get(url, async (req, res) => {
    const items = await action.load(req, readIds(req.query.ids), true);
    if (!items.length) {
      toast(req, `Select at least one ${action.noun[0]} first.`, { kind: 'info' });
      if (isRegion(req, 'modal')) return res.set('HX-Reswap', 'none').fragment('shared/_empty');
      return res.redirect(303, backTo(req, action));
    }
    await showReview(req, res, action, items);
  });

  router.post(url, async (req, res) => {
    const ids = readIds(req.body?.ids);
    const items = await action.load(req, ids, false);
    if (!items.length)
      return showReview(req, res, action, items, `Nothing to ${action.verb.toLowerCase()}: select at least one ${action.noun[0]}.`, 422);
    let message: string | null;
    try {
      message = await action.apply(req, items);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      return showReview(req, res, action, await action.load(req, ids, true), err.message, err.status);
    }
    const done = message ?? {
      message: `Nothing to ${action.verb.toLowerCase()}: the selected ${action.noun[1]} were ${action.verb.toLowerCase()}d already.`,
      kind: 'info' as const,
    };
    await finishDialog(req, res, { changed: action.changedEvent, toast: done, back: backTo(req, action) });
  });
}
