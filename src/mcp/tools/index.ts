import { contextClear, contextDiff, contextOptimize } from './context.js';
import type { ToolDefinition } from './define.js';
import { ask, retract, tell } from './facts.js';
import { listRules, teach } from './rules.js';
import { deleteScope, diffScopes, forkScope, listScopes, mergeScopes } from './scopes.js';

function alias(name: string, of: ToolDefinition): ToolDefinition {
  return { ...of, name, description: `Same as "${of.name}" (an alias kept for older clients).\n${of.description}` };
}

/** Every tool of a Vesper MCP session, in the order a model sees them; the aliases last. */
export const TOOLS: readonly ToolDefinition[] = [
  tell,
  ask,
  retract,
  teach,
  listRules,
  forkScope,
  diffScopes,
  mergeScopes,
  listScopes,
  deleteScope,
  contextOptimize,
  contextDiff,
  contextClear,
  alias('merge_scope', mergeScopes),
  alias('forget', retract),
];
