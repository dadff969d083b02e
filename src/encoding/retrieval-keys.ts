import type { FactKey } from '../domain/fact.js';
import { type LayerId, encodeLayer, upperBound } from './fact-keys.js';
import { SEP, decodeTerm, encodeTerm, escapeText, unescapeText } from './term-codec.js';

/**
 * Keys of the retrieval indexes inside a tenant sublevel (kind letter 'W'; the other letters are
 * in control-keys.ts, fact-keys.ts and session-keys.ts). Like the fact index they are per layer,
 * so a fork shares its source's postings and a scope's chain decides which version counts:
 *
 *   W SEP p SEP token SEP pred SEP arity SEP t[0] … t[n-1] SEP neg SEP layer  → "tf length"   (posting)
 *   W SEP d SEP layer SEP pred SEP arity SEP t[0] … t[n-1] SEP neg            → document JSON (tokens, length, embedding)
 *   W SEP v SEP layer SEP pred SEP arity SEP t[0] … t[n-1] SEP neg            → embedding (Float32 bytes, base64)
 *   W SEP s SEP layer                                                         → "documents totalLength"
 *
 * Postings put the token first and the layer last, so one scan per query token serves any fork
 * depth (the versions of one fact are adjacent); documents put the layer first, so a retired
 * layer's documents (and through them its postings) are found by one range. Tokens never contain
 * SEP (they are letters and digits, domain/tokens.ts). Written in the same batch as the fact.
 */
export const RETRIEVAL_KIND = 'W';
const POSTING = 'p';
const DOCUMENT = 'd';
const STATS = 's';
const VECTOR = 'v';

function factPart(key: FactKey): string {
  return [escapeText(key.predicate), String(key.args.length), ...key.args.map(encodeTerm), key.negated ? '1' : '0'].join(SEP);
}

function decodeFactParts(parts: readonly string[], from: number): { key: FactKey; next: number } {
  const arity = Number(parts[from + 1]);
  const key = {
    predicate: unescapeText(parts[from] ?? ''),
    args: parts.slice(from + 2, from + 2 + arity).map(decodeTerm),
    negated: parts[from + 2 + arity] === '1',
  };
  return { key, next: from + 3 + arity };
}

/**
 * Present when every fact of the tenant is indexed: written with a tenant's registration, and by
 * the backfill of a tenant written before the indexes existed (store/tenant-store.ts).
 */
export const RETRIEVAL_MARKER_KEY = [RETRIEVAL_KIND, 'm'].join(SEP);

export function postingKey(token: string, key: FactKey, layer: LayerId): string {
  return postingKeyOfGroup(token, factPart(key), layer);
}

/**
 * The key functions below take the fact's text already encoded (`factGroup`): a write encodes it
 * once for its posting, document and vector keys instead of once per key.
 */
export function postingKeyOfGroup(token: string, group: string, layer: LayerId): string {
  return RETRIEVAL_KIND + SEP + POSTING + SEP + token + SEP + group + SEP + encodeLayer(layer);
}

export function postingRange(token: string): { gte: string; lt: string } {
  const prefix = [RETRIEVAL_KIND, POSTING, token, ''].join(SEP);
  return { gte: prefix, lt: upperBound(prefix) };
}

/** A posting key's fact, the text that names the fact (equal across layers) and its layer. */
export function decodePostingKey(raw: string): { key: FactKey; group: string; layer: LayerId } {
  const parts = raw.split(SEP);
  const { key, next } = decodeFactParts(parts, 3);
  const layerStart = raw.lastIndexOf(SEP);
  const tokenEnd = raw.indexOf(SEP, raw.indexOf(SEP, 2) + 1);
  return { key, group: raw.slice(tokenEnd + 1, layerStart), layer: Number.parseInt(parts[next] ?? '', 36) };
}

export function documentKey(key: FactKey, layer: LayerId): string {
  return documentKeyOfGroup(factPart(key), layer);
}

export function documentKeyOfGroup(group: string, layer: LayerId): string {
  return RETRIEVAL_KIND + SEP + DOCUMENT + SEP + encodeLayer(layer) + SEP + group;
}

export function documentRange(layer: LayerId): { gte: string; lt: string } {
  const prefix = [RETRIEVAL_KIND, DOCUMENT, encodeLayer(layer), ''].join(SEP);
  return { gte: prefix, lt: upperBound(prefix) };
}

