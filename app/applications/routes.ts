import { type NextFunction, type Request, type Response, Router } from 'express';
import Joi from 'joi';
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { text } from '../directory/form-fields.js';
import { HttpError } from '../errors.js';
import { bulkRoute } from '../http/bulk.js';
import { actorOf } from '../http/guard.js';
import { isRegion } from '../http/htmx.js';
import { parseId } from '../http/params.js';
import { finishDialog } from '../http/render.js';
import { validName } from '../identity/names.js';
import {
  type Application,
  type ApplicationFields,
  CONSENT_MODES,
  type ConsentMode,
  createApplication,
  deleteApplications,
  findApplication,
  listApplications,
  rotateSecret,
  updateApplication,
} from '../oauth/applications.js';
import { OAUTH_PATH } from '../oauth/provider.js';

type ClientApplication = Application;

declare global {
  namespace Express {
    interface Request {
      /** The application an /applications/:appId URL is about. */
      client?: ClientApplication;
    }
  }
}

interface FormValues {
  name: string;
  slug: string;
  redirect_uris: string;
  consent_mode: string;
}
type FormErrors = Partial<Record<keyof FormValues, string>>;

const schema = Joi.object<FormValues>({
  name: Joi.string()
    .trim()
    .required()
    .max(150)
    .custom(validName)
    .messages({ 'string.empty': 'Enter a name', 'any.required': 'Enter a name', 'string.max': 'Use at most 150 characters' }),
  slug: Joi.string()
    .trim()
    .required()
    .max(100)
    .pattern(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
    .messages({
      'string.empty': 'Enter a slug',
      'any.required': 'Enter a slug',
      'string.pattern.base': 'Use lowercase letters, digits and single dashes, such as my-app',
      'string.max': 'Use at most 100 characters',
    }),
  redirect_uris: Joi.string()
    .required()
    .custom((value: string, helpers) => {
      const uris = value
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
      if (!uris.length) return helpers.message({ custom: 'Enter at least one redirect URI' });
      for (const uri of uris) {
        let url: URL;
        try {
          url = new URL(uri);
        } catch {
          return helpers.message({ custom: `“${uri.slice(0, 80)}” is not an absolute URL` });
        }
        if (!['http:', 'https:'].includes(url.protocol) || url.hash)
          return helpers.message({ custom: `“${uri.slice(0, 80)}” must be http(s) and have no #fragment` });
      }
      return value;
    })
    .messages({ 'string.empty': 'Enter at least one redirect URI' }),
  consent_mode: Joi.string()
    .valid(...Object.keys(CONSENT_MODES))
    .messages({ 'any.only': 'Choose one of the consent modes' }),
}).unknown(true);

function readForm(body: Record<string, unknown> = {}, defaults: FormValues) {
  const values: FormValues = {
    name: body.name !== undefined ? text(body.name) : defaults.name,
    slug: body.slug !== undefined ? text(body.slug) : defaults.slug,
    redirect_uris: body.redirect_uris !== undefined ? text(body.redirect_uris) : defaults.redirect_uris,
    consent_mode: body.consent_mode !== undefined ? text(body.consent_mode) : defaults.consent_mode,
  };
  const { value, error } = schema.validate(values, { abortEarly: false });
  const errors: FormErrors = {};
  for (const d of error?.details ?? []) errors[d.path[0] as keyof FormValues] ??= d.message;
  const fields: ApplicationFields | undefined = error
    ? undefined
    : {
        name: value.name,
        slug: value.slug,
        consentMode: value.consent_mode as ConsentMode,
        redirectUris: value.redirect_uris
          .split(/\r?\n/)
          .map((l: string) => l.trim())
          .filter(Boolean),
      };
  return { values, errors, fields };
}

const EMPTY: FormValues = { name: '', slug: '', redirect_uris: '', consent_mode: 'explicit' };
const valuesOf = (a: Application): FormValues => ({
  name: a.name,
  slug: a.slug,
  redirect_uris: a.redirectUris.join('\n'),
  consent_mode: a.consentMode,
});

/** Applications (OAuth2/OIDC clients): list, create, edit, rotate the secret, delete. */
export function applicationRoutes(config: Config, db: Knex): Router {
  const router = Router();
  const issuer = `${config.publicUrl}${OAUTH_PATH}`;

  function view(req: Request, res: Response, title: string, content: string, locals: Record<string, unknown>, status = 200) {
    const application = locals.application as Application | undefined;
    const all = {
      title,
      nav: 'applications',
      content,
      modes: CONSENT_MODES,
      issuer,
      ...locals,
      crumbs: [
        { href: '/applications', text: 'Applications' },
        ...(application ? [{ href: `/applications/${application.id}`, text: application.name }] : []),
      ],
    };
    return res.dialog(all, status);
  }

  /** The secret exists only in this response: never cached, never in a toast (the session is stored). */
  function showSecret(req: Request, res: Response, application: Application, secret: string, status = 200) {
    res.set('Cache-Control', 'no-store');
    return view(req, res, `Client secret of ${application.name}`, '../applications/_secret', { application, secret }, status);
  }

  bulkRoute(router, '/delete', {
    verb: 'Delete',
    noun: ['application', 'applications'],
    changedEvent: 'applications-changed',
    back: () => '/applications',
    load: async (_req, ids) => {
      const wanted = new Set(ids);
      return (await listApplications(db))
        .filter((a) => wanted.has(String(a.id)))
        .map((a) => ({ id: a.id, label: a.name, details: [a.slug] }));
    },
    warning: () => 'Every consent and token given to these applications is deleted with them; their users must sign in again.',
    apply: async (req, items) => {
      const deleted = await deleteApplications(
        db,
        items.map((i) => ({ id: Number(i.id), name: i.label })),
        actorOf(req),
      );
      if (!deleted.length) return null;
      return deleted.length === 1 ? `Application ${deleted[0].name} deleted.` : `${deleted.length} applications deleted.`;
    },
  });

  router.param('appId', async (req: Request, _res: Response, next: NextFunction, id: string) => {
    const appId = parseId(id);
    const application = appId === null ? undefined : await findApplication(db, appId);
    if (!application) return next(new HttpError(404, 'There is no such application.', '/applications'));
    req.client = application;
    next();
  });

  router.get('/', async (req, res) => {
    const locals = { title: 'Applications', nav: 'applications', applications: await listApplications(db), modes: CONSENT_MODES, issuer };
    if (isRegion(req, 'applications-table')) return res.fragment('applications/_table', locals);
    await res.page('applications/index', locals);
  });

  router.get('/new', (req, res) =>
    view(req, res, 'Create application', '../applications/_form', { values: EMPTY, errors: {}, action: '/applications' }),
  );

  router.post('/', async (req, res) => {
    const form = readForm(req.body, EMPTY);
    const saved = form.fields && (await createApplication(db, form.fields, actorOf(req)));
    if (!saved || !saved.ok) {
      const errors = saved && !saved.ok ? { ...form.errors, [saved.field]: saved.message } : form.errors;
      return view(req, res, 'Create application', '../applications/_form', { values: form.values, errors, action: '/applications' }, 422);
    }
    res.set('Location', `/applications/${saved.application.id}`).set('HX-Trigger', 'applications-changed');
    return showSecret(req, res, saved.application, saved.secret!, 201);
  });

  router.get('/:appId', async (req, res) => {
    const locals = { title: req.client!.name, nav: 'applications', application: req.client, modes: CONSENT_MODES, issuer };
    if (isRegion(req, 'application-page')) return res.fragment('applications/_application', locals);
    await res.page('applications/show', locals);
  });

  router.get('/:appId/edit', (req, res) =>
    view(req, res, `Edit ${req.client!.name}`, '../applications/_form', {
      application: req.client,
      values: valuesOf(req.client!),
      errors: {},
      action: `/applications/${req.client!.id}`,
    }),
  );

  router.post('/:appId', async (req, res) => {
    const before = req.client!;
    const form = readForm(req.body, valuesOf(before));
    const saved = form.fields && (await updateApplication(db, before, form.fields, actorOf(req)));
    if (!saved || !saved.ok) {
      const errors = saved && !saved.ok ? { ...form.errors, [saved.field]: saved.message } : form.errors;
      return view(
        req,
        res,
        `Edit ${before.name}`,
        '../applications/_form',
        { application: before, values: form.values, errors, action: `/applications/${before.id}` },
        422,
      );
    }
    await finishDialog(req, res, {
      changed: 'applications-changed',
      toast: `Application ${saved.application.name} saved.`,
      back: `/applications/${before.id}`,
    });
  });

  router.post('/:appId/secret', async (req, res) => {
    const secret = await rotateSecret(db, req.client!, actorOf(req));
    return showSecret(req, res, req.client!, secret);
  });

  return router;
}
