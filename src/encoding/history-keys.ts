import type { FactKey } from '../domain/fact.js';
import { CorruptionError } from '../domain/errors.js';
import { type EncodedFactKey, type LayerId, decodeIndexKey, encodeLayer, encodeFactKey, upperBound } from './fact-keys.js';
import { SEP, escapeText } from './term-codec.js';

/**
 * The history of facts (transaction time), one entry per write of a fact into a layer:
 *
 *   H SEP layer SEP presence SEP neg SEP <inverted time> SEP <inverted sequence>   → [actor, entry, version]
 *
 * `presence` is the fact's position-0 index key without polarity and layer (fact-keys.ts), `entry`
 * the index entry value the write stored (a record or a dated tombstone). The current version is
 * logged too: the index says what holds now, the log who wrote each version and what held before.
 * Times are inverted so a fact's newest version comes first, and the first entry at or after
 * `inverted(T)` is the version that held at T: an as-of read is one seek. The layer comes first,
 * so a retired layer's history is one range, and a scope's history is one range per layer.
 */
const HISTORY = 'H';
const TIME_WIDTH = 9;
const MAX_TIME = 36 ** TIME_WIDTH - 1;
const SEQ_WIDTH = 8;
const MAX_SEQ = 36 ** SEQ_WIDTH - 1;

/**
 * Orders the versions written in one millisecond (a tell that replaces what the same transaction
 * wrote, or two transactions in one ms): newest first. Per process; a restart within the same
 * millisecond as the last write of the previous process is the one case it cannot order.
 */
let sequence = 0;

export function invertedTime(time: number): string {
  return (MAX_TIME - Math.min(MAX_TIME, Math.max(0, Math.floor(time)))).toString(36).padStart(TIME_WIDTH, '0');
}

function timeOfInverted(raw: string): number {
  return MAX_TIME - Number.parseInt(raw, 36);
}

function factPrefix(layer: LayerId, presence: string, negated: boolean): string {
  return HISTORY + SEP + encodeLayer(layer) + SEP + presence + SEP + (negated ? '1' : '0') + SEP;
}

/** The key of a new version of a fact in a layer, written at `time`. */
export function historyKey(key: EncodedFactKey, negated: boolean, layer: LayerId, time: number): string {
  sequence = sequence >= MAX_SEQ ? 0 : sequence + 1;
  return factPrefix(layer, key.presence, negated) + invertedTime(time) + SEP + (MAX_SEQ - sequence).toString(36).padStart(SEQ_WIDTH, '0');
}

/** The range whose first entry is the version of a fact that held in a layer at `time` (if any). */
export function historyAtRange(key: FactKey, layer: LayerId, time: number): { gte: string; lt: string } {
  const prefix = factPrefix(layer, encodeFactKey(key).presence, key.negated);
  return { gte: prefix + invertedTime(time), lt: upperBound(prefix) };
}

/** Every version of one fact (both polarities) in a layer. */
export function historyOfFactRange(key: FactKey, layer: LayerId): { gte: string; lt: string } {
  const prefix = HISTORY + SEP + encodeLayer(layer) + SEP + encodeFactKey(key).presence + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

/** Every version of every fact of a predicate (any arity) in a layer. */
export function historyOfPredicateRange(predicate: string, layer: LayerId): { gte: string; lt: string } {
  const prefix = HISTORY + SEP + encodeLayer(layer) + SEP + 'X' + SEP + escapeText(predicate) + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

/** Every version in a layer. */
export function historyOfLayerRange(layer: LayerId): { gte: string; lt: string } {
  const prefix = HISTORY + SEP + encodeLayer(layer) + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

/** The whole history of a tenant. */
export function allHistoryRange(): { gte: string; lt: string } {
  const prefix = HISTORY + SEP;
  return { gte: prefix, lt: upperBound(prefix) };
}

export interface HistoryKey extends FactKey {
  readonly layer: LayerId;
  readonly time: number;
  /** The key without its time and sequence: equal for every version of one fact in one layer. */
  readonly fact: string;
}

export function decodeHistoryKey(raw: string): HistoryKey {
  const parts = raw.split(SEP);
  if (parts[0] !== HISTORY || parts.length < 8) throw new CorruptionError('history key', raw);
  const layer = Number.parseInt(parts[1] ?? '', 36);
  // The presence key is an index key's prefix: decode it as the position-0 index key it starts.
  const arity = Number(parts[4]);
  const presenceEnd = 2 + 4 + arity;
  const indexKey = [...parts.slice(2, presenceEnd), parts[presenceEnd], '0'].join(SEP);
  const fact = decodeIndexKey(indexKey);
  const time = timeOfInverted(parts[presenceEnd + 1] ?? '');
  if (!Number.isFinite(layer) || !Number.isFinite(time) || parts.length !== presenceEnd + 3) throw new CorruptionError('history key', raw);
  return { predicate: fact.predicate, args: fact.args, negated: fact.negated, layer, time, fact: parts.slice(0, presenceEnd + 1).join(SEP) };
}

/** The key of the same version in another layer (flatten moves a run's history into the new layer). */
export function historyKeyInLayer(raw: string, layer: LayerId): string {
  const start = raw.indexOf(SEP) + 1;
  return HISTORY + SEP + encodeLayer(layer) + raw.slice(raw.indexOf(SEP, start));
}

export interface HistoryValue {
  readonly actor: string | null;
  /** The index entry value the write stored. */
  readonly entry: string;
  readonly version: number;
}

export function encodeHistoryValue(value: HistoryValue): string {
  return JSON.stringify([value.actor, value.entry, value.version]);
}

export function decodeHistoryValue(raw: string, key: string | null = null): HistoryValue {
  let row: unknown;
  try {
    row = JSON.parse(raw);
  } catch (error) {
    throw new CorruptionError('history entry', key, error);
  }
  if (!Array.isArray(row) || row.length !== 3) throw new CorruptionError('history entry', key);
  const [actor, entry, version] = row as unknown[];
  if ((actor !== null && typeof actor !== 'string') || typeof entry !== 'string' || typeof version !== 'number') throw new CorruptionError('history entry', key);
  return { actor, entry, version };
}
