/**
 * Stored form of events. From format 2 the facts a fact event lists (`details.facts`, one
 * `{predicate, args, negated, scope, version}` per fact) are stored packed: predicates and scopes
 * once each, and per fact one row `[predicate index, scope index, version, negated 0|1, ...args]`.
 * A bulk tell's event lists every fact, so this is most of its bytes (about 85 bytes a fact
 * unpacked, 20–30 packed). Readers get the unpacked form back; format-1 events (never packed)
 * read as they are.
 */
const PACKED = 'packed';

interface EventFact {
  readonly predicate: string;
  readonly args: readonly unknown[];
  readonly negated: boolean;
  readonly scope: string;
  readonly version: number;
}

interface Packed {
  readonly p: string[];
  readonly s: string[];
  readonly f: unknown[][];
}

const isEventFact = (f: unknown): f is EventFact => {
  const x = f as EventFact;
  return typeof x === 'object' && x !== null && typeof x.predicate === 'string' && Array.isArray(x.args) && typeof x.negated === 'boolean' && typeof x.scope === 'string' && typeof x.version === 'number';
};

/** The stored text of an event (any JSON object; `details.facts` packed when it is a list of facts). */
export function encodeEventValue(event: object): string {
  const details = (event as { readonly details?: Record<string, unknown> }).details;
  const facts = details?.facts;
  if (!Array.isArray(facts) || facts.length === 0 || !facts.every(isEventFact)) return JSON.stringify(event);
  const predicates = new Map<string, number>();
  const scopes = new Map<string, number>();
  const index = (map: Map<string, number>, name: string) => {
    let i = map.get(name);
    if (i === undefined) map.set(name, (i = map.size));
    return i;
  };
  const rows = facts.map((f) => [index(predicates, f.predicate), index(scopes, f.scope), f.version, f.negated ? 1 : 0, ...f.args]);
  const packed: Packed = { p: [...predicates.keys()], s: [...scopes.keys()], f: rows };
  // Not `{ ...rest, packed: … }`: a property added after a spread takes V8's slow path (~0.5 µs, per tell).
  const stored: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(details as Record<string, unknown>)) if (name !== 'facts') stored[name] = value;
  stored[PACKED] = packed;
  return JSON.stringify(Object.assign({}, event, { details: stored }));
}

/**
 * The parsed stored value of an event, unpacked (see encodeEventValue); undefined when a packed
 * list is malformed (the caller reports corruption). The result's shape is still to be checked.
 */
export function unpackEventValue(value: unknown): unknown {
  const details = (value as { details?: unknown } | null)?.details;
  if (typeof details !== 'object' || details === null || !(PACKED in details)) return value;
  const { [PACKED]: packed, ...rest } = details as Record<string, unknown>;
  const { p, s, f } = (packed ?? {}) as Partial<Packed>;
  if (!Array.isArray(p) || !Array.isArray(s) || !Array.isArray(f)) return undefined;
  const facts: EventFact[] = [];
  for (const row of f) {
    if (!Array.isArray(row) || row.length < 4) return undefined;
    const [pi, si, version, negated, ...args] = row as unknown[];
    const predicate = p[pi as number];
    const scope = s[si as number];
    if (typeof predicate !== 'string' || typeof scope !== 'string' || typeof version !== 'number' || (negated !== 0 && negated !== 1)) return undefined;
    facts.push({ predicate, args, negated: negated === 1, scope, version });
  }
  return { ...(value as object), details: { ...rest, facts } };
}
