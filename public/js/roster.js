// Roster's only script besides htmx: small enhancements. Every page works without it.
document.documentElement.classList.add('js');

// Toasts: a close button; plain success and info messages leave by themselves after a while
// (errors and messages with a link stay until dismissed).
document.addEventListener('click', (event) => {
  const close = event.target.closest('[data-dismiss-toast]');
  if (close) close.closest('.toast')?.remove();
});

function scheduleDismissals() {
  document.querySelectorAll('#toasts .toast:not([data-scheduled])').forEach((toast) => {
    toast.dataset.scheduled = 'true';
    if (toast.classList.contains('toast-error') || toast.querySelector('a')) return;
    setTimeout(() => toast.remove(), 8000);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  scheduleDismissals();
  new MutationObserver(scheduleDismissals).observe(document.body, { childList: true, subtree: true });
});
