import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import anyTest, { type TestFn } from 'ava';
import { OPERATIONS } from '../../src/operations/index.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { connect } from './client.js';

const test = anyTest as TestFn<{ server: TestServer; client: Client; tools: Tool[] }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
  t.context.client = await connect(t.context.server.url, 'streamable', { 'X-Tenant-ID': 'structured' });
  t.context.tools = (await t.context.client.listTools()).tools;
});
test.after.always(async (t) => {
  await t.context.client?.close();
  await t.context.server?.close();
});

/** Keywords that say what a value is; a (sub)schema with none of them is one many clients cannot read. */
const SHAPING = ['type', 'anyOf', 'oneOf', 'allOf', '$ref', 'enum', 'const', 'not'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'propertyNames', 'contains', 'not', 'if', 'then', 'else'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

/**
 * The constructs the MCP Inspector's schema portability check flags: `type` as an array
 * (`["string","null"]`), boolean schemas, and schemas with no keyword saying what the value is.
 */
function unportable(schema: unknown, path: string, found: string[]): string[] {
  if (typeof schema === 'boolean') {
    found.push(`${path}: boolean schema`);
    return found;
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    found.push(`${path}: not a schema`);
    return found;
  }
  const node = schema as Record<string, unknown>;
  if (Array.isArray(node.type)) found.push(`${path}: type is an array ${JSON.stringify(node.type)}`);
  if (!SHAPING.some((k) => k in node)) found.push(`${path}: no keyword says what the value is ${JSON.stringify(node)}`);
  for (const key of SUBSCHEMA_MAPS) {
    for (const [name, sub] of Object.entries((node[key] ?? {}) as Record<string, unknown>)) unportable(sub, `${path}.${key}.${name}`, found);
  }
  for (const key of SUBSCHEMAS) {
    if (key === 'additionalProperties' && node[key] === false) continue; // closed objects are read the same everywhere
    if (key in node) unportable(node[key], `${path}.${key}`, found);
  }
  for (const key of SUBSCHEMA_LISTS) ((node[key] ?? []) as unknown[]).forEach((sub, i) => unportable(sub, `${path}.${key}[${i}]`, found));
  return found;
}

test('portability checker › flags what it must', (t) => {
  t.is(unportable({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: {}, c: true, d: { description: 'x' } } }, '$', []).length, 4);
  t.deepEqual(unportable({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'null' }] } } }, '$', []), []);
});

test('tools/list › every tool › has an object outputSchema, and no schema construct the Inspector flags', (t) => {
  for (const tool of t.context.tools) {
    t.is(tool.inputSchema.type, 'object', tool.name);
    t.is(tool.outputSchema?.type, 'object', `${tool.name} has an outputSchema`);
    t.deepEqual(unportable(tool.inputSchema, `${tool.name}.inputSchema`, []), []);
    t.deepEqual(unportable(tool.outputSchema, `${tool.name}.outputSchema`, []), []);
  }
});

test('tools/list › annotations › come from the operation effects: reads are read-only, context windows are not', (t) => {
  const byName = new Map(t.context.tools.map((tool) => [tool.name, tool]));
  for (const name of ['ask', 'list_rules', 'list_scopes', 'diff_scopes', 'list_facts', 'list_predicates']) t.true(byName.get(name)?.annotations?.readOnlyHint, name);
  for (const name of ['context_optimize', 'context_diff', 'context_clear', 'tell', 'teach']) t.false(byName.get(name)?.annotations?.readOnlyHint, name);
  for (const name of ['retract', 'forget', 'delete_scope', 'context_clear']) t.true(byName.get(name)?.annotations?.destructiveHint, name);
  t.false(byName.get('tell')?.annotations?.destructiveHint);
});

