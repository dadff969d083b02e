import { ConflictError } from '../domain/errors.js';

interface Gate {
  inFlight: number;
  closed: boolean;
  /** What closed it ('deleted', 'imported'): said to the requests refused meanwhile. */
  reason?: string;
  drained: (() => void) | null;
}

const keyOf = (database: string, tenant: string) => `${database}/${tenant}`;

/**
 * Requests in flight per tenant, so that deleting a tenant and serving it never overlap. A
 * request enters before it is authorised and leaves when it is answered; a deletion closes the
 * gate (new requests get 409), waits for those inside, and reopens it once done. A request
 * authorised before the deletion can therefore not write into, nor read, the tenant re-created
 * under the same name afterwards: it either finished first, or is re-authorised after.
 */
export class TenantGate {
  private readonly gates = new Map<string, Gate>();

  /** Enter the tenant (409 while it is being deleted); returns the function that leaves it. */
  enter(database: string, tenant: string): () => void {
    const key = keyOf(database, tenant);
    let gate = this.gates.get(key);
    if (gate?.closed) throw new ConflictError(`tenant '${tenant}' is being ${gate.reason ?? 'deleted'}`, { database, tenant });
    if (!gate) {
      gate = { inFlight: 0, closed: false, drained: null };
      this.gates.set(key, gate);
    }
    gate.inFlight++;
    let left = false;
    const entered = gate;
    return () => {
      if (left) return;
      left = true;
      entered.inFlight--;
      if (entered.inFlight > 0) return;
      if (entered.drained) entered.drained();
      else if (!entered.closed) this.gates.delete(key);
    };
  }

  /** Close the tenant to new requests and wait for those inside; returns the function that reopens it. */
  async close(database: string, tenant: string, reason = 'deleted'): Promise<() => void> {
    const key = keyOf(database, tenant);
    const gate = this.gates.get(key) ?? { inFlight: 0, closed: false, drained: null };
    if (gate.closed) throw new ConflictError(`tenant '${tenant}' is already being ${gate.reason ?? 'deleted'}`, { database, tenant });
    gate.closed = true;
    gate.reason = reason;
    this.gates.set(key, gate);
    if (gate.inFlight > 0) await new Promise<void>((resolve) => (gate.drained = resolve));
    gate.drained = null;
    return () => {
      gate.closed = false;
      if (gate.inFlight === 0) this.gates.delete(key);
    };
  }
}
