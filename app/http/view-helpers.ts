/** Small formatting helpers every view can use (registered on app.locals). */

// Month names as en-GB writes them ("Sept"); asked of Intl once, as Intl's formatter is slow per
// call and a list page formats a hundred dates.
const MONTHS = Array.from({ length: 12 }, (_, m) =>
  new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' }).format(Date.UTC(2000, m, 1)),
);
const twoDigits = (n: number) => (n < 10 ? `0${n}` : String(n));

/** "23 Nov 2026, 22:37 UTC" (en-GB, in UTC), or `never` for no date. */
export function formatDateTime(date: Date | null | undefined, never = 'Never'): string {
  if (!date) return never;
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${twoDigits(date.getUTCHours())}:${twoDigits(date.getUTCMinutes())} UTC`;
}

/** Stable DOM ids derived from records, shared by views, fragment responses and tests. */
export function domId(record: { id: number }, prefix: string): string {
  return `${prefix}-${record.id}`;
}

export const TYPE_LABELS: Record<string, string> = {
  internal: 'Internal',
  external: 'External',
  service_account: 'Service account',
};

export const viewHelpers = { formatDateTime, domId, TYPE_LABELS };
