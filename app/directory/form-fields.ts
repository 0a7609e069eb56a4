import YAML, { Lexer, Parser } from 'yaml';
import { deeperThan } from '../http/body.js';

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
export const ATTRIBUTES_DEPTH = 32;
const TOO_DEEP = `Attributes may nest at most ${ATTRIBUTES_DEPTH} levels deep`;

/**
 * Whether YAML text nests deeper than `max`, read with YAML's parser, whose stack is an array (it
 * holds the document and the current node besides the collections). Composing the values
 * recurses once per level, and thousands of levels bring V8 to the end of its stack, where it can
 * abort the whole process ("RegExpCompiler Allocation failed") instead of throwing: the depth is
 * measured before anything recurses.
 */
function yamlDeeperThan(source: string, max: number): boolean {
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(source)) {
    Array.from(parser.next(lexeme));
    if (parser.stack.length > max + 2) return true;
  }
  return false;
}

/**
 * Parses YAML or JSON (JSON is YAML) into a mapping; tells why not otherwise.
 * Anything that is not a mapping — a list, a string, null — is refused.
 */
export function parseAttributes(source: string): { value: Record<string, unknown> } | { problem: string } {
  if (source.trim() === '') return { value: {} };
  if (source.length > ATTRIBUTES_MAX) return { problem: 'Attributes are limited to 64 KB' };
  if (yamlDeeperThan(source, ATTRIBUTES_DEPTH)) return { problem: TOO_DEEP };
  let parsed: unknown;
  try {
    parsed = YAML.parse(source, { maxAliasCount: 50, prettyErrors: false, logLevel: 'error' });
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    return { problem: `This is not valid YAML or JSON${line ? ` (line ${line})` : ''}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { problem: 'Attributes must be a mapping of keys to values, such as {"department": "sales"}' };
  }
  // Aliases can repeat a collection inside another, or inside itself.
  if (deeperThan(parsed, ATTRIBUTES_DEPTH)) return { problem: TOO_DEEP };
  return { value: JSON.parse(JSON.stringify(parsed)) };
}

/** The form's text for stored attributes: YAML, or `{}` when empty. */
export function attributesText(attributes: Record<string, unknown>): string {
  return Object.keys(attributes).length ? YAML.stringify(attributes) : '{}';
}
