import type { FactKey, FactRecord } from '../domain/fact.js';
import { documentOf } from '../domain/tokens.js';
import type { LayerId } from '../encoding/fact-keys.js';
import {
  RETRIEVAL_MARKER_KEY,
  allRetrievalRange,
  decodeDocument,
  decodeLayerSlotKey,
  decodeLayerStats,
  decodePosting,
  decodePostingKey,
  decodeVector,
  documentKey,
  encodeDocument,
  layerOfStatsKey,
  postingKey,
} from '../encoding/retrieval-keys.js';
import { type KeyspaceReader, scanRange } from './level-types.js';

/** One fact in one layer as the fact index holds it: its record, or null for a tombstone. */
export interface IndexedVersion {
  readonly fact: FactKey;
  readonly layer: LayerId;
  readonly record: FactRecord | null;
}

export type ReportProblem = (kind: string, detail: string) => void;

const describe = (fact: FactKey, layer: LayerId) =>
  `${fact.negated ? 'NOT ' : ''}${fact.predicate}(${fact.args.map((a) => JSON.stringify(a)).join(', ')}) in layer ${layer}`;

/**
 * The retrieval indexes agree with the fact index (what retrieval-writes.ts keeps in the same
 * batch as the facts): a document per record and none per tombstone, equal to what the record's
 * text makes; a posting per document token carrying its frequency and the document's length, and
 * no other postings; vectors only beside a document; each layer's statistics the sum of its
 * documents. A tenant without the marker is still being backfilled: nothing to compare yet.
 */
export async function checkRetrieval(reader: KeyspaceReader, versions: Iterable<IndexedVersion>, report: ReportProblem): Promise<void> {
  if ((await reader.get(RETRIEVAL_MARKER_KEY)) === undefined) return;
  const expected = new Map<string, { version: IndexedVersion; document: string }>();
  for (const version of versions) {
    if (version.record === null) continue;
    const doc = documentOf(version.fact, version.record.metadata);
    expected.set(documentKey(version.fact, version.layer), { version, document: encodeDocument({ terms: Object.fromEntries(doc.terms), length: doc.length }) });
  }

  /** Posting key → `tf length`, and whether its document belongs to a fact (a stray document is one problem, not one per token). */
  const postingsWanted = new Map<string, { value: string; owned: boolean }>();
  const stats = new Map<LayerId, { documents: number; totalLength: number }>();
  const documents = new Set<string>();
  for await (const [at, raw] of scanRange(reader, allRetrievalRange('documents'))) {
    const { key, layer } = decodeLayerSlotKey(at);
    documents.add(at);
    const want = expected.get(at);
    const doc = decodeDocument(raw);
    if (doc === null) {
      report('undecodable retrieval document', describe(key, layer));
      continue;
    }
    if (!want) report('retrieval document without fact', describe(key, layer));
    else if (encodeDocument(doc) !== want.document) report('retrieval document differs', describe(key, layer));
    for (const [token, tf] of Object.entries(doc.terms)) postingsWanted.set(postingKey(token, key, layer), { value: `${tf} ${doc.length}`, owned: want !== undefined });
    const s = stats.get(layer) ?? { documents: 0, totalLength: 0 };
    stats.set(layer, { documents: s.documents + 1, totalLength: s.totalLength + doc.length });
  }
  for (const [at, { version }] of expected) if (!documents.has(at)) report('retrieval document missing', describe(version.fact, version.layer));

  const postingsSeen = new Set<string>();
  for await (const [at, raw] of scanRange(reader, allRetrievalRange('postings'))) {
    postingsSeen.add(at);
    const want = postingsWanted.get(at);
    if (want === undefined) {
      const { key, layer } = decodePostingKey(at);
      report('retrieval posting without document', describe(key, layer));
    } else {
      const { tf, length } = decodePosting(raw);
      if (`${tf} ${length}` !== want.value) report('retrieval posting differs', `${at.split('\u0000').join('|')}`);
    }
  }
  for (const [at, { owned }] of postingsWanted) {
    if (owned && !postingsSeen.has(at)) {
      const { key, layer } = decodePostingKey(at);
      report('retrieval posting missing', describe(key, layer));
    }
  }

  for await (const [at, raw] of scanRange(reader, allRetrievalRange('vectors'))) {
    const { key, layer } = decodeLayerSlotKey(at);
    if (decodeVector(raw) === null) report('undecodable fact embedding', describe(key, layer));
    if (!documents.has(documentKey(key, layer))) report('embedding without document', describe(key, layer));
  }

  const statsSeen = new Set<LayerId>();
  for await (const [at, raw] of scanRange(reader, allRetrievalRange('stats'))) {
    const layer = layerOfStatsKey(at);
    statsSeen.add(layer);
    const stored = decodeLayerStats(raw);
    const actual = stats.get(layer) ?? { documents: 0, totalLength: 0 };
    if (stored.documents !== actual.documents || stored.totalLength !== actual.totalLength) {
      report('retrieval statistics differ', `layer ${layer}: stored ${stored.documents} documents / ${stored.totalLength} tokens, held ${actual.documents} / ${actual.totalLength}`);
    }
  }
  for (const [layer, actual] of stats) if (!statsSeen.has(layer) && actual.documents > 0) report('retrieval statistics missing', `layer ${layer}`);
}
