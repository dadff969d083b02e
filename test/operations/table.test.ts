import { EventEmitter } from 'node:events';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import test from 'ava';
import pino from 'pino';
import { createApp } from '../../src/http/app.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { koaPath, pathsOf } from '../../src/http/router.js';
import { OPERATIONS } from '../../src/operations/index.js';
import type { Services } from '../../src/service/services.js';

/** The app with the real router; creating it calls no service (only the MCP transports listen for revocations). */
function router() {
  const services = { keys: { revocations: new EventEmitter() }, access: { watch: () => () => undefined }, background: { stats: () => new Map(), active: 0 } } as unknown as Services;
  const health = { version: '0.0.0-test', auth: 'open' as const, ready: () => true, databases: () => ({ open: 0, maxOpen: 1, leases: 0, storageFull: false }) };
  return createApp({ services, logger: pino({ level: 'silent' }), health, maxBody: 1024 * 1024, authEnabled: false, rateLimit: 0 }).router;
}

/** Every (method, path) the router serves; HEAD comes with GET. */
function served(): string[] {
  return router()
    .stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${layer.path}`))
    .sort();
}

test('operation table › the router serves exactly the rows of the table', (t) => {
  const rows = OPERATIONS.flatMap((op) => pathsOf(op).map((path) => `${op.method} ${koaPath(path)}`)).sort();
  t.deepEqual(served(), rows);
  t.is(new Set(OPERATIONS.map((op) => op.name)).size, OPERATIONS.length, 'operation names are unique');
});

test('operation table › every route the router serves is in the OpenAPI document, with an operationId', (t) => {
  const document = openApiDocument('0.0.0-test', 'http://127.0.0.1:9300') as { paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>> };
  for (const route of served()) {
    const [method = '', path = ''] = route.split(' ');
    const openApiPath = path.replace(/:(\w+)/g, '{$1}');
    const operation = document.paths[openApiPath]?.[method.toLowerCase()];
    t.truthy(operation, `${route} is documented`);
    t.regex(operation?.operationId ?? '', /^[a-zA-Z]+$/, `${route} has an operationId`);
    t.truthy(Object.keys(operation?.responses ?? {}).some((code) => code.startsWith('2')), `${route} documents its success reply`);
  }
});

test('operation table › the OpenAPI document passes the Redocly linter (recommended rules) with no error', async (t) => {
  const document = openApiDocument('0.0.0-test', 'http://127.0.0.1:9300');
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config });
  const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
  t.deepEqual(errors, []);
  const warnings = problems.filter((p) => p.severity === 'warn').map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}`);
  t.deepEqual(warnings, [], 'and no warning either');
});

test('operation table › MCP tools are tenant operations, and their annotations follow the effects', (t) => {
  for (const op of OPERATIONS) {
    if (!('tool' in op) || !op.tool) continue;
    t.is(op.access.on, 'tenant', `${op.name}: a tool acts on the session's tenant`);
    if (op.effects.readOnly) t.false(op.effects.destructive, `${op.name}: a read destroys nothing`);
  }
  const readOnly = OPERATIONS.filter((op) => 'tool' in op && op.tool && op.effects.readOnly).map((op) => op.name);
  t.false(readOnly.includes('contextOptimize'), 'a context window counts accesses and can become a session: not read-only');
  t.false(readOnly.includes('contextDiff'));
});

test('operation table › adding an operation is adding a row › it is served and documented (the README contributor example)', async (t) => {
  const { z } = await import('zod');
  const { default: Router } = await import('@koa/router');
  const { NameSchema } = await import('../../src/contract/facts.js');
  const { READS, tenantOperation } = await import('../../src/operations/define.js');
  const { mountOperations } = await import('../../src/http/router.js');
  const vocabulary = tenantOperation({
    name: 'vocabulary',
    method: 'GET',
    path: '/vocabulary',
    summary: 'The predicate names of the tenant',
    access: { on: 'tenant', permission: 'ask' },
    input: z.strictObject({ scope: NameSchema.optional() }),
    output: z.object({ names: z.array(z.string()) }),
    effects: READS,
    async handler({ scope }, address, { services }) {
      return { names: (await services.listing.predicates(address, scope ?? null)).map((p) => p.name) };
    },
    tool: { name: 'vocabulary', title: 'Predicate names', description: 'List the predicate names. Example: {} -> {"names":["plan"]}' },
  });
  const table = [...OPERATIONS, vocabulary];
  const router = new Router();
  const services = { keys: { revocations: new EventEmitter() } } as unknown as Services;
  const noop = async () => undefined;
  const raw = Object.fromEntries(OPERATIONS.filter((op) => 'kind' in op && op.kind === 'raw').map((op) => [op.name, noop]));
  mountOperations(router, { services, streams: { add: () => () => undefined } as never, tenant: () => noop, rateLimit: noop }, { version: '0', auth: 'open', ready: () => true, databases: () => ({ open: 0, maxOpen: 1, leases: 0, storageFull: false }) }, raw, table);
  t.true(router.stack.some((layer) => layer.path === '/vocabulary' && layer.methods.includes('GET')));
  const document = openApiDocument('0', 'http://127.0.0.1:9300', table) as { paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[] }>> };
  t.is(document.paths['/vocabulary']?.get?.operationId, 'vocabulary');
  t.true(document.paths['/vocabulary']?.get?.parameters.some((p) => p.name === 'scope' && p.in === 'query'));
  t.throws(() => mountOperations(new Router(), { services, streams: { add: () => () => undefined } as never, tenant: () => noop, rateLimit: noop }, { version: '0', auth: 'open', ready: () => true, databases: () => ({ open: 0, maxOpen: 1, leases: 0, storageFull: false }) }, { ...raw, extra: noop }, table), {
    message: /'extra' has no row/,
  });
});
