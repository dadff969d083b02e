/** Longest string an error's details may echo back. */
export const EXCERPT_CHARS = 100;
/** Deepest, widest structure an error's details may carry. */
const MAX_DEPTH = 4;
const MAX_ITEMS = 20;

/**
 * A short, safe excerpt of a client's value for an error's details: strings cut to 100
 * characters, structures cut to a few levels and items. A 5,000-deep array sent back whole
 * would be as large as the request, and too deep to serialise.
 */
export function excerpt(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > EXCERPT_CHARS ? `${value.slice(0, EXCERPT_CHARS)}…` : value;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return String(typeof value);
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[…]' : '{…}';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => excerpt(item, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… ${value.length - MAX_ITEMS} more`] : items;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const kept = entries.slice(0, MAX_ITEMS).map(([k, v]) => [excerpt(k), excerpt(v, depth + 1)] as const);
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of kept) out[String(k)] = v;
  if (entries.length > MAX_ITEMS) out['…'] = `${entries.length - MAX_ITEMS} more`;
  return out;
}
