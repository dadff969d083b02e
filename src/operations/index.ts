import * as admin from './admin.js';
import * as context from './context.js';
import type { HandledOperation, OperationDef, RawRow } from './define.js';
import * as facts from './facts.js';
import * as query from './query.js';
import * as transactions from './transactions.js';
import * as rules from './rules.js';
import * as sandbox from './sandbox.js';
import * as scopes from './scopes.js';
import * as retrieval from './search.js';
import * as settings from './settings.js';
import * as streams from './streams.js';

export { takesBody } from './define.js';
export type { Access, Call, Effects, HandledOperation, Method, OperationDef, RawRow, ServerInfo, ToolSpec } from './define.js';

/**
 * Every operation of Vesper, once. The HTTP router, the MCP tools, the OpenAPI document and the
 * CLI are generated from this list: adding an operation is adding a row here.
 */
export const OPERATIONS: readonly OperationDef[] = [
  facts.tell,
  facts.patchFact,
  facts.ask,
  query.askBatch,
  query.aggregate,
  facts.retract,
  facts.listFacts,
  facts.listPredicates,
  retrieval.search,
  rules.teach,
  rules.addRules,
  rules.listRules,
  rules.deleteRule,
  scopes.listScopes,
  scopes.forkScope,
  scopes.diffScopes,
  scopes.mergeScopes,
  scopes.deleteScope,
  transactions.txBegin,
  transactions.txCommit,
  transactions.txRollback,
  scopes.revertScope,
  scopes.history,
  context.contextOptimize,
  context.contextDiff,
  context.contextClear,
  streams.events,
  admin.readAudit,
  admin.createDatabase,
  admin.listDatabases,
  admin.deleteDatabase,
  admin.listTenants,
  admin.createTenant,
  admin.deleteTenant,
  admin.purgeTenant,
  rules.listDatabaseRules,
  rules.addDatabaseRules,
  rules.deleteDatabaseRule,
  settings.getDatabaseSettings,
  settings.putDatabaseSettings,
  settings.getTenantSettings,
  settings.putTenantSettings,
  settings.readUsage,
  admin.createKey,
  admin.listKeys,
  admin.revokeKey,
  sandbox.issueClaim,
  sandbox.claimSandbox,
  admin.health,
  admin.ready,
  streams.metrics,
  streams.exportTenant,
  streams.importTenant,
  streams.openapi,
  streams.mcpPost,
  streams.mcpGet,
  streams.mcpDelete,
  streams.mcpSse,
  streams.mcpMessages,
];

export const isRaw = (op: OperationDef): op is RawRow => 'kind' in op && op.kind === 'raw';
export const isHandled = (op: OperationDef): op is HandledOperation => !isRaw(op);

/** The operations with a handler, by name (what the CLI and the tests look up). */
export function operation(name: string): HandledOperation {
  const found = OPERATIONS.find((op) => op.name === name);
  if (!found || !isHandled(found)) throw new TypeError(`no operation named '${name}'`);
  return found;
}

export { EventsQuerySchema } from './streams.js';
