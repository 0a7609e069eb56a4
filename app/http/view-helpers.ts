/** Small formatting helpers every view can use (registered on app.locals). */

const dateTime = new Intl.DateTimeFormat('en-GB', {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC',
});

export function formatDateTime(date: Date | null | undefined, never = 'Never'): string {
  return date ? `${dateTime.format(date)} UTC` : never;
}

/** Stable DOM ids derived from records, shared by views, fragment responses and tests. */
export function domId(record: { id: number }, prefix: string): string {
  return `${prefix}-${record.id}`;
}

export const TYPE_LABELS: Record<string, string> = {
  internal: 'Internal', external: 'External', service_account: 'Service account',
};

export const viewHelpers = { formatDateTime, domId, TYPE_LABELS };
