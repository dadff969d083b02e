import { z } from 'zod';
import { NameSchema } from '../../contract/facts.js';
import { DiffSchema, ForkSchema, MergeSchema } from '../../contract/scopes.js';
import { ValidationError } from '../../domain/errors.js';
import { contextUri } from '../../service/address.js';
import { presentDiffPage, presentMerge } from '../../service/replies.js';
import { DESTRUCTIVE, READ_ONLY, WRITE, defineTool } from './define.js';

/** The other spellings of source/target, accepted for clients of the service Vesper replaces. */
const ALIASES = ['sourceScope', 'scopeA', 'targetScope', 'scopeB'];
const PAIR = { source: 'The scope to read from (e.g. "hypothesis-1").', target: 'The other scope (e.g. "main").' };

export const forkScope = defineTool({
  name: 'fork_scope',
  title: 'Fork a scope',
  operation: 'scopes.write',
  schema: ForkSchema,
  annotations: WRITE,
  advertise: { hide: ALIASES, describe: { source: 'The scope to branch from, usually "main".', target: 'Name of the new scope: 1-64 characters of [A-Za-z0-9_.-].' } },
  description: [
    'Create a new scope (a branch) that starts with everything in the source scope; writes to it do not touch the source. Instant whatever the size.',
    'Use it to explore a hypothesis or a what-if without changing "main", then diff_scopes and merge_scopes (or delete_scope).',
    'Example: {"source":"main","target":"hypothesis-1"} -> {"scope":"hypothesis-1","base":"main"}. Fails with CONFLICT if the target exists.',
  ].join('\n'),
  async run(services, address, { source, target }) {
    return services.scopes.fork(address, source, target);
  },
});

export const diffScopes = defineTool({
  name: 'diff_scopes',
  title: 'Compare two scopes',
  operation: 'scopes.diff',
  schema: DiffSchema,
  annotations: READ_ONLY,
  advertise: { hide: ALIASES, describe: { ...PAIR, limit: 'Rows per page (default 1000).', cursor: 'The "cursor" of the previous page.' } },
  description: [
    'Show what differs between two scopes: facts only in the source, only in the target, how many are in both, and conflicts (the same fact with opposite truth or different confidence/metadata).',
    'Use it before merge_scopes to see what a merge would bring, or to review what a hypothesis changed.',
    'Example: {"source":"hypothesis-1","target":"main"} -> {"onlyInSource":[...],"onlyInTarget":[...],"inBoth":12,"conflicts":[]}.',
  ].join('\n'),
  async run(services, address, { source, target, limit, cursor }) {
    const page = await services.scopes.diff(address, source, target, limit, cursor);
    return presentDiffPage(source, target, page, contextUri(address));
  },
});

export const mergeScopes = defineTool({
  name: 'merge_scopes',
  title: 'Merge a scope into another',
  operation: 'scopes.write',
  schema: MergeSchema,
  annotations: WRITE,
  advertise: {
    hide: ALIASES,
    describe: {
      source: 'The scope whose changes are applied (e.g. "hypothesis-1").',
      target: 'The scope that receives them (e.g. "main").',
      strategy: 'On conflicts: REJECT (default: fail, change nothing), SOURCE_WINS, TARGET_WINS or KEEP_BOTH.',
    },
  },
  description: [
    'Apply the changes made in the source scope since it was forked to the target scope, atomically (three-way: a fact retracted in the source is removed from the target too).',
    'Use it to adopt a hypothesis you explored in a forked scope. With strategy REJECT a conflict fails with CONFLICT and nothing changes.',
    'Example: {"source":"hypothesis-1","target":"main","strategy":"SOURCE_WINS"} -> {"result":"merged","merged":3,"conflictsResolved":1,...}.',
  ].join('\n'),
  async run(services, address, { source, target, strategy }) {
    return presentMerge(source, target, await services.scopes.merge(address, source, target, strategy), contextUri(address));
  },
});

export const listScopes = defineTool({
  name: 'list_scopes',
  title: 'List scopes',
  operation: 'scopes.list',
  schema: z.strictObject({}),
  annotations: READ_ONLY,
  description: [
    'List the scopes (branches) of this tenant with their fact counts and the scope each was forked from. "main" always exists. Takes no arguments.',
    'Example reply: {"scopes":["hypothesis-1","main"],"count":2,"details":[{"name":"main","base":null,"facts":42,"createdAt":1712000000000},...]}.',
  ].join('\n'),
  async run(services, address) {
    const details = await services.scopes.list(address);
    return { scopes: details.map((d) => d.name), count: details.length, details };
  },
});

const DeleteScopeSchema = z
  .strictObject({ scope: NameSchema.optional(), name: NameSchema.optional() })
  .transform((v, ctx) => {
    const scope = v.scope ?? v.name;
    if (scope === undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: 'scope is required' });
    return { scope: scope ?? '' };
  });

export const deleteScope = defineTool({
  name: 'delete_scope',
  title: 'Delete a scope',
  operation: 'scopes.write',
  schema: DeleteScopeSchema,
  annotations: DESTRUCTIVE,
  advertise: { hide: ['name'], describe: { scope: 'The scope to delete, e.g. "hypothesis-1".' } },
  description: [
    'Delete a scope and the facts written in it. Use it to abandon a hypothesis you forked and will not merge.',
    'Example: {"scope":"hypothesis-1"} -> {"deleted":true,"scope":"hypothesis-1"}.',
  ].join('\n'),
  async run(services, address, { scope }) {
    if (scope === '') throw new ValidationError('scope is required');
    return services.scopes.remove(address, scope);
  },
});
