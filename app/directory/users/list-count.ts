import type { UserPage } from './list-query.js';
import type { ListFilter } from './list-url.js';

const NUMBER = new Intl.NumberFormat('en-US');

function users(count: number, atLeast: boolean): string {
  return `${NUMBER.format(count)}${atLeast ? '+' : ''} ${count === 1 && !atLeast ? 'user' : 'users'}`;
}

/**
 * What the list shows, in the words of its toolbar and its live region: "1–50 of 12,345 users",
 * "51–100 of 10,000+ users" when the count is a lower bound, "7 users" when one page holds them all.
 */
export function describeList(page: Pick<UserPage, 'users' | 'offset' | 'total'>, filter: Pick<ListFilter, 'q' | 'path'>): string {
  const shown = page.users.length;
  if (shown === 0) return filter.q ? 'No users match' : filter.path ? 'No users in this folder' : 'No users';
  const first = page.offset + 1;
  const last = page.offset + shown;
  // A count that is an estimate never says fewer than the rows on the screen.
  const total = Math.max(page.total.count, last);
  if (first === 1 && last === total && !page.total.atLeast) return users(total, false);
  const range = first === last ? NUMBER.format(first) : `${NUMBER.format(first)}–${NUMBER.format(last)}`;
  return `${range} of ${users(total, page.total.atLeast)}`;
}
