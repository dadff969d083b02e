/** Who is calling, once their key has been checked. */
export type Role = 'reader' | 'writer' | 'admin';

export const ROLE_RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

/** '*' = every database / tenant. */
export type Grant = readonly string[] | '*';

export interface Principal {
  /** Recorded as the actor of writes: a key id, 'admin' (the admin key), or null in open mode. */
  readonly id: string | null;
  readonly role: Role;
  readonly databases: Grant;
  readonly tenants: Grant;
  /** Public keys (vsp_pk_…) are read-only whatever their role. */
  readonly readOnly: boolean;
  /**
   * Cells (`<database>/<tenant>`) taken out of the grant because that tenant was deleted while
   * the key also covers other databases: the grant is narrowed by exactly what was deleted.
   */
  readonly except?: readonly string[];
}

/** The admin key, and everybody when no admin key is configured (development mode). */
export const ADMIN_PRINCIPAL: Principal = { id: 'admin', role: 'admin', databases: '*', tenants: '*', readOnly: false };
export const OPEN_PRINCIPAL: Principal = { ...ADMIN_PRINCIPAL, id: null };

export function grants(grant: Grant, name: string): boolean {
  return grant === '*' || grant.includes(name);
}

/** `<database>/<tenant>`: names never contain '/', so a cell is unambiguous. */
export function grantCell(database: string, tenant: string): string {
  return `${database}/${tenant}`;
}
