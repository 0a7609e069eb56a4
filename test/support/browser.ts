import fs from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { freePort, PASSWORD, serve, type TestApp, testApp } from './app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Debian's Chromium, headless. A missing browser fails the suite: it is never skipped. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export type JsMode = 'on' | 'off';

export function newContext(browser: Browser, js: JsMode, width = 1280, height = 900): Promise<BrowserContext> {
  return browser.newContext({ javaScriptEnabled: js === 'on', viewport: { width, height } });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * One JavaScript-enabled scratch page per browser, where axe-core is loaded once per origin: each
 * check puts the page's rendered document into it. Opening a page and loading axe cost more than
 * the check itself, and the checks run after most steps of every browser test.
 */
const scratchPages = new WeakMap<Browser, { page: Page; origin: string | null }>();

async function scratchFor(page: Page): Promise<Page> {
  const browser = page.context().browser()!;
  let scratch = scratchPages.get(browser);
  if (!scratch || scratch.page.isClosed()) {
    const created = await browser.newPage({ javaScriptEnabled: true, bypassCSP: true });
    // Stylesheets matter for contrast; scripts would change the DOM under test.
    await created.route('**/*', (route) => (route.request().resourceType() === 'script' ? route.abort() : route.continue()));
    scratch = { page: created, origin: null };
    scratchPages.set(browser, scratch);
  }
  const origin = new URL(page.url()).origin;
  if (scratch.origin !== origin) {
    // An empty document of the page's origin, so that the stylesheets' relative URLs resolve.
    await scratch.page.route(`${origin}/-/axe-scratch`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>scratch</title>' }),
    );
    await scratch.page.goto(`${origin}/-/axe-scratch`);
    await scratch.page.evaluate(axeSource);
    scratch.origin = origin;
  }
  return scratch.page;
}

/**
 * Runs axe-core on the page as it is now and fails on serious or critical violations. It checks the
 * rendered DOM in a JavaScript-enabled scratch page, so JavaScript-off pages are checked the same way.
 */
export async function checkAccessibility(page: Page): Promise<void> {
  const html = await page.content();
  const scratch = await scratchFor(page);
  try {
    const violations = await scratch.evaluate(async (markup) => {
      // The parsed document replaces the scratch page's own (scripts parsed this way never run),
      // and the check waits for its stylesheets.
      const parsed = new DOMParser().parseFromString(markup, 'text/html');
      document.replaceChild(document.importNode(parsed.documentElement, true), document.documentElement);
      const sheets = Array.from(document.querySelectorAll<HTMLLinkElement>('link[rel~="stylesheet"]'));
      await Promise.all(
        sheets.map((link) =>
          link.sheet
            ? null
            : new Promise((done) => {
                link.addEventListener('load', done, { once: true });
                link.addEventListener('error', done, { once: true });
              }),
        ),
      );
      const result = await (window as unknown as { axe: { run(o: object): Promise<{ violations: AxeViolation[] }> } }).axe.run({
        resultTypes: ['violations'],
      });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target })),
      }));
    }, html);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (serious.length) {
      const lines = serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      throw new Error(`accessibility of ${page.url()}:\n  ${lines.join('\n  ')}`);
    }
  } finally {
    // The page under test is the visible tab again (hidden tabs pause CSS animations).
    await page.bringToFront();
  }
}

/**
 * Collects what should never happen on a page: script errors, console errors, missing assets and
 * 5xx answers. Pages and htmx requests may answer 4xx on purpose (a refused login, a 422 form).
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  page.on('response', (res) => {
    const asset = ['script', 'stylesheet', 'image', 'font'].includes(res.request().resourceType());
    if (res.status() >= 500 || (res.status() >= 400 && asset)) errors.push(`${res.status()} ${res.url()}`);
  });
  return errors;
}

/** Navigates and checks accessibility: every page the browser tests visit goes through here. */
export async function visit(page: Page, url: string): Promise<void> {
  const response = await page.goto(url);
  expect(response, url).to.not.equal(null);
  await checkAccessibility(page);
}

/** Call after an action that lands on a new page (a form post, a click). */
export async function landed(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await checkAccessibility(page);
}

export interface BrowserApp {
  t: TestApp;
  browser: Browser;
  /** Where the app listens; also its PUBLIC_URL. */
  baseUrl: string;
}

/**
 * Registers before/after hooks for a browser suite: an app on a fresh database served on a real
 * port (PUBLIC_URL is that address), and Chromium. WebAuthn needs the host name `localhost`.
 */
export function browserApp(
  options: { host?: 'localhost' | '127.0.0.1'; env?: Record<string, string>; setup?: (t: TestApp, baseUrl: string) => Promise<void> } = {},
): BrowserApp {
  const fixture = {} as BrowserApp;
  let stop: (() => Promise<void>) | undefined;
  before(async () => {
    const port = await freePort();
    fixture.baseUrl = `http://${options.host ?? '127.0.0.1'}:${port}`;
    fixture.t = await testApp({ ...options.env, PUBLIC_URL: fixture.baseUrl });
    stop = (await serve(fixture.t.app, port)).close;
    await options.setup?.(fixture.t, fixture.baseUrl);
    fixture.browser = await launchBrowser();
  });
  after(async () => {
    await fixture.browser?.close();
    await stop?.();
    await fixture.t?.close();
  });
  return fixture;
}

/** Visits the login page (with `next` if given) and submits the form; the caller waits for what follows. */
export async function logIn(
  page: Page,
  baseUrl: string,
  username: string,
  options: { next?: string; password?: string } = {},
): Promise<void> {
  await visit(page, `${baseUrl}/login${options.next ? `?next=${options.next}` : ''}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(options.password ?? PASSWORD);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  // A refused login says why here, rather than as a timeout of whatever waits for the next page.
  if (response.status() >= 400) {
    await page.waitForLoadState('load');
    const shown = (
      await page
        .locator('main')
        .innerText()
        .catch(() => '')
    )
      .replace(/\s+/g, ' ')
      .slice(0, 200);
    throw new Error(`login of ${username} answered ${response.status()}: ${shown}`);
  }
}
