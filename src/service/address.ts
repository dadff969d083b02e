/** Which tenant of which database a request acts on; resolved and authorised before the service sees it. */
export interface TenantAddress {
  readonly database: string;
  readonly tenant: string;
  /** Who acts: the API key id (never its secret), 'admin' for the admin key, null when auth is off. Recorded in the event log. */
  readonly actor?: string | null;
}

/** The `$context` URI of a tenant, as shown on every fact. */
export function contextUri(address: TenantAddress): string {
  return `vesper://${address.database}/~${address.tenant}`;
}
