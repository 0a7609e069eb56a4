// Roster's only script besides htmx: small enhancements. Every page works without it.
document.documentElement.classList.add('js');

// Toasts need no script to close (their × is a method="dialog" form). Plain confirmations fade out by
// CSS; once faded they are removed.
document.addEventListener('animationend', (event) => {
  if (event.target.classList?.contains('toast-auto')) event.target.remove();
});

// Focus that would fall to <body> because its element is gone (replaced by a swap) goes to what took
// its place: the element with its id, or a link to the same address; else to the heading of the
// page's region (tabindex="-1"). The page scrolls only if that element (its table row, say a row
// saved by a quick edit) is not wholly in view: focus must never sit on something hidden.
function focusBack(element) {
  const href = element.getAttribute('href');
  const next = element.isConnected
    ? element
    : (element.id && document.getElementById(element.id))
      || (href && [...document.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === href))
      || document.querySelector('#main [tabindex="-1"]');
  if (!next) return;
  next.focus({ preventScroll: true });
  const shown = next.closest('tr') ?? next;
  const box = shown.getBoundingClientRect();
  // Centred, so that a toast along the bottom of a phone's screen does not cover it.
  if (box.top < 0 || box.bottom > window.innerHeight) shown.scrollIntoView({ block: 'center' });
}

// Modals: htmx puts a <dialog> into #modal; it opens as a real modal (focus trapped, Esc closes)
// and focus returns to what had it when the dialog opened (a dialog that replaces the first, such as
// a refused form, keeps that) once it is gone.
let opener = null;

function syncModal() {
  const dialog = document.querySelector('#modal dialog');
  if (dialog && !dialog.open) {
    opener ??= document.activeElement;
    dialog.addEventListener('close', () => dialog.remove());
    dialog.showModal();
    (dialog.querySelector('[aria-invalid="true"]') ?? dialog.querySelector('[autofocus]'))?.focus();
  } else if (!dialog && opener) {
    const element = opener;
    opener = null;
    focusBack(element);
  }
}

// A swap that removes the focused control (a folder, a tab, the pager's link) puts focus back.
let focusedBeforeSwap = null;
document.addEventListener('htmx:before:swap', () => {
  focusedBeforeSwap = document.activeElement;
});
document.addEventListener('htmx:after:swap', () => {
  const lost = focusedBeforeSwap;
  focusedBeforeSwap = null;
  if (lost && !lost.isConnected && document.activeElement === document.body) focusBack(lost);
});

async function copy(button) {
  const field = document.querySelector(button.dataset.copy);
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    document.execCommand('copy');
  }
  button.textContent = 'Copied';
}

document.addEventListener('click', (event) => {
  const copyButton = event.target.closest('[data-copy]');
  if (copyButton) copy(copyButton);
  if (event.target.closest('[data-close-modal]')) event.target.closest('dialog')?.close();
});

// Checkbox tables: "Select all", and the action buttons enabled only while something is selected
// (rows, or every row matching the list's filter).
function syncBulkForms() {
  document.querySelectorAll('form[data-bulk]').forEach((form) => {
    const boxes = [...form.querySelectorAll('input[type="checkbox"][name="ids"]')];
    const checked = boxes.filter((box) => box.checked).length;
    const matching = form.querySelector('input[type="checkbox"][name="all"]')?.checked;
    form.querySelectorAll('[data-bulk-submit]').forEach((button) => {
      button.disabled = checked === 0 && !matching;
    });
    const all = form.querySelector('[data-select-all]');
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  });
}

document.addEventListener('change', (event) => {
  const all = event.target.closest('[data-select-all]');
  if (all)
    all
      .closest('form')
      .querySelectorAll('input[type="checkbox"][name="ids"]')
      .forEach((box) => {
        box.checked = all.checked;
      });
  if (event.target.closest('form[data-bulk]')) syncBulkForms();
});

document.addEventListener('DOMContentLoaded', () => {
  syncBulkForms();
  new MutationObserver(() => {
    syncModal();
    syncBulkForms();
  }).observe(document.body, { childList: true, subtree: true });
});
