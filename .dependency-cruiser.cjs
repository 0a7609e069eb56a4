// Import rules for app/ (issue 15): the ground floor and app/http import no feature, and
// nothing imports in a circle. Run with `npm run check:imports`.
//
// The ground floor is what every feature may build on. It is named by path pattern rather
// than by the files there today, so a module that does not exist yet (identity/, errors.ts)
// is covered the moment it is created.
// Everything else under app/ is a feature (directory/, api/, auth/, me/, mfa/, oauth/,
// recovery/, app.ts, server.ts, ...).
const GROUND_FLOOR = ['^app/(config|db|log|secret|errors)\\.ts$', '^app/(events|identity|mail)/'];
const HTTP = '^app/http/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'This import closes a circle. Break it by moving what both sides need down to the '
        + 'ground floor, or by passing it in instead of importing it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'http-imports-no-feature',
      severity: 'error',
      comment:
        'app/http/ is the cross-cutting layer: it may import only app/http/ itself and the '
        + 'ground floor (config, db, log, secret, errors, events/, identity/, mail/), never a feature.',
      from: { path: HTTP },
      to: { path: '^app/', pathNot: [HTTP, ...GROUND_FLOOR] },
    },
    {
      name: 'ground-floor-imports-no-feature',
      severity: 'error',
      comment:
        'The ground floor (config, db, log, secret, errors, events/, identity/, mail/) may import '
        + 'only the ground floor: not app/http/ and not a feature.',
      from: { path: GROUND_FLOOR },
      to: { path: '^app/', pathNot: GROUND_FLOOR },
    },
    {
      name: 'app-imports-no-test-or-bench',
      severity: 'error',
      comment: 'Application code must not depend on test/ or bench/: neither ships.',
      from: { path: '^app/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'This import cannot be resolved to a file or a package, so the rules above cannot see it.',
      from: { path: '^app/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count: they are what a module knows about, and the rules are about knowledge.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // db/migrations is reached from app/db.ts and is followed: a circle through it is still a circle.
    exclude: { path: '^(node_modules|dist|data)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