/** Calls of every tool, in an order that gives each something to work on. */
const CALLS: [string, Record<string, unknown>][] = [
  ['tell', { facts: [{ predicate: 'parent', args: ['ann', 'bob'] }, { predicate: 'parent', args: ['bob', 'cy'], metadata: { source: 'crm', tags: ['a'] } }, { predicate: 'vip', args: ['cy'], negated: true }] }],
  ['teach', { text: 'ancestor(?x, ?y) :- parent(?x, ?y).\nancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).' }],
  ['teach', { head: { predicate: 'grandparent', args: ['?x', '?z'] }, body: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'parent', args: ['?y', '?z'] }] }],
  ['ask', { predicate: 'parent', args: ['ann', '?who'] }],
  ['ask', { predicate: 'ancestor', args: ['ann', '?who'], withProof: true }],
  ['ask', { query: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: 'ancestor', args: ['?y', '?z'] }] }],
  ['ask', { predicate: 'nothing', args: [] }],
  ['list_rules', {}],
  ['list_facts', { limit: 1 }],
  ['list_predicates', {}],
  ['search', { query: 'parent ann', limit: 3 }],
  ['fork_scope', { source: 'main', target: 'what-if' }],
  ['tell', { predicate: 'parent', args: ['cy', 'dee'], scope: 'what-if' }],
  ['diff_scopes', { source: 'what-if', target: 'main' }],
  ['list_scopes', {}],
  ['merge_scopes', { source: 'what-if', target: 'main', strategy: 'SOURCE_WINS' }],
  ['merge_scope', { source: 'what-if', target: 'main' }],
  ['history', { predicate: 'parent', args: ['ann', 'bob'] }],
  ['revert_scope', { scope: 'what-if', to: 0 }],
  ['context_optimize', { sessionId: 's1', maxFacts: 10, goals: [{ predicate: 'ancestor', args: ['ann', '?w'] }] }],
  ['tell', { predicate: 'vip', args: ['cy'], scope: 'crm' }],
  ['context_diff', { sessionId: 's1', maxFacts: 10, includeContradictions: true }],
  ['context_clear', { sessionId: 's1' }],
  ['retract', { predicate: 'parent', args: ['cy', '?'] }],
  ['forget', { predicate: 'vip', args: ['?'] }],
  ['delete_scope', { scope: 'what-if' }],
  ['update_fact', { predicate: 'parent', args: ['ann', 'bob'], confidence: 0.5 }],
  ['aggregate', { predicate: 'parent', args: ['?x', '?y'], operation: 'COUNT', groupBy: ['x'] }],
  ['ask_batch', { queries: [{ predicate: 'parent', args: ['?x', '?y'] }, { predicate: '?bad' }] }],
  ['tx_begin', {}],
  ['tell', { predicate: 'parent', args: ['eve', 'fay'], transactionId: '$tx' }],
  ['tx_commit', { id: '$tx' }],
  ['tx_begin', {}],
  ['tx_rollback', { id: '$tx' }],
];

/** `'$tx'` stands for the transactionId of the last tx_begin. */
const withTransaction = (args: Record<string, unknown>, tx: string) => Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v === '$tx' ? tx : v]));

test('tools/call › every tool › returns structuredContent that validates against its outputSchema, and the same JSON as text', async (t) => {
  const outputs = new Map(OPERATIONS.flatMap((op) => ('tool' in op && op.tool ? [op.tool.name, ...(op.tool.aliases ?? [])].map((name) => [name, op.output] as const) : [])));
  const called = new Set<string>();
  let tx = '';
  for (const [name, args] of CALLS) {
    // The SDK client itself validates structuredContent against the tool's outputSchema (and throws if it does not match).
    const result = (await t.context.client.callTool({ name, arguments: withTransaction(args, tx) })) as CallToolResult;
    if (name === 'tx_begin') tx = String(result.structuredContent?.transactionId);
    t.falsy(result.isError, `${name}: ${JSON.stringify(result.content)}`);
    t.truthy(result.structuredContent, `${name} has structuredContent`);
    const text = result.content[0];
    t.deepEqual(text?.type === 'text' ? JSON.parse(text.text) : null, result.structuredContent, `${name}: text and structured content agree`);
    const contract = outputs.get(name);
    t.true(contract?.safeParse(result.structuredContent).success, `${name}: the reply matches its zod contract`);
    called.add(name);
  }
  t.deepEqual([...called].sort(), t.context.tools.map((tool) => tool.name).sort(), 'every tool was called');
});

test('tools/call › a failure › is an isError result carrying the envelope, without structuredContent', async (t) => {
  const result = (await t.context.client.callTool({ name: 'fork_scope', arguments: { source: 'main' } })) as CallToolResult;
  t.true(result.isError);
  t.is(result.structuredContent, undefined);
  const text = result.content[0];
  t.is(text?.type === 'text' ? JSON.parse(text.text).code : null, 'VALIDATION_ERROR');
});
