import { z } from 'zod';
import { NameSchema } from '../contract/facts.js';
import { ForkReply, MergeReply, ScopeDeletedReply, ScopeDiffReply, ScopesReply } from '../contract/replies.js';
import { DiffSchema, ForkSchema, MergeSchema } from '../contract/scopes.js';
import { HistoryReply, HistorySchema, RevertReply, RevertSchema } from '../contract/history.js';
import { ValidationError } from '../domain/errors.js';
import { contextUri } from '../service/address.js';
import { presentDiffPage, presentMerge } from '../service/replies.js';
import { READS, tenantOperation } from './define.js';

/** The other spellings of source/target, accepted for clients of the service Vesper replaces. */
const ALIASES = ['sourceScope', 'scopeA', 'targetScope', 'scopeB'];
const PAIR = { source: 'The scope to read from (e.g. "hypothesis-1").', target: 'The other scope (e.g. "main").' };

export const listScopes = tenantOperation({
  name: 'listScopes',
  method: 'GET',
  path: '/scopes',
  summary: 'List scopes with their fact counts and bases',
  access: { on: 'tenant', permission: 'scopes.list' },
  input: z.strictObject({}),
  output: ScopesReply,
  effects: READS,
  async handler(_input, address, { services }) {
    const details = await services.scopes.list(address);
    return { scopes: details.map((d) => d.name), count: details.length, details };
  },
  tool: {
    name: 'list_scopes',
    title: 'List scopes',
    description: [
      'List the scopes (branches) of this tenant with their fact counts and the scope each was forked from. "main" always exists. Takes no arguments.',
      'Example reply: {"scopes":["hypothesis-1","main"],"count":2,"details":[{"name":"main","base":null,"facts":42,"createdAt":1712000000000},...]}.',
    ].join('\n'),
  },
});

export const forkScope = tenantOperation({
  name: 'forkScope',
  method: 'POST',
  path: '/scope/fork',
  summary: 'Fork a scope (O(1): the new scope is a layer over its source)',
  access: { on: 'tenant', permission: 'scopes.write' },
  input: ForkSchema,
  output: ForkReply,
  effects: { readOnly: false, destructive: false, idempotent: false },
  audit: 'scopes.write',
  status: 201,
  transactional: true,
  async handler(input, address, { services, principal, transactionId }) {
    const asOf = 'asOf' in input ? input.asOf : undefined;
    if (transactionId !== undefined) {
      if (asOf !== undefined) throw new ValidationError('a fork at a past moment (asOf) cannot be part of a transaction', { field: 'asOf' });
      return services.transactions.fork(address, principal, transactionId, input.source, input.target);
    }
    return services.scopes.fork(address, input.source, input.target, asOf);
  },
  tool: {
    name: 'fork_scope',
    title: 'Fork a scope',
    hide: ALIASES,
    describe: {
      source: 'The scope to branch from, usually "main".',
      target: 'Name of the new scope: 1-64 characters of [A-Za-z0-9_.-].',
      asOf: 'Fork the source as it stood at this past moment (epoch ms or ISO time) instead of now.',
    },
    description: [
      'Create a new scope (a branch) that starts with everything in the source scope; writes to it do not touch the source. Instant whatever the size.',
      'Use it to explore a hypothesis or a what-if without changing "main", then diff_scopes and merge_scopes (or delete_scope).',
      'Example: {"source":"main","target":"hypothesis-1"} -> {"scope":"hypothesis-1","base":"main"}. Fails with CONFLICT if the target exists.',
    ].join('\n'),
  },
});

export const diffScopes = tenantOperation({
  name: 'diffScopes',
  heavy: true,
  method: 'POST',
  path: '/scope/diff',
  summary: 'Diff two scopes (paged)',
  access: { on: 'tenant', permission: 'scopes.diff' },
  input: DiffSchema,
  output: ScopeDiffReply,
  effects: READS,
  async handler({ source, target, limit, cursor }, address, { services, signal }) {
    const page = await services.scopes.diff(address, source, target, limit, cursor, signal);
    return presentDiffPage(source, target, page, contextUri(address));
  },
  tool: {
    name: 'diff_scopes',
    title: 'Compare two scopes',
    hide: ALIASES,
    describe: { ...PAIR, limit: 'Rows per page (default 1000).', cursor: 'The "cursor" of the previous page.' },
    description: [
      'Show what differs between two scopes: facts only in the source, only in the target, how many are in both, and conflicts (the same fact with opposite truth or different confidence/metadata).',
      'Use it before merge_scopes to see what a merge would bring, or to review what a hypothesis changed.',
      'Example: {"source":"hypothesis-1","target":"main"} -> {"onlyInSource":[...],"onlyInTarget":[...],"inBoth":12,"conflicts":[]}.',
    ].join('\n'),
  },
});

