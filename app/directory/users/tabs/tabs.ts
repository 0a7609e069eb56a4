import type { Request, Response } from 'express';
import { isRegion } from '../../../http/htmx.js';
import type { User } from '../users.js';

/** The detail page's tabs; each is its own URL. A tab appears here once it exists. */
export const TABS = [
  { key: 'overview', label: 'Overview', path: '' },
  { key: 'sessions', label: 'Sessions', path: '/sessions' },
  { key: 'groups', label: 'Groups', path: '/groups' },
  { key: 'events', label: 'User events', path: '/events' },
  { key: 'consents', label: 'Explicit consent', path: '/consents' },
  { key: 'tokens', label: 'OAuth refresh tokens', path: '/tokens' },
  { key: 'authenticators', label: 'MFA authenticators', path: '/authenticators' },
] as const;
export type TabKey = (typeof TABS)[number]['key'];

export function tabUrl(user: Pick<User, 'id'>, key: TabKey): string {
  return `/directory/users/${user.id}${TABS.find((t) => t.key === key)!.path}`;
}

/**
 * Renders a tab of the user detail page: for htmx, the tab region (tab links swap it and push the
 * URL; it reloads itself when the user or the tab's things change) with the page's header; the
 * whole page otherwise.
 */
export function renderTab(req: Request, res: Response, tab: TabKey, locals: Record<string, unknown>, status = 200): Promise<void> {
  const user = req.subject!;
  const view = {
    title: `${user.username} · ${TABS.find((t) => t.key === tab)!.label}`,
    nav: 'users',
    user,
    tab,
    tabs: TABS,
    tabUrl,
    ...locals,
  };
  return isRegion(req, 'user-tabs')
    ? res.fragment('directory/users/tabs/_fragment', view, status)
    : res.page('directory/users/show', view, status);
}
