import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Knex } from 'knex';
import type Provider from 'oidc-provider';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { recordEvent } from '../events/events.js';
import { entryOf } from '../http/params.js';
import { type Application, findApplicationByClientId } from './applications.js';
import { grantScopes, rememberConsent } from './grants.js';
import { createProvider, OAUTH_PATH } from './provider.js';

export interface OAuthServer {
  provider(): Promise<Provider>;
  /** Mounted at /oauth, before sessions, CSRF and body parsing: relying parties talk to it directly. */
  endpoints(req: Request, res: Response, next: NextFunction): void;
}

export function oauthServer(config: Config, db: Knex, cookieSecret: string): OAuthServer {
  let built: Promise<Provider> | undefined;
  const provider = () => {
    built ??= createProvider(config, db, cookieSecret).catch((err) => {
      built = undefined;
      throw err;
    });
    return built;
  };
  return {
    provider,
    endpoints(req, res, next) {
      provider().then((p) => p.callback()(req, res), next);
    },
  };
}

export const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (a stable identifier of your account)',
  profile: 'See your name, username and groups',
  email: 'See your e-mail address',
  offline_access: 'Stay connected: refresh its access while you are away',
};

/**
 * The pages of an authorization: log in with Roster's own login (the interaction resumes after it),
 * then the consent page with Allow and Deny. Plain forms: no JavaScript needed.
 */
export function interactionRoutes(config: Config, db: Knex, oauth: OAuthServer): Router {
  const router = Router();

  async function load(req: Request, res: Response) {
    const provider = await oauth.provider();
    let details: Awaited<ReturnType<typeof provider.interactionDetails>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      throw new HttpError(400, 'This sign-in request has expired. Go back to the application and start again.');
    }
    if (details.uid !== req.params.uid) throw new HttpError(400, 'This sign-in request does not match. Start again from the application.');
    const application = await findApplicationByClientId(db, String(details.params.client_id));
    if (!application) throw new HttpError(400, 'The application of this sign-in request no longer exists.');
    return { provider, details, application };
  }

  router.get('/:uid', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const { provider, details, application } = await load(req, res);
    if (details.prompt.name === 'login') {
      if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      const sub = (await db('users').where({ id: req.user.id }).first('uuid'))!.uuid;
      return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    }
    if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    const scopes = String(details.params.scope ?? '')
      .split(' ')
      .filter((s) => entryOf(SCOPE_WORDS, s));
    await res.page('oauth/consent', {
      title: `Allow ${application.name}?`,
      application,
      scopes,
      scopeWords: SCOPE_WORDS,
      uid: details.uid,
    });
  });

  router.post('/:uid/confirm', async (req, res) => {
    const { provider, details, application } = await load(req, res);
    if (details.prompt.name !== 'consent' || !req.user) throw new HttpError(400, 'There is nothing to allow in this sign-in request.');
    const accountId = details.session!.accountId!;
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId, clientId: application.clientId });
    const requested = [
      ...new Set([
        ...((details.prompt.details.missingOIDCScope as string[] | undefined) ?? []),
        ...String(details.params.scope ?? '')
          .split(' ')
          .filter((s) => entryOf(SCOPE_WORDS, s)),
      ]),
    ];
    grantScopes(grant, requested);
    const claims = details.prompt.details.missingOIDCClaims as string[] | undefined;
    if (claims?.length) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    await remember(application, req.user.id, grantId, requested, req.ip);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  router.post('/:uid/abort', async (req, res) => {
    const { provider } = await load(req, res);
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request.' },
      { mergeWithLastSubmission: false },
    );
  });

  async function remember(application: Application, userId: number, grantId: string, scopes: string[], ip: string | undefined) {
    if (application.consentMode === 'explicit') await rememberConsent(db, userId, application.id, grantId, scopes);
    const user = await db('users').where({ id: userId }).first('id', 'username', 'email');
    await recordEvent(db, {
      action: 'authorize_application',
      user,
      app: 'roster.oauth',
      clientIp: ip,
      context: { application: { name: application.name, client_id: application.clientId }, scopes, consent_mode: application.consentMode },
    });
  }

  return router;
}

export { OAUTH_PATH };
