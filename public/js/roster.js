// Roster's only script besides htmx: small enhancements. Every page works without it.
document.documentElement.classList.add('js');

// Toasts: a close button. Plain confirmations fade out by CSS; once faded they are removed.
document.addEventListener('animationend', (event) => {
  if (event.target.classList?.contains('toast-auto')) event.target.remove();
});

// Modals: htmx puts a <dialog> into #modal; it opens as a real modal (focus trapped, Esc closes)
// and focus returns to what opened it once it is gone.
let opener = null;

function syncModal() {
  const dialog = document.querySelector('#modal dialog');
  if (dialog && !dialog.open) {
    dialog.addEventListener('close', () => dialog.remove());
    dialog.showModal();
    (dialog.querySelector('[aria-invalid="true"]') ?? dialog.querySelector('[autofocus]'))?.focus();
  } else if (!dialog && opener) {
    const target = opener.isConnected ? opener : document.getElementById('main');
    opener = null;
    target?.focus({ preventScroll: true });
  }
}

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
  const close = event.target.closest('[data-dismiss-toast]');
  if (close) close.closest('.toast')?.remove();
  if (event.target.closest('[data-close-modal]')) event.target.closest('dialog')?.close();
  const trigger = event.target.closest('[hx-target="#modal"]');
  if (trigger && !trigger.closest('dialog')) opener = trigger;
});

// Checkbox tables: "Select all", and the action button enabled only while something is selected.
function syncBulkForms() {
  document.querySelectorAll('form[data-bulk]').forEach((form) => {
    const boxes = [...form.querySelectorAll('input[type="checkbox"][name="ids"]')];
    const checked = boxes.filter((box) => box.checked).length;
    form.querySelectorAll('[data-bulk-submit]').forEach((button) => { button.disabled = checked === 0; });
    const all = form.querySelector('[data-select-all]');
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  });
}

document.addEventListener('change', (event) => {
  const all = event.target.closest('[data-select-all]');
  if (all) all.closest('form').querySelectorAll('input[type="checkbox"][name="ids"]').forEach((box) => { box.checked = all.checked; });
  if (event.target.closest('form[data-bulk]')) syncBulkForms();
});

document.addEventListener('DOMContentLoaded', () => {
  syncBulkForms();
  new MutationObserver(() => {
    syncModal();
    syncBulkForms();
  }).observe(document.body, { childList: true, subtree: true });
});
