// The hostile-value walker's parts: the app's routes read from Express's router stack, the
// dictionary of hostile values, the forms and links found in pages, and a cookie-keeping client.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Express } from 'express';

export interface Route {
  method: string;
  /** Express's path pattern, such as /directory/users/:userId/sessions. */
  path: string;
  /** Parameters named in the path (`:userId`), in order. */
  params: string[];
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
  name?: string;
}

/**
 * Every route the app registers, walking routers mounted inside routers. A handler mounted on a
 * path that is no router (static files, the OAuth provider) counts as GET <mount>/:rest.
 */
export function routesOf(app: Express): Route[] {
  const routes: Route[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error(`the walker reads string paths only, not ${String(layer.route.path)}`);
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all'))
          routes.push(route(method, join(prefix, layer.route.path)));
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + mount);
      } else if (mount) {
        routes.push(route('get', `${prefix}${mount}/:rest`));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes;
}

/** A route's path below its mount: `/` below /directory/users is /directory/users itself. */
function join(prefix: string, path: string): string {
  return prefix && path === '/' ? prefix : prefix + path;
}

function route(method: string, path: string): Route {
  return { method, path, params: [...path.matchAll(/[:*](\w+)/g)].map((m) => m[1]) };
}

/** A regular expression for the URLs a route answers (each parameter is one path segment). */
export function routePattern(path: string): RegExp {
  const source = path
    .split(/([:*]\w+)/)
    .map((part) => (/^[:*]\w+$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/**
 * One hostile value, as it goes into a URL or form body (`text` percent-encoded, `raw` as is),
 * as a repeated field (`list`), and into a JSON body (`json`, else the text or list as JSON).
 * `bodyOnly`: too long for a URL (Node refuses request lines over 16 KB before the app sees them).
 */
export interface Hostile {
  label: string;
  text?: string;
  raw?: string;
  list?: string[];
  json?: string;
  bodyOnly?: boolean;
}

const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const cursor = (json: string) => Buffer.from(json).toString('base64url');

export const HOSTILE: Hostile[] = [
  ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '-constructor'].map((text) => ({ label: text, text })),
  ...['abc', '-1', '0', '1e400', '99999999999999999999', 'NaN', '1.5'].map((text) => ({ label: text, text })),
  { label: 'empty', text: '' },
  { label: 'control characters and NUL', text: 'a\u0000b\u0001\u001b[31m\u007f\r\nc\t' },
  { label: 'bidi override and zero-width characters', text: 'ad\u200Bmin\u202Egpj.exe\uFEFF' },
  { label: 'markup, quotes and dots', text: `<script>alert(1)</script>' or 1=1 -- \\"../../etc/passwd//a/` },
  { label: 'impossible dates and cursors', text: 'b-99999999999999-99999999999999 2026-02-30' },
  { label: 'a forged list cursor', text: cursor('["b",{"__proto__":1},"x",1e400]') },
  { label: 'invalid percent-encoding', raw: '%E0%A4%A' },
  { label: 'invalid UTF-8', raw: '%ff%fe%ED%A0%80' },
  { label: 'a repeated field', list: ['x', 'y'] },
  {
    label: 'a JSON object',
    text: '{"__proto__":{"isAdmin":true}}',
    json: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}',
  },
  { label: 'a YAML alias loop', text: 'a: &a [*a]' },
  { label: '5,000 characters', text: 'é'.repeat(5000) },
  { label: '1 MB', text: 'x'.repeat(1 << 20), bodyOnly: true },
  { label: 'JSON nested 20,000 levels', text: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, bodyOnly: true },
  { label: 'YAML nested 20,000 levels', text: `${'- '.repeat(20_000)}x`, bodyOnly: true },
  { label: 'JSON object nested 5,000 levels', text: nestedJson(5000), json: nestedJson(5000), bodyOnly: true },
];

/** Bodies that are broken as a whole, each with the content type it claims. */
export const MALFORMED_BODIES: { label: string; type: string; body: string | Buffer }[] = [
  { label: 'broken JSON', type: 'application/json', body: '{"username": ' },
  { label: 'JSON nested 20,000 levels', type: 'application/json', body: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
  { label: 'JSON object nested 10,000 levels', type: 'application/json', body: nestedJson(10_000) },
  { label: 'JSON list', type: 'application/json', body: '[1, 2]' },
  {
    label: 'JSON with __proto__',
    type: 'application/json',
    body: '{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}}',
  },
  { label: 'JSON in an unknown charset', type: 'application/json; charset=utf-7', body: '{}' },
  { label: 'oversized JSON', type: 'application/json', body: `{"x": "${'x'.repeat(200_000)}"}` },
  { label: 'broken form encoding', type: 'application/x-www-form-urlencoded', body: 'a=%E0%A4%A&%ff=%&&=&b' },
  { label: 'invalid UTF-8 form', type: 'application/x-www-form-urlencoded', body: Buffer.from([0x61, 0x3d, 0xff, 0xfe, 0xc0, 0xaf]) },
  {
    label: 'too many form fields',
    type: 'application/x-www-form-urlencoded',
    body: Array.from({ length: 30_000 }, (_, i) => `f${i}=1`).join('&'),
  },
  { label: 'oversized form', type: 'application/x-www-form-urlencoded', body: `x=${'x'.repeat(500_000)}` },
  { label: 'plain text', type: 'text/plain', body: 'hello' },
  { label: 'XML', type: 'application/xml', body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' },
  {
    label: 'a file upload',
    type: 'multipart/form-data; boundary=b',
    body: '--b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhello\r\n--b--\r\n',
  },
  {
    label: 'broken multipart',
    type: 'multipart/form-data; boundary=b',
    body: '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nunfinished',
  },
];

export interface Form {
  action: string;
  method: string;
  /** hx-target of the form, if it swaps a region. */
  target: string | null;
  /** Field name → the value the page sends (checked boxes and filled fields only). */
  values: Map<string, string>;
  /** Every field name, sent or not (unchecked boxes too), with a value it could take. */
  fields: Map<string, string>;
}

const decodeEntities = (text: string) =>
  text.replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|#39|apos);/gi, (_m, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()];
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });

const attribute = (tag: string, name: string) => {
  const match = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return match ? decodeEntities(match[1]) : null;
};

/** The forms of a page, with their fields. */
export function formsOf(html: string, pageUrl: string): Form[] {
  const forms: Form[] = [];
  for (const [, open, inner] of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const form: Form = {
      action: new URL(attribute(open, 'action') ?? pageUrl, 'http://x').pathname,
      method: (attribute(open, 'method') ?? 'get').toLowerCase(),
      target: attribute(open, 'hx-target'),
      values: new Map(),
      fields: new Map(),
    };
    for (const [tag, kind] of inner.matchAll(/<(input|select|textarea)\b[^>]*>/gi)) {
      const name = attribute(tag, 'name');
      if (!name) continue;
      const type = (attribute(tag, 'type') ?? 'text').toLowerCase();
      let value = attribute(tag, 'value') ?? '';
      if (kind.toLowerCase() === 'textarea')
        value = decodeEntities(/^<textarea\b[^>]*>([\s\S]*?)<\/textarea>/i.exec(inner.slice(inner.indexOf(tag)))?.[1] ?? '');
      if (kind.toLowerCase() === 'select') {
        const options = inner.slice(inner.indexOf(tag)).split(/<\/select>/i)[0];
        value =
          attribute(/<option\b[^>]*\sselected[^>]*>/i.exec(options)?.[0] ?? /<option\b[^>]*>/i.exec(options)?.[0] ?? '', 'value') ?? '';
      }
      if (type === 'submit' || type === 'button') continue;
      if (!form.fields.has(name)) form.fields.set(name, value);
      const unchecked = (type === 'checkbox' || type === 'radio') && !/\schecked\b/i.test(tag);
      if (!unchecked) form.values.set(name, value);
    }
    forms.push(form);
  }
  return forms;
}

/** The local URLs a page links to (href, hx-get), with the region an htmx link swaps. */
export function linksOf(html: string): { url: URL; target: string | null }[] {
  const links: { url: URL; target: string | null }[] = [];
  for (const [tag] of html.matchAll(/<[a-z]+\b[^>]*\s(?:href|hx-get)="[^"]*"[^>]*>/gi)) {
    for (const name of ['href', 'hx-get']) {
      const href = attribute(tag, name);
      if (href?.startsWith('/') && !href.startsWith('//'))
        links.push({ url: new URL(href, 'http://x'), target: attribute(tag, 'hx-target') });
    }
  }
  return links;
}

export interface Answer {
  status: number;
  text: string;
  headers: IncomingHttpHeaders;
}

/**
 * A client that keeps its cookies, on keep-alive connections. Plain node:http rather than fetch: a
 * server may answer (413) before it reads a large body, and the answer counts, not the broken upload.
 */
export class Client {
  private cookies = new Map<string, string>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  constructor(
    private readonly baseUrl: string,
    private readonly defaults: Record<string, string> = {},
  ) {}

  send(
    method: string,
    pathAndQuery: string,
    options: { body?: string | Buffer; type?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...this.defaults, ...options.headers };
    if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (options.type) headers['Content-Type'] = options.type;
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    return new Promise((resolve, reject) => {
      const req = http.request(this.baseUrl + pathAndQuery, { method: method.toUpperCase(), headers, agent: this.agent }, (res) => {
        for (const cookie of res.headers['set-cookie'] ?? []) {
          const [pair] = cookie.split(';');
          const eq = pair.indexOf('=');
          this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(options.body);
    });
  }
}

/** `name=value` pairs, percent-encoded, for a query string or a form body. */
export function encodePairs(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** A hostile value as URL or form pairs for one field name. */
export function hostilePairs(name: string, value: Hostile): string {
  const key = encodeURIComponent(name);
  if (value.list) return value.list.map((v) => `${key}=${encodeURIComponent(v)}`).join('&');
  return `${key}=${value.raw ?? encodeURIComponent(value.text ?? '')}`;
}

/** A hostile value as a JSON value. */
export function hostileJson(value: Hostile): string | null {
  if (value.json) return value.json;
  if (value.list) return JSON.stringify(value.list);
  if (value.raw) return null; // percent-encoding means nothing in JSON
  return JSON.stringify(value.text);
}

/** A hostile value as one path segment. */
export function hostileSegment(value: Hostile): string | null {
  if (value.bodyOnly || value.list) return null;
  return value.raw ?? encodeURIComponent(value.text ?? '');
}
