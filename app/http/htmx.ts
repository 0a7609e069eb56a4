import type { NextFunction, Request, Response } from 'express';

export interface HtmxRequest {
  /** id of the element the response will be swapped into ("users-table"), from HX-Target "tag#id". */
  target: string | null;
  /** Boosted navigation swaps the whole body and wants a full page. */
  boosted: boolean;
}

declare global {
  namespace Express {
    interface Request {
      htmx: HtmxRequest | null;
    }
  }
}

/** Parses htmx's request headers once; responses differ by HX-Request, so caches must know. */
export function htmx(req: Request, res: Response, next: NextFunction): void {
  res.vary('HX-Request');
  if (req.get('HX-Request') !== 'true') {
    req.htmx = null;
    next();
    return;
  }
  const target = req.get('HX-Target') ?? '';
  const hash = target.indexOf('#');
  req.htmx = {
    target: hash >= 0 ? target.slice(hash + 1) : null,
    // A boosted link or form may still aim at a region (hx-target); only a body swap wants a page.
    boosted: req.get('HX-Request-Type') === 'full' || (req.get('HX-Boosted') === 'true' && hash < 0),
  };
  next();
}

/**
 * The one test for "answer a region, not a page": an htmx request that swaps part of the page
 * (not a boosted navigation, which wants the whole page). With `target`, that region only: the
 * #modal, a table that asks for itself, a tab.
 */
export function isRegion(req: Request, target?: string): boolean {
  if (!req.htmx || req.htmx.boosted) return false;
  return target === undefined || req.htmx.target === target;
}
