import type { FactKey, Term } from '../domain/fact.js';
import { SEP, decodeTerm, encodeTerm, escapeText, unescapeText } from './term-codec.js';

/**
 * Key layout of facts inside one tenant sublevel (every component SEP-terminated but the last):
 *
 *   X SEP pred SEP arity SEP pos SEP t[pos] SEP t[pos+1] … t[pos-1] SEP neg SEP layer   → record | tombstone
 *   L SEP layer SEP pred SEP arity SEP t[0] … t[n-1] SEP neg                            → '' (listed layers only)
 *
 * X holds one entry per argument position, its terms rotated to start at that position, so any
 * pattern whose bound positions form a cyclic run is one exact prefix scan (for binary facts:
 * every pattern; for triples: every pattern of the hexastore). The layer is the last component,
 * so the versions of one fact in every layer of a scope chain are adjacent and one scan serves
 * any depth of forks. L lists the facts a layer holds, so diff and merge read only what changed.
 */
const INDEX = 'X';
const LISTING = 'L';

export type LayerId = number;

export interface IndexEntryKey extends FactKey {
  readonly layer: LayerId;
}

export function encodeLayer(layer: LayerId): string {
  return layer.toString(36);
}

function head(predicate: string, arity: number): string {
  return INDEX + SEP + escapeText(predicate) + SEP + arity + SEP;
}

/** All index keys of a fact in a layer: one per position (one for 0-ary facts). */
export function indexKeysOf(key: FactKey, layer: LayerId): string[] {
  return encodedIndexKeys(encodeFactKey(key), key.negated, layer);
}

/**
 * A fact key with its terms encoded once: the write path derives its presence key, its exact
 * lookup keys and its index keys from it (each from scratch would encode every term again).
 */
export interface EncodedFactKey {
  /** `X SEP pred SEP arity SEP` */
  readonly head: string;
  readonly terms: readonly string[];
  /** The presence key (see presenceKeyOf): also the fact's identity within a polarity-free namespace. */
  readonly presence: string;
}

export function encodeFactKey(key: FactKey): EncodedFactKey {
  const terms = key.args.map(encodeTerm);
  const prefix = head(key.predicate, key.args.length);
  return { head: prefix, terms, presence: prefix + (terms.length === 0 ? '0' : '0' + SEP + terms.join(SEP)) };
}

/** primaryKeyOf from an encoded key. */
export function encodedPrimaryKey(key: EncodedFactKey, negated: boolean, layer: LayerId): string {
  return key.presence + SEP + (negated ? '1' : '0') + SEP + encodeLayer(layer);
}

/** indexKeysOf from an encoded key (the first is the primary key). */
export function encodedIndexKeys(key: EncodedFactKey, negated: boolean, layer: LayerId): string[] {
  const tail = SEP + (negated ? '1' : '0') + SEP + encodeLayer(layer);
  const { terms } = key;
  const arity = terms.length;
  if (arity === 0) return [key.head + '0' + tail];
  const keys: string[] = [key.presence + tail];
  for (let pos = 1; pos < arity; pos++) {
    let body = key.head + pos;
    for (let i = 0; i < arity; i++) body += SEP + (terms[(pos + i) % arity] as string);
    keys.push(body + tail);
  }
  return keys;
}

/** The index key used for exact lookups of a fact in a layer (its position-0 entry). */
export function primaryKeyOf(key: FactKey, layer: LayerId): string {
  const terms = key.args.map(encodeTerm);
  const body = key.args.length === 0 ? '0' : '0' + SEP + terms.join(SEP);
  return head(key.predicate, key.args.length) + body + SEP + (key.negated ? '1' : '0') + SEP + encodeLayer(layer);
}

/** Decode an index key back into the fact key and layer it belongs to. */
export function decodeIndexKey(raw: string): IndexEntryKey {
  const parts = raw.split(SEP);
  const arity = Number(parts[2]);
  const pos = Number(parts[3]);
  const rotated = parts.slice(4, 4 + arity).map(decodeTerm);
  const args = pos === 0 ? rotated : rotated.slice(arity - pos).concat(rotated.slice(0, arity - pos));
  return {
    predicate: unescapeText(parts[1] ?? ''),
    args,
    negated: parts[4 + arity] === '1',
    layer: Number.parseInt(parts[5 + arity] ?? '', 36),
  };
}

/** The part of an index key that names the fact, without the layer: equal for all versions of one fact. */
export function groupOfIndexKey(raw: string): string {
  return raw.slice(0, raw.lastIndexOf(SEP));
}

export interface IndexRange {
  readonly gte: string;
  readonly lt: string;
  /** Positions the range does not constrain but the pattern binds: the reader filters on them. */
  readonly residual: readonly number[];
}