export const mergeScopes = tenantOperation({
  name: 'mergeScopes',
  heavy: true,
  method: 'POST',
  path: '/scope/merge',
  summary: 'Three-way merge of a scope into another (atomic)',
  access: { on: 'tenant', permission: 'scopes.write' },
  input: MergeSchema,
  output: MergeReply,
  effects: { readOnly: false, destructive: true, idempotent: false },
  audit: 'scopes.write',
  transactional: true,
  async handler({ source, target, strategy }, address, { services, principal, transactionId, signal }) {
    const result = transactionId === undefined ? await services.scopes.merge(address, source, target, strategy, signal) : await services.transactions.merge(address, principal, transactionId, source, target, strategy);
    return presentMerge(source, target, result, contextUri(address));
  },
  tool: {
    name: 'merge_scopes',
    title: 'Merge a scope into another',
    aliases: ['merge_scope'],
    hide: ALIASES,
    describe: {
      source: 'The scope whose changes are applied (e.g. "hypothesis-1").',
      target: 'The scope that receives them (e.g. "main").',
      strategy: 'On conflicts: REJECT (default: fail, change nothing), SOURCE_WINS, TARGET_WINS or KEEP_BOTH.',
    },
    description: [
      'Apply the changes made in the source scope since it was forked to the target scope, atomically (three-way: a fact retracted in the source is removed from the target too).',
      'Use it to adopt a hypothesis you explored in a forked scope. With strategy REJECT a conflict fails with CONFLICT and nothing changes.',
      'Example: {"source":"hypothesis-1","target":"main","strategy":"SOURCE_WINS"} -> {"result":"merged","merged":3,"conflictsResolved":1,...}.',
    ].join('\n'),
  },
});

/** `DELETE /scope/{name}`; MCP clients also say `{"scope": …}`. */
const DeleteScopeSchema = z
  .strictObject({ scope: NameSchema.optional(), name: NameSchema.optional() })
  .transform((v, ctx) => {
    const scope = v.scope ?? v.name;
    if (scope === undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: 'scope is required' });
    return { scope: scope ?? '' };
  });

export const deleteScope = tenantOperation({
  name: 'deleteScope',
  method: 'DELETE',
  path: '/scope/{name}',
  summary: 'Delete a scope and the facts written in it',
  access: { on: 'tenant', permission: 'scopes.write' },
  input: DeleteScopeSchema,
  output: ScopeDeletedReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  audit: 'scopes.write',
  async handler({ scope }, address, { services }) {
    if (scope === '') throw new ValidationError('scope is required');
    return services.scopes.remove(address, scope);
  },
  tool: {
    name: 'delete_scope',
    title: 'Delete a scope',
    hide: ['name'],
    describe: { scope: 'The scope to delete, e.g. "hypothesis-1".' },
    description: [
      'Delete a scope and the facts written in it. Use it to abandon a hypothesis you forked and will not merge.',
      'Example: {"scope":"hypothesis-1"} -> {"deleted":true,"scope":"hypothesis-1"}.',
    ].join('\n'),
  },
});

export const revertScope = tenantOperation({
  name: 'revertScope',
  heavy: true,
  method: 'POST',
  path: '/scope/revert',
  summary: 'Put a scope back as it stood at a past moment (one atomic batch, itself revertible)',
  access: { on: 'tenant', permission: 'scopes.write' },
  input: RevertSchema,
  output: RevertReply,
  effects: { readOnly: false, destructive: true, idempotent: true },
  audit: 'scopes.write',
  async handler({ scope, to }, address, { services }) {
    return services.scopes.revert(address, scope, to);
  },
  tool: {
    name: 'revert_scope',
    title: 'Revert a scope to a past moment',
    describe: { scope: 'The scope to put back, e.g. "main".', to: 'The past moment (epoch ms or ISO time) whose state the scope gets back.' },
    description: [
      'Undo every change made to a scope since a past moment: facts told since are retracted, facts changed or retracted since get back their state then.',
      'Use it to roll back a bad import or a wrong batch of writes. The revert is itself recorded in history, so it can be reverted too.',
      'Example: {"scope":"main","to":"2026-11-26T09:00:00Z"} -> {"scope":"main","to":1795683600000,"restored":2,"retracted":5,"unchanged":0}.',
    ].join('\n'),
  },
});

export const history = tenantOperation({
  name: 'history',
  method: 'GET',
  path: '/history',
  summary: "Every version of a predicate's facts (or of one fact) in a scope, newest first (paged)",
  access: { on: 'tenant', permission: 'ask' },
  input: HistorySchema,
  output: HistoryReply,
  effects: READS,
  async handler(input, address, { services }) {
    return services.history.list(address, input);
  },
  tool: {
    name: 'history',
    title: 'Versions of facts',
    describe: {
      predicate: 'The predicate whose facts\' versions to list.',
      args: 'One fact\'s arguments (a JSON array); omit for every fact of the predicate.',
      scope: 'The scope whose history to read (default "main").',
      limit: 'Versions per page (default 100, at most 10,000).',
      cursor: 'The "cursor" of the previous page, to continue.',
    },
    description: [
      'List what was stored about a fact over time: every version told, updated or retracted, with its time, actor, version, confidence and metadata, newest first.',
      'Use it to see how a belief changed, who changed it, or what a fact said before a correction; ask with "asOf" gives the whole state at a moment.',
      'Example: {"predicate":"plan","args":["acme","?"]} is not a pattern; give exact args: {"predicate":"plan","args":["acme","enterprise"]} -> {"versions":[{"op":"updated","version":2,...},{"op":"told","version":1,...}],"cursor":null}.',
    ].join('\n'),
  },
});
