import { ForbiddenError } from '../domain/errors.js';
import { type Principal, ROLE_RANK, type Role, grantCell, grants } from '../domain/principal.js';

/**
 * The role matrix: the least role each operation needs. One table, mirrored in the README and
 * tested cell by cell. Public keys never get past `reader`.
 */
export const ROLE_MATRIX = {
  ask: 'reader',
  'context.read': 'reader',
  'scopes.list': 'reader',
  'scopes.diff': 'reader',
  'rules.list': 'reader',
  'events.read': 'reader',
  'ops.read': 'reader',
  tell: 'writer',
  retract: 'writer',
  'rules.write': 'writer',
  'scopes.write': 'writer',
  'audit.read': 'writer',
  'admin.database': 'admin',
  'admin.global': 'admin',
} as const satisfies Record<string, Role>;

export type Operation = keyof typeof ROLE_MATRIX;

export interface AccessTarget {
  readonly database?: string;
  readonly tenant?: string;
}

/**
 * Throws FORBIDDEN unless the principal may perform the operation on the target. Operations on
 * the whole service (keys, databases) need an admin whose grant covers every database and tenant;
 * operations on a database as a whole need one that covers every tenant of it.
 */
export function authorize(principal: Principal, operation: Operation, target: AccessTarget): void {
  const needed = ROLE_MATRIX[operation];
  const effective: Role = principal.readOnly ? 'reader' : principal.role;
  if (ROLE_RANK[effective] < ROLE_RANK[needed]) {
    throw new ForbiddenError(`this key (role ${effective}) cannot perform ${operation}: it needs role ${needed}`, { operation, needed });
  }
  if (operation === 'admin.global' && (principal.databases !== '*' || principal.tenants !== '*')) {
    throw new ForbiddenError('this operation needs an admin key not limited to some databases or tenants', { operation });
  }
  // A database's tenants and rules concern every tenant in it: a key limited to some tenants
  // must not list, create or delete the others, nor change the rules they all query through.
  if (operation === 'admin.database' && principal.tenants !== '*') {
    throw new ForbiddenError('this operation needs an admin key not limited to some tenants', { operation });
  }
  if (target.database !== undefined && !grants(principal.databases, target.database)) {
    throw new ForbiddenError(`this key has no access to database '${target.database}'`, { database: target.database });
  }
  if (target.tenant !== undefined && !grants(principal.tenants, target.tenant)) {
    throw new ForbiddenError(`this key has no access to tenant '${target.tenant}'`, { tenant: target.tenant });
  }
  if (target.database !== undefined && target.tenant !== undefined && principal.except?.includes(grantCell(target.database, target.tenant))) {
    throw new ForbiddenError(`this key has no access to tenant '${target.tenant}' of database '${target.database}' any more: it was deleted`, {
      database: target.database,
      tenant: target.tenant,
    });
  }
}
