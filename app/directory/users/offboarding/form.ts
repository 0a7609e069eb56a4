import { text } from '../../form-fields.js';
import { type OffboardingAction, type OffboardingSpec, type ScheduledAction, specProblems } from './offboarding.js';

/** The form as typed: what a re-rendered form shows back. */
export interface OffboardingFormValues {
  action: string;
  /** `at` (run_at) or `idle` (idle_days). */
  when: string;
  run_at: string;
  idle_days: string;
  reason: string;
}

export type OffboardingFormErrors = Partial<Record<keyof OffboardingFormValues, string>>;

export const NEW_OFFBOARDING: OffboardingFormValues = { action: 'deactivate', when: 'at', run_at: '', idle_days: '90', reason: '' };

/** The form for changing a scheduled action: what it holds now. */
export function offboardingFormValues(action: ScheduledAction): OffboardingFormValues {
  return {
    action: action.action,
    when: action.runAt ? 'at' : 'idle',
    run_at: action.runAt ? action.runAt.toISOString().slice(0, 16) : '',
    idle_days: String(action.idleDays ?? NEW_OFFBOARDING.idle_days),
    reason: action.reason,
  };
}

const RUN_AT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?Z?$/;

/**
 * A date and time as a datetime-local field sends it ("2027-01-31T17:00"), in UTC like every time
 * Roster shows; null when it names no moment. Date.UTC would roll 31 February over into March (and
 * read the year 0050 as 1950): only a date that reads back as typed is one.
 */
export function parseRunAt(value: string): Date | null {
  const match = RUN_AT.exec(value);
  if (!match) return null;
  const parts = match.slice(1).map((part) => Number(part ?? 0));
  const [year, month, day, hour, minute, second] = parts;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const readBack = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  return readBack.every((part, i) => part === parts[i]) ? date : null;
}

/**
 * Reads the posted form: the values to show back, a message per bad field, and the spec when there
 * is none. A program may leave `when` out: it follows from which of run_at and idle_days it sent.
 */
export function readOffboardingForm(
  body: Record<string, unknown> | undefined,
  now = new Date(),
): { values: OffboardingFormValues; errors: OffboardingFormErrors; spec?: OffboardingSpec } {
  const field = (name: keyof OffboardingFormValues) => text(body?.[name]).trim();
  const values: OffboardingFormValues = {
    action: field('action'),
    when: field('when') || (field('idle_days') && !field('run_at') ? 'idle' : 'at'),
    run_at: field('run_at'),
    idle_days: field('idle_days'),
    reason: field('reason').normalize('NFC'),
  };
  const errors: OffboardingFormErrors = {};
  let when: OffboardingSpec['when'] | undefined;
  if (values.when === 'at') {
    const at = parseRunAt(values.run_at);
    if (at) when = { at };
    else errors.run_at = values.run_at ? 'Enter a date and time such as 2027-01-31 17:00 (UTC)' : 'Enter a date and time (UTC)';
  } else if (values.when === 'idle') {
    // Anything but digits is no number of days; the rule below says which numbers are.
    when = { idleDays: /^\d{1,9}$/.test(values.idle_days) ? Number(values.idle_days) : Number.NaN };
  } else {
    errors.when = 'Choose when: at a date and time, or after days without login';
  }
  // The rules themselves are the model's (the bulk action asks them too); fields refused above keep their message.
  const spec = { action: values.action as OffboardingAction, when: when ?? { idleDays: 1 }, reason: values.reason };
  for (const [name, problem] of Object.entries(specProblems(spec, now))) errors[name as keyof OffboardingFormErrors] ??= problem;
  return Object.keys(errors).length ? { values, errors } : { values, errors, spec };
}
