import path from 'node:path';
import { fileURLToPath } from 'node:url';
import compression from 'compression';
import ejs from 'ejs';
import express from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { bearerAuth } from './api/bearer.js';
import { apiRoutes } from './api/routes.js';
import { applicationRoutes } from './applications/routes.js';
import { authRoutes } from './auth/routes.js';
import { BruteForceGuard } from './auth/throttle/guard.js';
import type { Config } from './config.js';
import { groupRoutes } from './directory/groups/routes.js';
import { tokenRoutes } from './directory/tokens/routes.js';
import { userRoutes } from './directory/users/routes.js';
import { statusHelpers } from './directory/users/status.js';
import { bodyParsers, refuseUnreadableBody } from './http/body.js';
import { csrfProtection } from './http/csrf.js';
import { errorHandler, notFound } from './http/errors.js';
import { loadUser, requireAdmin } from './http/guard.js';
import { healthRoutes } from './http/health.js';
import { htmx } from './http/htmx.js';
import { render } from './http/render.js';
import { noStore, securityHeaders } from './http/security.js';
import { saveBeforeRedirect, sessions, trackActivity } from './http/sessions.js';
import { ejsOptions, partials } from './http/templates.js';
import { viewHelpers } from './http/view-helpers.js';
import { redactUrl } from './log.js';
import { meRoutes } from './me/routes.js';
import { mfaLoginRoutes } from './mfa/login-routes.js';
import { interactionRoutes, OAUTH_PATH, oauthServer } from './oauth/routes.js';
import { recoveryRoutes } from './recovery/routes.js';
import { otherScimVersions, SCIM_PATH, scimRoutes } from './scim/routes.js';

// The project directory (views/, public/): above app/, run from the sources or built into dist/app/.
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, path.basename(path.dirname(here)) === 'dist' ? '../..' : '..');

export interface AppDeps {
  config: Config;
  db: Knex;
  logger: Logger;
  sessionSecret: string;
}

/** Builds the whole application from its configuration and database; tests build many. */
export function createApp({ config, db, logger, sessionSecret }: AppDeps): express.Express {
  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.set('views', path.join(root, 'views'));
  app.set('view engine', 'ejs');
  app.engine('ejs', (file, data, done) => {
    const settings = (data as { settings: Record<string, unknown> }).settings;
    ejs.renderFile(
      file,
      data as ejs.Data,
      { ...ejsOptions(config.env === 'production'), cache: Boolean(settings['view cache']), views: [settings.views as string] },
      done as never,
    );
  });
  app.set('view cache', config.env === 'production');
  app.disable('x-powered-by');
  app.set('etag', false); // pages are per session and per moment: hashing each one for an ETag buys nothing
  Object.assign(app.locals, viewHelpers, statusHelpers, { partial: partials(path.join(root, 'views'), config.env === 'production') });

  app.use(
    pinoHttp({
      logger,
      serializers: {
        req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.remoteAddress }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url?.startsWith('/-/health/') ?? false },
    }),
  );
  app.use(securityHeaders(config));
  // Rendering comes first, so that every error has its page or toast, even one raised before the
  // session is loaded (a static file's, a body's).
  app.use(htmx, render);
  if (config.compression) app.use(compression());
  app.use('/-/health', healthRoutes(db));
  const oauth = oauthServer(config, db, sessionSecret);
  app.use(OAUTH_PATH, oauth.endpoints);
  app.use('/assets', express.static(path.join(root, 'public'), { maxAge: config.env === 'production' ? '1d' : 0 }));
  app.get('/assets/htmx.min.js', (_req, res) => res.sendFile(path.join(root, 'node_modules/htmx.org/dist/htmx.min.js')));
  app.get('/assets/simplewebauthn-browser.js', (_req, res) =>
    res.sendFile(path.join(root, 'node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js')),
  );

  // Everything below answers for a session or an API token: no cache may keep it.
  app.use(noStore);
  // SCIM has its own body parser, authentication and error format; nothing below applies to it.
  app.use(SCIM_PATH, scimRoutes(config, db));
  app.use('/scim', otherScimVersions());
  app.use(bodyParsers());
  app.use(bearerAuth(db));
  // Programs with an API token have no session and need no CSRF token; browsers have both.
  const session = sessions(config, db, sessionSecret);
  const csrf = csrfProtection(sessionSecret);
  const browserOnly =
    (mw: express.RequestHandler): express.RequestHandler =>
    (req, res, next) =>
      req.apiToken ? next() : mw(req, res, next);
  app.use(browserOnly(session), saveBeforeRedirect);
  app.use(trackActivity);
  app.use(browserOnly(loadUser(db)));
  app.use(refuseUnreadableBody);
  // The guard comes before the CSRF check, so that a request without credentials learns that it
  // lacks them (401), not that it lacks a CSRF token.
  app.use(['/directory', '/applications'], requireAdmin);
  app.use(browserOnly(csrf));

  // The route table: each URL space is mounted once, and its code lives in the folder of its URL.
  app.get('/', (req, res) => res.redirect(303, !req.user ? '/login' : req.user.isAdmin ? '/directory/users' : '/me'));
  const guard = new BruteForceGuard(db, sessionSecret, config.publicUrl.startsWith('https:'));
  app.use('/login/mfa', mfaLoginRoutes(config, db, guard));
  app.use(authRoutes(config, db, guard)); // /login, /logout
  app.use('/recovery', recoveryRoutes(config, db, guard));
  app.use('/me', meRoutes(config, db));
  app.use('/interaction', interactionRoutes(config, db, oauth));
  app.use('/directory/users', userRoutes(config, db));
  app.use('/directory/groups', groupRoutes(db));
  app.use('/directory/tokens', tokenRoutes(db));
  app.use('/applications', applicationRoutes(config, db));
  app.use('/api/v3', apiRoutes(config, db));

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
