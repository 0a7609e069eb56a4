// Runs in the page under test (see layout.ts). Plain JavaScript, read as text: the TypeScript loader
// would add helpers to it that do not exist in the page.
(() => {
  const found = [];
  const name = (el) => {
    const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
    return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}>${text ? ` “${text}”` : ''}`;
  };

  for (const table of document.querySelectorAll('table')) {
    for (const child of table.children) {
      if (!['CAPTION', 'COLGROUP', 'THEAD', 'TBODY', 'TFOOT'].includes(child.tagName))
        found.push(`${name(child)} is a direct child of ${name(table)}`);
    }
    for (const section of table.querySelectorAll(':scope > thead, :scope > tbody, :scope > tfoot')) {
      for (const child of section.children) {
        if (child.tagName !== 'TR') found.push(`${name(child)} sits in a ${section.tagName.toLowerCase()} among rows of ${name(table)}`);
      }
    }
    for (const row of table.querySelectorAll('tr')) {
      if (row.closest('table') !== table) continue;
      const parent = row.parentElement;
      if (!['THEAD', 'TBODY', 'TFOOT'].includes(parent.tagName) || parent.parentElement !== table) {
        found.push(`row ${name(row)} is inside ${name(parent)}, not directly in a section of its table`);
      }
    }
    const header = table.tHead?.rows[table.tHead.rows.length - 1];
    if (!header) continue;
    const columns = (row) => [...row.cells].reduce((sum, cell) => sum + cell.colSpan, 0);
    const width = columns(header);
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        if (columns(row) !== width) found.push(`row ${name(row)} has ${columns(row)} columns, the header ${width}`);
      }
    }
  }

  const viewport = window.innerWidth;
  const scrollWidth = document.scrollingElement.scrollWidth;
  if (scrollWidth > viewport) found.push(`the page scrolls sideways: ${scrollWidth} px wide in a ${viewport} px viewport`);
  // Elements inside something that scrolls sideways on purpose (and holds no table) may extend past it.
  const scrollsOnPurpose = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if ((overflow === 'auto' || overflow === 'scroll') && !up.querySelector('table')) return true;
    }
    return false;
  };
  const reported = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    // Not rendered: display none, visibility hidden, the inside of a closed <details>.
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    // Boxes of a pixel or less are visually hidden on purpose; so is what lies entirely off to the left (the skip link).
    if (box.width <= 1 || box.height <= 1 || box.right <= 0) continue;
    if (box.left >= -1 && box.right <= viewport + 1) continue;
    if (scrollsOnPurpose(el)) continue;
    // Report the outermost element that sticks out, not each of its descendants.
    let up = el.parentElement;
    while (up && !reported.has(up)) up = up.parentElement;
    if (up) continue;
    reported.add(el);
    found.push(`${name(el)} spans ${Math.round(box.left)}–${Math.round(box.right)} px, outside the ${viewport} px viewport`);
  }

  const heading = document.querySelector('h1');
  if (!heading) found.push('the page has no h1');
  else {
    const box = heading.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight)
      found.push(`the heading ${name(heading)} is out of view (top ${Math.round(box.top)} px)`);
  }
  return found;
})();
