import fs from 'node:fs';
import { expect } from 'chai';
import type { Page } from 'playwright-core';

const probe = fs.readFileSync(new URL('./layout-probe.js', import.meta.url), 'utf8');

/**
 * What a page must look like after any swap, at any width: what an htmx swap can break without a
 * script error. Checks, in the page as it is now:
 * - every table's rows are direct children of its own thead/tbody/tfoot, and those hold rows only;
 * - every body row spans as many columns (colspans counted) as the header;
 * - the page does not scroll sideways, and nothing sticks out of the viewport, except inside an element
 *   that scrolls sideways on purpose (a tab strip); a table is never such an element, since a column
 *   scrolled out of sight is a clipped column;
 * - the page heading (h1) is in view.
 * Fails with every problem found, each named by where it is.
 */
export async function assertLayout(page: Page, options: { width: number; headingInView?: boolean }): Promise<void> {
  const size = page.viewportSize();
  expect(size?.width, 'viewport width').to.equal(options.width);
  let problems = await page.evaluate<string[]>(probe);
  if (options.headingInView === false) problems = problems.filter((p) => !p.startsWith('the heading'));
  expect(problems, `layout of ${page.url()} at ${options.width} px`).to.deep.equal([]);
}