export function decodeDocumentKey(raw: string): FactKey {
  return decodeFactParts(raw.split(SEP), 3).key;
}

/** A document or vector key's fact and layer (both put the layer before the fact). */
export function decodeLayerSlotKey(raw: string): { key: FactKey; layer: LayerId } {
  const parts = raw.split(SEP);
  return { key: decodeFactParts(parts, 3).key, layer: Number.parseInt(parts[2] ?? '', 36) };
}

/** Every key of one retrieval kind of a tenant, all layers (the offline check reads them whole). */
export function allRetrievalRange(kind: 'postings' | 'documents' | 'vectors' | 'stats'): { gte: string; lt: string } {
  const letter = { postings: POSTING, documents: DOCUMENT, vectors: VECTOR, stats: STATS }[kind];
  const prefix = [RETRIEVAL_KIND, letter, ''].join(SEP);
  return { gte: prefix, lt: upperBound(prefix) };
}

/** The layer a statistics key is about. */
export function layerOfStatsKey(raw: string): LayerId {
  return Number.parseInt(raw.slice(raw.lastIndexOf(SEP) + 1), 36);
}

export function vectorKey(key: FactKey, layer: LayerId): string {
  return vectorKeyOfGroup(factPart(key), layer);
}

export function vectorKeyOfGroup(group: string, layer: LayerId): string {
  return RETRIEVAL_KIND + SEP + VECTOR + SEP + encodeLayer(layer) + SEP + group;
}

/** Every vector of a tenant, all layers. */
export function allVectorsRange(): { gte: string; lt: string } {
  const prefix = [RETRIEVAL_KIND, VECTOR, ''].join(SEP);
  return { gte: prefix, lt: upperBound(prefix) };
}

export function vectorRange(layer: LayerId): { gte: string; lt: string } {
  const prefix = [RETRIEVAL_KIND, VECTOR, encodeLayer(layer), ''].join(SEP);
  return { gte: prefix, lt: upperBound(prefix) };
}

/** The fact of a vector key and the text naming it (equal across layers). */
export function decodeVectorKey(raw: string): { key: FactKey; group: string } {
  const parts = raw.split(SEP);
  const start = raw.indexOf(SEP, raw.indexOf(SEP, 2) + 1) + 1;
  return { key: decodeFactParts(parts, 3).key, group: raw.slice(start) };
}

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** Null when the bytes are not a Float32 vector. */
export function decodeVector(raw: string): Float32Array | null {
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.byteLength % 4 !== 0 || bytes.byteLength === 0) return null;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function layerStatsKey(layer: LayerId): string {
  return [RETRIEVAL_KIND, STATS, encodeLayer(layer)].join(SEP);
}

/** The text naming a fact in posting keys, for a fact key (what decodePostingKey returns as `group`). */
export function factGroup(key: FactKey): string {
  return factPart(key);
}

/** A fact's document in one layer: its token frequencies and its length. */
export interface StoredDocument {
  readonly terms: Readonly<Record<string, number>>;
  readonly length: number;
}

export function encodeDocument(doc: StoredDocument): string {
  return JSON.stringify({ t: doc.terms, n: doc.length });
}

/** Null when the bytes are not a document (the caller names the key in its error). */
export function decodeDocument(raw: string): StoredDocument | null {
  let row: unknown;
  try {
    row = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof row !== 'object' || row === null) return null;
  const { t, n } = row as { t?: unknown; n?: unknown };
  if (typeof t !== 'object' || t === null || typeof n !== 'number') return null;
  return { terms: t as Record<string, number>, length: n };
}

export function encodePosting(tf: number, length: number): string {
  return `${tf} ${length}`;
}

export function decodePosting(raw: string): { tf: number; length: number } {
  const space = raw.indexOf(' ');
  return { tf: Number(raw.slice(0, space)), length: Number(raw.slice(space + 1)) };
}

export function encodeLayerStats(documents: number, totalLength: number): string {
  return `${documents} ${totalLength}`;
}

export function decodeLayerStats(raw: string | undefined): { documents: number; totalLength: number } {
  if (raw === undefined) return { documents: 0, totalLength: 0 };
  const space = raw.indexOf(' ');
  return { documents: Number(raw.slice(0, space)), totalLength: Number(raw.slice(space + 1)) };
}
