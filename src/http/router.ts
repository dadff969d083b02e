import { disconnectSignal } from './cancel.js';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { UnauthorizedError, ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { type Access, type HandledOperation, OPERATIONS, type OperationDef, type ServerInfo, isRaw, takesBody } from '../operations/index.js';
import { authorize } from '../service/authorization.js';
import { guardedAddress, principalOf } from './auth.js';
import type { RouteDeps } from './routes/deps.js';

/** What the HTTP layer serves itself, one handler per raw row of the table. */
export type RawHandlers = Readonly<Record<string, Middleware>>;

/** `/scope/{name}` → `/scope/:name`. */
export function koaPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** Every path an operation is served at. */
export function pathsOf(op: OperationDef): string[] {
  return [op.path, ...(op.aliases ?? [])];
}

function guardFor(access: Access, deps: RouteDeps, audit: string | undefined, name: string): Middleware | null {
  switch (access.on) {
    case 'tenant':
      // Progressive access: of the rows needing `tell`, only a keyless POST /tell makes a sandbox.
      return deps.tenant(access.permission, audit, name === 'tell');
    case 'database':
    case 'service':
      return async (ctx, next) => {
        // Progressive access lets keyless requests through to the tenant guard; control rows still need a key.
        if (ctx.state.anonymous === true) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
        const db = (ctx as Context & { params?: Record<string, string> }).params?.db;
        authorize(principalOf(ctx), access.permission, db === undefined ? {} : { database: db });
        await next();
      };
    case 'session':
      // MCP sessions need a key (a sandbox's token is one); keyless requests let through for progressive access stop here.
      return async (ctx, next) => {
        if (ctx.state.anonymous === true) throw new UnauthorizedError('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
        await next();
      };
    case 'public':
      return null;
  }
}

type Scalar = 'integer' | 'number' | 'boolean' | 'other';

/** The JSON type of each property of an input, to read query-string values as what they mean. */
function queryTypes(schema: z.ZodType): Map<string, Scalar> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, { type?: unknown; anyOf?: { type?: unknown }[] }> };
  const types = new Map<string, Scalar>();
  for (const [name, property] of Object.entries(json.properties ?? {})) {
    const type = property.type ?? property.anyOf?.find((branch) => branch.type !== 'null')?.type;
    types.set(name, type === 'integer' || type === 'number' || type === 'boolean' ? type : 'other');
  }
  return types;
}

function fromQuery(query: Context['query'], types: ReadonlyMap<string, Scalar>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    const type = types.get(name);
    if (typeof value !== 'string' || type === undefined || type === 'other') out[name] = value;
    else if (type === 'boolean') out[name] = value === 'true' ? true : value === 'false' ? false : value;
    else out[name] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return out;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The input of an operation: its path parameters, then the JSON body (POST) or the query string. */
function inputReader(op: HandledOperation): (ctx: Context) => unknown {
  const types = takesBody(op.method) ? null : queryTypes(op.input);
  return (ctx) => {
    const params = (ctx as Context & { params?: Record<string, string> }).params ?? {};
    const rest: unknown = types === null ? ctx.request.body : fromQuery(ctx.query, types);
    if (Object.keys(params).length === 0) return rest;
    if (rest === undefined) return { ...params };
    if (!isPlainObject(rest)) throw new ValidationError('the request body must be a JSON object');
    for (const name of Object.keys(params)) {
      if (name in rest && rest[name] !== params[name]) throw new ValidationError(`'${name}' is given by the path; the body must not name another`, { field: name });
    }
    return { ...rest, ...params };
  };
}

/** The caller of a public operation that presented no key: may read nothing of any tenant. */
const ANONYMOUS: Principal = { id: null, role: 'reader', databases: [], tenants: [], readOnly: true };

function handlerFor(op: HandledOperation, deps: RouteDeps, server: ServerInfo): Middleware {
  const read = inputReader(op);
  const what = takesBody(op.method) ? 'request body' : 'request';
  const isPublic = op.access.on === 'public';
  return async (ctx) => {
    const address = op.kind === 'tenant' ? guardedAddress(ctx) : null;
    const principal = isPublic && ctx.state.principal === undefined ? ANONYMOUS : principalOf(ctx);
    let signal: AbortSignal | undefined;
    // Made when an operation asks for it (an evaluation that may run long), not for every request.
    const transactionId = ctx.get('x-transaction-id') || undefined;
    const call = { services: deps.services, principal, server, transactionId, get signal() { return (signal ??= disconnectSignal(ctx)); } };
    const { status, output } = await op.invoke(read(ctx), call, address, what);
    ctx.status = status;
    ctx.body = output;
  };
}

/**
 * Mount every row of the operation table on the router, and nothing else: a raw row needs its
 * handler here, and a handler with no row is refused, so what is served is what is documented.
 * Returns the exact-path dispatch for the rows whose paths have no parameters (placed before the
 * router): @koa/router tries every registered path's pattern in turn on each request, a map finds
 * `POST /ask` at once. Whatever the map does not hold exactly (other methods, HEAD, a trailing
 * slash, other letter case, parameterised paths) goes on to the router, which answers as before.
 */
export function mountOperations(router: Router, deps: RouteDeps, server: ServerInfo, raw: RawHandlers, operations: readonly OperationDef[] = OPERATIONS): Middleware {
  for (const name of Object.keys(raw)) {
    if (!operations.some((op) => op.name === name && isRaw(op))) throw new TypeError(`HTTP handler '${name}' has no row in the operation table`);
  }
  const exact = new Map<string, { readonly path: string; readonly run: Middleware }>();
  for (const op of operations) {
    const handler = isRaw(op) ? raw[op.name] : handlerFor(op, deps, server);
    if (handler === undefined) throw new TypeError(`operation '${op.name}' has no HTTP handler`);
    const guard = guardFor(op.access, deps, isRaw(op) ? undefined : op.audit, op.name);
    pathsOf(op).forEach((path, index) => {
      router.register(koaPath(path), [op.method], guard ? [guard, handler] : [handler], index === 0 ? { name: op.name } : {});
      // Handlers end the request (none calls next): nothing after them runs, as behind the router.
      const run: Middleware = guard ? (ctx) => guard(ctx, () => handler(ctx, ended)) : (ctx) => handler(ctx, ended);
      if (!path.includes('{')) exact.set(`${op.method} ${path}`, { path, run });
    });
  }
  return (ctx, next) => {
    const route = exact.get(`${ctx.method} ${ctx.path}`);
    if (route === undefined) return next();
    // What the router would have set: the metrics label the route by it, handlers read params.
    Object.assign(ctx, { _matchedRoute: route.path, params: {} });
    return route.run(ctx, ended);
  };
}

const ended = () => Promise.resolve();

/** Paths that need no key (authentication lets them through): the public rows. */
export function publicPaths(operations: readonly OperationDef[] = OPERATIONS): ReadonlySet<string> {
  return new Set(operations.filter((op) => op.access.on === 'public').flatMap(pathsOf));
}

/** Whether a request is for a row whose body its handler reads as a stream (JSON lines): the JSON body parser leaves it alone. */
export function streamedBodies(operations: readonly OperationDef[] = OPERATIONS): (method: string, path: string) => boolean {
  const rows = operations.filter((op) => isRaw(op) && op.consumes !== undefined);
  const patterns = rows.flatMap((op) => pathsOf(op).map((path) => ({ method: op.method, regex: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`) })));
  return (method, path) => patterns.some((p) => p.method === method && p.regex.test(path));
}
