import type { Knex } from 'knex';
import { isDeadlock } from '../db.js';
import { BULK_MAX_OPERATIONS } from './discovery.js';
import { invalidSyntax, invalidValue, ScimError } from './errors.js';
import { readPatch } from './patch.js';
import { type Resource, resourceBody, type Scope, type Store } from './resource.js';
import { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA } from './schema.js';

interface Operation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
}

interface Answer {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: unknown;
}

const BULK_ID = /^bulkId:(.+)$/;

function readBulk(body: unknown): { operations: Operation[]; failOnErrors: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('The body must be a BulkRequest object.');
  const { schemas, Operations, failOnErrors } = body as Resource;
  if (!Array.isArray(schemas) || !schemas.includes(BULK_REQUEST_SCHEMA)) throw invalidValue(`schemas must list ${BULK_REQUEST_SCHEMA}.`);
  if (!Array.isArray(Operations) || !Operations.length) throw invalidValue('Operations must be a non-empty list.');
  if (Operations.length > BULK_MAX_OPERATIONS)
    throw new ScimError(
      413,
      'tooMany',
      `A Bulk request holds at most ${BULK_MAX_OPERATIONS} operations; this one has ${Operations.length}.`,
    );
  if (failOnErrors !== undefined && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1))
    throw invalidValue('failOnErrors must be a whole number of at least 1.');
  const operations = Operations.map((op, i) => {
    if (!op || typeof op !== 'object') throw invalidValue(`Operations[${i}] must be an object.`);
    const { method, bulkId, version, path, data } = op as Resource;
    const verb = typeof method === 'string' ? method.toUpperCase() : '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(verb))
      throw invalidValue(`Operations[${i}].method must be POST, PUT, PATCH or DELETE.`);
    if (typeof path !== 'string' || !path) throw invalidValue(`Operations[${i}].path is required.`);
    if (verb === 'POST' && (typeof bulkId !== 'string' || !bulkId)) throw invalidValue(`Operations[${i}]: a POST needs a bulkId.`);
    if (bulkId !== undefined && typeof bulkId !== 'string') throw invalidValue(`Operations[${i}].bulkId must be a string.`);
    return { method: verb, bulkId, version: typeof version === 'string' ? version : undefined, path, data } as Operation;
  });
  const ids = operations.map((o) => o.bulkId).filter(Boolean);
  if (new Set(ids).size !== ids.length) throw invalidValue('Each bulkId may be used once.');
  return { operations, failOnErrors: (failOnErrors as number | undefined) ?? Number.POSITIVE_INFINITY };
}

/** The bulkIds a value refers to ("bulkId:…" strings anywhere in it). */
function references(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const match = BULK_ID.exec(value);
    if (match) out.add(match[1]);
  } else if (Array.isArray(value)) for (const item of value) references(item, out);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) references(item, out);
  return out;
}

function resolved(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const match = BULK_ID.exec(value);
    return match ? ids.get(match[1]) : value;
  }
  if (Array.isArray(value)) return value.map((item) => resolved(item, ids));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolved(v, ids)]));
  return value;
}

function failure(err: unknown): { status: string; response: unknown } {
  const error = err instanceof ScimError ? err : new ScimError(500, undefined, 'This operation could not be completed.');
  return { status: String(error.status), response: error.body() };
}

/** How many independent creates of one Bulk run at once (each in its own transaction). */
const PARALLEL = 8;

/**
 * The name a create claims (a User's userName, a Group's displayName), as the name rule compares
 * names: two creates claiming one name must run in their order, the second one refused.
 */
function claim(op: Operation): string {
  const data = (op.data ?? {}) as Resource;
  const name = data.userName ?? data.displayName;
  return `${op.path.replace(/^\//, '')}:${typeof name === 'string' ? name.trim().normalize('NFC') : ''}`;
}

/**
 * From `start`, the creates that can run side by side with the same result as one after another
 * (RFC 7644 §3.7 lets a server reorder so long as the result is the same): POSTs that refer to no
 * bulkId and claim different names. Only without failOnErrors, which counts errors in order.
 */
function independent(ops: Operation[], start: number, failOnErrors: number): Operation[] {
  if (failOnErrors !== Number.POSITIVE_INFINITY) return ops.slice(start, start + 1);
  const claimed = new Set<string>();
  const run: Operation[] = [];
  for (const op of ops.slice(start)) {
    if (op.method !== 'POST' || references(op.data).size || claimed.has(claim(op))) break;
    claimed.add(claim(op));
    run.push(op);
  }
  return run.length ? run : ops.slice(start, start + 1);
}

