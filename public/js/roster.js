// Roster's only script besides htmx: small enhancements. Every page works without it.
document.documentElement.classList.add('js');

// Toasts: a close button; plain success and info messages leave by themselves after a while
// (errors and messages with a link stay until dismissed).
function scheduleDismissals() {
  document.querySelectorAll('#toasts .toast:not([data-scheduled])').forEach((toast) => {
    toast.dataset.scheduled = 'true';
    if (toast.classList.contains('toast-error') || toast.querySelector('a')) return;
    setTimeout(() => toast.remove(), 8000);
  });
}

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

document.addEventListener('click', (event) => {
  const close = event.target.closest('[data-dismiss-toast]');
  if (close) close.closest('.toast')?.remove();
  if (event.target.closest('[data-close-modal]')) event.target.closest('dialog')?.close();
  const trigger = event.target.closest('[hx-target="#modal"]');
  if (trigger && !trigger.closest('dialog')) opener = trigger;
});

document.addEventListener('DOMContentLoaded', () => {
  scheduleDismissals();
  new MutationObserver(() => {
    scheduleDismissals();
    syncModal();
  }).observe(document.body, { childList: true, subtree: true });
});
