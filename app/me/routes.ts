import { type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import QRCode from 'qrcode';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { recordEvent } from '../events/events.js';
import { actorOf, requireLogin } from '../http/guard.js';
import { parseId } from '../http/params.js';
import { toast } from '../http/toast.js';
import { setPassword } from '../identity/identity.js';
import { listSessions } from '../identity/sessions.js';
import {
  checkTotp,
  createRecoveryCodes,
  deleteAuthenticators,
  listAuthenticators,
  pendingTotp,
  remainingCodes,
  renameAuthenticator,
  startTotp,
  TYPE_NAMES,
} from '../mfa/authenticators.js';
import { webauthn } from '../mfa/webauthn.js';

/** The signed-in user's own account: details, sessions, password and second factors. */
export function meRoutes(config: Config, db: Knex): Router {
  const router = Router();
  const keys = webauthn(config, db);
  router.use(requireLogin);

  const event = (req: Request, action: 'model_created' | 'password_set', context: Record<string, unknown>) =>
    recordEvent(db, { action, user: req.user, app: 'roster.me', clientIp: req.ip, context });

  async function show(req: Request, res: Response, passwordErrors: Record<string, string> = {}, status = 200) {
    const me = req.user!;
    const [authenticators, sessions, codesLeft] = await Promise.all([
      listAuthenticators(db, me.id),
      listSessions(db, me.id, req.sessionID),
      remainingCodes(db, me.id),
    ]);
    await res.page(
      'me/index',
      { title: 'My account', nav: 'me', me, authenticators, sessions, codesLeft, typeNames: TYPE_NAMES, passwordErrors },
      status,
    );
  }

  router.get('/', (req, res) => show(req, res));

  router.post('/password', async (req, res) => {
    const me = req.user!;
    const current = await db('users').where({ id: me.id }).first('password');
    const password = String(req.body?.password ?? '');
    const errors: Record<string, string> = {};
    if (!(await verifyPassword(String(req.body?.current_password ?? ''), current?.password, config.bcryptRounds)))
      errors.current_password = 'This is not your current password';
    const problem = passwordProblem(password, me.username);
    if (problem) errors.password = problem;
    else if (password !== String(req.body?.password_repeat ?? '')) errors.password_repeat = 'The two passwords do not match';
    if (Object.keys(errors).length) return show(req, res, errors, 422);
    await setPassword(db, me.id, await hashPassword(password, config.bcryptRounds), req.sessionID);
    await event(req, 'password_set', { method: 'self' });
    toast(req, 'Password changed. Your other sessions have ended.');
    res.redirect(303, '/me');
  });

  // TOTP: start (a secret and its QR code), then confirm with a first code.
  router.post('/authenticators/totp', async (req, res) => {
    const { id } = await startTotp(db, req.user!.id, req.user!.username);
    res.redirect(303, `/me/authenticators/${id}/confirm`);
  });

  async function showTotp(req: Request, res: Response, error: string | null = null, status = 200) {
    const id = parseId(req.params.id);
    const totp = id === null ? undefined : await pendingTotp(db, req.user!.id, id, req.user!.username);
    if (!totp) throw new HttpError(404, 'There is no app being set up here. Start again from your account page.');
    res.set('Cache-Control', 'no-store');
    const qr = await QRCode.toString(totp.uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    await res.page('mfa/totp', { title: 'Set up an authenticator app', nav: 'me', totp, qr, error }, status);
  }

  router.get('/authenticators/:id/confirm', (req, res) => showTotp(req, res));

  router.post('/authenticators/:id/confirm', async (req, res) => {
    const id = parseId(req.params.id);
    const confirmed = id !== null && (await checkTotp(db, req.user!.id, String(req.body?.code ?? ''), { confirmingId: id }));
    if (!confirmed) return showTotp(req, res, 'That code is not valid. Enter the 6 digits your app shows now.', 422);
    await event(req, 'model_created', { model: { model_name: 'authenticator', type: 'totp' } });
    toast(req, 'Authenticator app added: login now asks for a code.');
    res.redirect(303, '/me');
  });

  router.post('/authenticators/static', async (req, res) => {
    const codes = await createRecoveryCodes(db, req.user!.id);
    await event(req, 'model_created', { model: { model_name: 'authenticator', type: 'static' } });
    res.set('Cache-Control', 'no-store');
    await res.page('mfa/codes', { title: 'Your recovery codes', nav: 'me', codes });
  });

  router.post('/authenticators/webauthn/options', async (req, res) => {
    const me = (await db('users').where({ id: req.user!.id }).first('id', 'uuid', 'username', 'name'))!;
    res.json(await keys.registrationOptions(req, me));
  });

  router.post('/authenticators/webauthn', async (req, res) => {
    const name =
      String(req.body?.name ?? '')
        .trim()
        .slice(0, 100) || 'Security key';
    const id = await keys.register(req, req.user!.id, name, req.body?.response);
    if (!id) return res.status(422).json({ error: 'The security key could not be registered. Try again.' });
    await event(req, 'model_created', { model: { model_name: 'authenticator', type: 'webauthn', name } });
    toast(req, `Security key “${name}” added.`);
    res.status(201).json({ redirect: '/me' });
  });

  router.post('/authenticators/:id', async (req, res) => {
    const name = String(req.body?.name ?? '')
      .trim()
      .slice(0, 100);
    const id = parseId(req.params.id);
    if (!name || id === null || !(await renameAuthenticator(db, req.user!.id, id, name))) {
      toast(req, name ? 'There is no such device.' : 'Enter a name for the device.', { kind: 'error' });
      return res.redirect(303, '/me');
    }
    toast(req, `Renamed to “${name}”.`);
    res.redirect(303, '/me');
  });

  router.post('/authenticators/:id/delete', async (req, res) => {
    const id = parseId(req.params.id);
    const removed = id !== null && (await deleteAuthenticators(db, req.user!, [id], actorOf(req), 'roster.me')).length > 0;
    toast(req, removed ? 'Device removed.' : 'There is no such device.', { kind: removed ? 'success' : 'error' });
    res.redirect(303, '/me');
  });

  return router;
}
