import type { CustomHelpers } from 'joi';

export const USERNAME_MAX = 150;

// C0, DEL and C1 control characters.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export function hasControlChars(text: string): boolean {
  return CONTROL_CHARS.test(text);
}

/**
 * The one rule for every name an administrator gives: usernames, folders, group and application
 * names. A name must read as what it is, the same on both databases:
 * - it is kept in Unicode NFC, so that "é" typed as one character or as "e" and an accent is one name;
 * - no control characters (Cc: NUL, tabs, line breaks, DEL, C1);
 * - nothing that shows as nothing or changes how the text around it shows: format characters (Cf:
 *   bidi overrides such as U+202E, zero-width spaces and joiners, the BOM, soft hyphens), the other
 *   default-ignorable characters (Hangul fillers, variation selectors), line and paragraph separators;
 * - no lone surrogates (not text: MariaDB cannot store them);
 * - no spaces at either end (forms trim them before the rule sees the name).
 */
const CONTROL = /\p{Cc}/u;
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/u;
const NOT_TEXT = /\p{Cs}/u;

/** Why a name is not acceptable, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (CONTROL.test(name)) return 'Remove the control characters';
  if (INVISIBLE.test(name)) return 'Remove the invisible characters (such as zero-width spaces or right-to-left marks)';
  if (NOT_TEXT.test(name)) return 'Remove the characters that are not text';
  if (name !== name.trim()) return 'Remove the spaces at the start and end';
  return undefined;
}

/** The form in which names are stored and compared. */
export function normalName(name: string): string {
  return name.normalize('NFC');
}

/** The rule as a Joi custom validation: refuses with the reason, or gives the normal form. */
export function validName(value: string, helpers: CustomHelpers): string | ReturnType<CustomHelpers['message']> {
  const problem = nameProblem(value);
  return problem ? helpers.message({ custom: problem }) : normalName(value);
}
