import { stemmer } from 'stemmer';
import type { FactKey } from './fact.js';

/**
 * The words of a fact for text relevance: its predicate name, its string args and the string
 * values of its metadata (nested too). One tokeniser serves the index and the queries, so a
 * query word and an indexed word meet only when both come out the same.
 *
 * Identifiers are split where people split them: `billing_outage`, `billing-outage`,
 * `billingOutage`, `BillingOutage` and `billing outage` all give `bill`, `outag`; `user-42`
 * gives `user`, `42`; `HTTPServer` gives `http`, `server`. Words are lower-cased and reduced by
 * the Porter stemmer (npm `stemmer`: small, no dependencies, well kept) so `outages` finds `outage`.
 * Words of one character and a short list of English stop words are dropped: they match nearly
 * every fact and only cost postings.
 */
export const MAX_TOKEN_LENGTH = 64;
/** Tokens kept per fact at most: a metadata blob cannot make one fact write thousands of postings. */
export const MAX_TOKENS_PER_FACT = 512;

const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'for', 'from', 'in', 'is', 'it', 'of', 'on', 'or', 'the', 'to', 'was', 'were', 'with',
  'what', 'we', 'do', 'does', 'did', 'about', 'know', 'this', 'that', 'there', 'which', 'who', 'how', 'any', 'all',
]);

/** Runs of letters or digits; camelCase and letter/digit boundaries split further below. */
const WORD = /[\p{L}\p{N}]+/gu;
const CAMEL = /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u;

const DIGIT = /\p{N}/u;
const NUMBER = /^\p{N}+$/u;

/**
 * The tokens of a text, in order, repeats kept (term frequency counts them). `exec` on the shared
 * WORD rather than `matchAll`, and `split` only when CAMEL finds a boundary: both of those make and
 * compile a new RegExp per call, most of the cost of indexing a single tell's fact.
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  WORD.lastIndex = 0;
  for (let match = WORD.exec(text); match !== null; match = WORD.exec(text)) {
    const word = match[0];
    for (const part of CAMEL.test(word) ? word.split(CAMEL) : [word]) {
      const lower = part.toLowerCase();
      if (lower.length < 2 && !DIGIT.test(lower)) continue;
      if (STOP_WORDS.has(lower)) continue;
      const token = NUMBER.test(lower) ? lower : stemmer(lower);
      if (token.length > 0 && token.length <= MAX_TOKEN_LENGTH) out.push(token);
    }
  }
  return out;
}

/** The texts of a fact that are indexed: predicate, string args, string metadata values. */
export function textsOf(key: FactKey, metadata: Record<string, unknown> | null): string[] {
  const texts = [key.predicate];
  for (const arg of key.args) if (typeof arg === 'string') texts.push(arg);
  if (metadata !== null) collectStrings(metadata, texts, 0);
  return texts;
}

function collectStrings(value: unknown, into: string[], depth: number): void {
  if (typeof value === 'string') into.push(value);
  else if (depth < 8 && Array.isArray(value)) for (const v of value) collectStrings(v, into, depth + 1);
  else if (depth < 8 && value !== null && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, into, depth + 1);
}

/** A fact's document: term frequencies and length (tokens counted), what BM25 needs of it. */
export interface TextDocument {
  readonly terms: ReadonlyMap<string, number>;
  readonly length: number;
}

export function documentOf(key: FactKey, metadata: Record<string, unknown> | null): TextDocument {
  const terms = new Map<string, number>();
  let length = 0;
  for (const text of textsOf(key, metadata)) {
    for (const token of tokenize(text)) {
      if (length >= MAX_TOKENS_PER_FACT) break;
      terms.set(token, (terms.get(token) ?? 0) + 1);
      length++;
    }
  }
  return { terms, length };
}