async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Runs a BulkRequest (RFC 7644 §3.7): each operation in one transaction of its own, in order —
 * except that an operation referring to a bulkId waits until the operation that creates it has
 * run, and that independent creates run several at once. Stops after failOnErrors errors;
 * operations not run are not answered.
 */
export async function runBulk(db: Knex, scope: Scope, stores: Record<string, Store>, body: unknown) {
  const { operations, failOnErrors } = readBulk(body);
  const ids = new Map<string, string>();
  const failed = new Set<string>();
  const answers: Answer[] = [];
  let errors = 0;
  let pending = operations;
  const waitsFor = (op: Operation) =>
    [...references([...op.path.split('/'), op.data])].some(
      (ref) => !ids.has(ref) && !failed.has(ref) && operations.some((o) => o.bulkId === ref),
    );
  while (pending.length && errors < failOnErrors) {
    const waiting: Operation[] = [];
    for (let i = 0; i < pending.length && errors < failOnErrors; ) {
      if (waitsFor(pending[i])) {
        waiting.push(pending[i++]);
        continue;
      }
      const batch = independent(pending, i, failOnErrors);
      i += batch.length;
      const done = await inParallel(batch, PARALLEL, (op) => run({ db, scope, stores, ids, failed }, op));
      for (const [j, answer] of done.entries()) {
        if (Number(answer.status) >= 400) {
          errors += 1;
          if (batch[j].bulkId) failed.add(batch[j].bulkId!);
        }
        answers.push(answer);
      }
    }
    if (waiting.length === pending.length) {
      // Each one waits for another: a circle of references, which no order can run.
      for (const op of waiting) {
        answers.push({
          method: op.method,
          bulkId: op.bulkId,
          ...failure(new ScimError(409, undefined, 'The bulkIds this operation refers to form a circle.')),
        });
        if (op.bulkId) failed.add(op.bulkId);
      }
      break;
    }
    pending = waiting;
  }
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: answers };
}

/** What the operations of one Bulk share: where they run, and the bulkIds made or failed so far. */
interface Context {
  db: Knex;
  scope: Scope;
  stores: Record<string, Store>;
  ids: Map<string, string>;
  failed: Set<string>;
}

async function run(ctx: Context, op: Operation): Promise<Answer> {
  const head: Answer = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: '' };
  // Every answer but a POST's names the resource it is about (RFC 7644 §3.7), failed or not: as
  // written until its bulkIds are resolved.
  if (op.method !== 'POST') head.location = `${ctx.scope.base}/${op.path.replace(/^\//, '')}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(ctx, op, head);
    } catch (err) {
      // Creates running side by side may deadlock on the index pages they share; the loser rolled back.
      if (!isDeadlock(err) || attempt === 3) return { ...head, ...failure(err) };
    }
  }
}

async function runOnce({ db, scope, stores, ids, failed }: Context, op: Operation, head: Answer): Promise<Answer> {
  const missing = [...references([...op.path.split('/'), op.data])].find((ref) => !ids.has(ref));
  if (missing)
    throw new ScimError(409, undefined, `bulkId ${missing} ${failed.has(missing) ? 'failed' : 'is not created by this request'}.`);
  const path = op.path
    .split('/')
    .map((part) => resolved(part, ids))
    .join('/');
  const data = resolved(op.data, ids);
  const [, endpoint, id, more] = /^\/?([^/]+)(?:\/([^/]+))?(\/.*)?$/.exec(path) ?? [];
  const store = stores[endpoint ?? ''];
  if (!store || more !== undefined) throw invalidValue(`path ${op.path} names no Users or Groups resource.`);
  if (op.method === 'POST') {
    if (id !== undefined) throw invalidValue('A POST goes to /Users or /Groups.');
    const created = await store.create(db, scope, resourceBody(store.type, data));
    ids.set(op.bulkId!, created.id as string);
    return answered(head, '201', created);
  }
  if (id === undefined) throw invalidValue(`A ${op.method} goes to /${endpoint}/{id}.`);
  // Every answer but a failed POST's names the resource (RFC 7644 §3.7).
  head.location = `${scope.base}/${endpoint}/${id}`;
  if (op.method === 'DELETE') {
    await store.remove(db, scope, id, op.version);
    return { ...head, status: '204' };
  }
  const changed =
    op.method === 'PUT'
      ? await store.replace(db, scope, id, resourceBody(store.type, data), op.version)
      : await store.patch(db, scope, id, readPatch(data), op.version);
  return answered(head, '200', changed);
}

function answered(head: { method: string; bulkId?: string }, status: string, resource: Resource): Answer {
  const meta = resource.meta as { location: string; version: string };
  return { ...head, location: meta.location, version: meta.version, status };
}