/**
 * The tightest range for a pattern: the rotation whose bound run is longest. `bound[i]` is the
 * term at position i or undefined. Positions bound outside the run are left to the caller.
 */
export function rangeFor(predicate: string, bound: readonly (Term | undefined)[]): IndexRange {
  const arity = bound.length;
  const { start, length } = longestBoundRun(bound);
  let prefix = head(predicate, arity) + start + SEP;
  for (let i = 0; i < length; i++) prefix += encodeTerm(bound[(start + i) % arity] as Term) + SEP;
  const residual: number[] = [];
  for (let i = 0; i < arity; i++) {
    const inRun = (i - start + arity) % arity < length;
    if (bound[i] !== undefined && !inRun) residual.push(i);
  }
  return { gte: prefix, lt: upperBound(prefix), residual };
}

/** The first key past every key that starts with `prefix` (prefix ends with SEP). */
export function upperBound(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

function longestBoundRun(bound: readonly (Term | undefined)[]): { start: number; length: number } {
  const arity = bound.length;
  let best = { start: 0, length: 0 };
  for (let start = 0; start < arity; start++) {
    if (bound[start] === undefined) continue;
    let length = 0;
    while (length < arity && bound[(start + length) % arity] !== undefined) length++;
    if (length > best.length) best = { start, length };
  }
  return best;
}

/** Range of every fact (any arity) of a predicate, for listings. */
export function predicateRange(predicate: string): { gte: string; lt: string } {
  const prefix = INDEX + SEP + escapeText(predicate) + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

/** Range over the whole fact index of a tenant. */
export function allIndexRange(): { gte: string; lt: string } {
  return { gte: INDEX + SEP, lt: upperBound(INDEX + SEP) };
}

export function listingKeyOf(key: FactKey, layer: LayerId): string {
  const terms = key.args.map(encodeTerm);
  return [LISTING, encodeLayer(layer), escapeText(key.predicate), String(key.args.length), ...terms, key.negated ? '1' : '0'].join(SEP);
}

export function listingRange(layer: LayerId): { gte: string; lt: string } {
  const prefix = LISTING + SEP + encodeLayer(layer) + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

export function decodeListingKey(raw: string): IndexEntryKey {
  const parts = raw.split(SEP);
  const arity = Number(parts[3]);
  return {
    predicate: unescapeText(parts[2] ?? ''),
    args: parts.slice(4, 4 + arity).map(decodeTerm),
    negated: parts[4 + arity] === '1',
    layer: Number.parseInt(parts[1] ?? '', 36),
  };
}

/** True for the position-0 entry of a fact (one per fact and layer): what whole-layer scans read. */
export function isPrimaryIndexKey(raw: string): boolean {
  const predicateEnd = raw.indexOf(SEP, 2);
  const arityEnd = raw.indexOf(SEP, predicateEnd + 1);
  return raw.charAt(arityEnd + 1) === '0' && raw.charAt(arityEnd + 2) === SEP;
}

/** The layer of a fact key of a tenant (index or listing entry); null for any other key. Raw scans use it. */
export function layerOfFactKey(raw: string): LayerId | null {
  if (raw.startsWith(INDEX + SEP)) return decodeIndexKey(raw).layer;
  if (raw.startsWith(LISTING + SEP)) return decodeListingKey(raw).layer;
  return null;
}

/**
 * A fact's identity in a tenant whatever its polarity and layer: the position-0 index key without
 * its last two components. The tenant's key filter (store/key-filter.ts) holds these.
 */
export function presenceKeyOf(key: FactKey): string {
  const terms = key.args.map(encodeTerm);
  return head(key.predicate, key.args.length) + (key.args.length === 0 ? '0' : '0' + SEP + terms.join(SEP));
}

/** `X SEP pred SEP arity SEP` of an index key: what every entry of its predicate and arity starts with. */
export function indexHeadOf(raw: string): string {
  const predicateEnd = raw.indexOf(SEP, 2);
  return raw.slice(0, raw.indexOf(SEP, predicateEnd + 1) + 1);
}

/** The (positive) fact a presence key names. */
export function factKeyOfPresence(presence: string): FactKey {
  const { predicate, args } = decodeIndexKey(presence + SEP + '0' + SEP + '0');
  return { predicate, args, negated: false };
}

/** The presence key of a primary index key (see isPrimaryIndexKey). */
export function presenceKeyOfPrimary(raw: string): string {
  const layerStart = raw.lastIndexOf(SEP);
  return raw.slice(0, raw.lastIndexOf(SEP, layerStart - 1));
}

/** Range over every listing entry of a tenant (all layers), for the offline consistency check. */
export function allListingRange(): { gte: string; lt: string } {
  return { gte: LISTING + SEP, lt: upperBound(LISTING + SEP) };
}
