import YAML from 'yaml';

/** The text of a form field; for a repeated field, its last value. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : Array.isArray(value) ? String(value[value.length - 1] ?? '') : '';
}

/**
 * Checkboxes come with a hidden "false" before them, so browsers always send a value (the last one
 * wins); a program that leaves the field out keeps the fallback.
 */
export function checkbox(value: unknown, fallback: boolean): boolean {
  const last = text(value);
  if (last === '') return fallback;
  return ['true', 'on', '1', 'yes'].includes(last.toLowerCase());
}

export const ATTRIBUTES_MAX = 64 * 1024;

/**
 * Parses YAML or JSON (JSON is YAML) into a mapping; tells why not otherwise.
 * Anything that is not a mapping — a list, a string, null — is refused.
 */
export function parseAttributes(source: string): { value: Record<string, unknown> } | { problem: string } {
  if (source.trim() === '') return { value: {} };
  if (source.length > ATTRIBUTES_MAX) return { problem: 'Attributes are limited to 64 KB' };
  let parsed: unknown;
  try {
    parsed = YAML.parse(source, { maxAliasCount: 50, prettyErrors: false });
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    return { problem: `This is not valid YAML or JSON${line ? ` (line ${line})` : ''}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { problem: 'Attributes must be a mapping of keys to values, such as {"department": "sales"}' };
  }
  return { value: JSON.parse(JSON.stringify(parsed)) };
}

/** The form's text for stored attributes: YAML, or `{}` when empty. */
export function attributesText(attributes: Record<string, unknown>): string {
  return Object.keys(attributes).length ? YAML.stringify(attributes) : '{}';
}
