import fs from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';

const SPECIAL = /[&<>'"]/;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&#39;', '"': '&#34;' };

/** EJS's escaping, without the replace call for the common text that has nothing to escape. */
export function escapeHtml(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return SPECIAL.test(text) ? text.replace(/[&<>'"]/g, (c) => ENTITIES[c]) : text;
}

/**
 * EJS options of every view: rmWhitespace drops template indentation (a third of the list's
 * bytes); in production, no line bookkeeping in the compiled templates.
 */
export function ejsOptions(production: boolean) {
  return { rmWhitespace: true, escape: escapeHtml, compileDebug: !production, async: false } as const;
}

/**
 * `partial(name)` in a view gives that template compiled once, as a plain function of its data.
 * For the rows of a long table: an EJS include copies every local of the page and looks the file
 * up on disk again, for each row, and a view reads its locals through `with`, which V8 cannot
 * optimise; a partial gets its locals as variables. Without the view cache (development) it
 * compiles on each call.
 */
export function partials(viewsDir: string, production: boolean): (name: string) => (data: Record<string, unknown>) => string {
  const compiled = new Map<string, ejs.TemplateFunction>();
  const compile = (name: string, names: string[]) => {
    const key = `${name}:${names.join(',')}`;
    let template = compiled.get(key);
    if (template === undefined) {
      const filename = path.join(viewsDir, `${name}.ejs`);
      template = ejs.compile(fs.readFileSync(filename, 'utf8'), {
        ...ejsOptions(production),
        filename,
        views: [viewsDir],
        _with: false,
        destructuredLocals: names,
      });
      if (production) compiled.set(key, template);
    }
    return template;
  };
  return (name) => (data) => compile(name, Object.keys(data))(data) as string;
}
