import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import type { Operation } from '../service/authorization.js';
import type { Services } from '../service/services.js';
import { type McpSession, sessionAddress, sessionUri } from './session.js';

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

/**
 * Read-only views of the session's tenant: its vocabulary (predicates with counts) and its rules.
 * Failures are protocol errors here (resources have no isError), with the error code in the message.
 */
export function registerResources(server: McpServer, services: Services, session: McpSession): void {
  const address = sessionAddress(session);
  const base = sessionUri(session);
  server.registerResource(
    'predicates',
    `${base}/predicates`,
    {
      title: 'Predicates of this tenant',
      description: 'Every predicate the tenant\'s stored facts use, with arity, fact counts and the scopes holding them. Read it first to learn what you can ask about.',
      mimeType: 'application/json',
    },
    (uri) =>
      guarded(services, session, 'ask', async () => json(uri, { predicates: await services.predicates.list(address) })),
  );
  server.registerResource(
    'rules',
    `${base}/rules`,
    {
      title: 'Rules of this tenant',
      description: 'The rules that apply to this tenant (database rules marked system: true, then its own), as list_rules returns them.',
      mimeType: 'application/json',
    },
    (uri) => guarded(services, session, 'rules.list', async () => json(uri, { rules: await services.rules.list(address) })),
  );
}

/** A read inside the tenant's gate, with the key's grants as they are now (see callTool in server.ts). */
async function guarded<T>(services: Services, session: McpSession, operation: Operation, read: () => Promise<T>): Promise<T> {
  const address = sessionAddress(session);
  const leave = services.access.enter(address);
  try {
    services.access.recheck(session.principal, operation, address);
    return await read();
  } finally {
    leave();
  }
}
