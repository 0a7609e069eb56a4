// Security keys and passkeys: the browser's WebAuthn API through @simplewebauthn/browser.
// Only these two buttons need JavaScript; everything else on their pages works without it.
(() => {
  const csrf = () => document.querySelector('[data-csrf]')?.dataset.csrf;

  async function post(url, body) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf() },
      body: JSON.stringify(body ?? {}),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || 'The request failed.');
    return data;
  }

  function showError(button, err) {
    const box = button.parentElement.querySelector('[data-webauthn-error]');
    box.textContent = err.name === 'NotAllowedError' ? 'The security key was not used (cancelled or timed out).' : err.message;
    box.hidden = false;
  }

  document.addEventListener('click', async (event) => {
    const register = event.target.closest('[data-webauthn-register]');
    const login = event.target.closest('[data-webauthn-login]');
    const button = register || login;
    if (!button) return;
    button.disabled = true;
    try {
      if (register) {
        const optionsJSON = await post('/me/authenticators/webauthn/options');
        const response = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON });
        const name = document.getElementById('key-name')?.value;
        const done = await post('/me/authenticators/webauthn', { name, response });
        window.location.assign(done.redirect);
      } else {
        const optionsJSON = await post('/login/mfa/webauthn/options');
        const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON });
        const done = await post('/login/mfa/webauthn', response);
        window.location.assign(done.redirect);
      }
    } catch (err) {
      showError(button, err);
      button.disabled = false;
    }
  });
})();
