import type { AskBody } from '../contract/query.js';
import type { FactPattern } from '../domain/fact.js';
import type { MatchOptions, MatchedFact } from '../store/fact-reader.js';
import { type CursorPosition, compareRowKeys, decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { type ReadMoment, readOptions } from './fact-source.js';
import { compilePattern } from './pattern.js';
import type { Answer, AskResult } from './query.js';

export type PatternBody = Extract<AskBody, { predicate: string }>;

/** The parts of an ask that say when it reads: part of its cursor's fingerprint when given. */
export function timeOf(body: AskBody): unknown[] {
  return body.asOf === undefined && body.validAt === undefined ? [] : [body.asOf ?? null, body.validAt ?? null];
}

/**
 * One page of a single stored pattern, built from the matches in index order as a reader gives
 * them (the range cache at once, or storage chunk by chunk): paged by row (index position,
 * scope), resumed after the cursor's row. `take` returns the reply once the page is full.
 */
export class StoredPage {
  readonly pattern: FactPattern;
  readonly options: MatchOptions;
  /** Rows taken (usage metering: rows read). */
  rowsRead = 0;
  private readonly compiled: ReturnType<typeof compilePattern>;
  private readonly start: CursorPosition;
  private readonly after: readonly string[] | null;
  private readonly results: Answer[] = [];
  private group: string | null = null;
  private inGroup = 0;
  private last: string[] = [];

  constructor(
    private readonly body: PatternBody,
    at: ReadMoment,
  ) {
    this.compiled = compilePattern(body.predicate, body.args, body.negated);
    this.pattern = this.compiled.pattern;
    this.start = body.cursor ? decodeCursor(body.cursor, this.fingerprint()) : { skip: 0 };
    // A row is (index position, scope): the cursor names the last one sent (older cursors: position + count).
    this.after = this.start.after ?? null;
    const fromGroup = this.after?.[0] ?? this.start.group;
    const options = readOptions(at);
    this.options = fromGroup === undefined ? options : { ...options, fromGroup };
  }

  /** Takes one match; the reply once the page is full (a row past it exists: the cursor). */
  take(match: MatchedFact): AskResult | undefined {
    this.rowsRead++;
    const { body, compiled, after, start } = this;
    if (!compiled.accepts(match.fact.args)) return undefined;
    this.inGroup = match.group === this.group ? this.inGroup + 1 : 0;
    this.group = match.group;
    if (body.distinct && this.inGroup > 0) return undefined;
    if (after !== null && match.group === after[0] && compareRowKeys([match.group, match.fact.scope], after) <= 0) return undefined;
    if (after === null && match.group === start.group && this.inGroup < start.skip) return undefined;
    if (this.results.length === body.limit) return { results: this.results, cursor: encodeCursor({ skip: 0, after: this.last }, this.fingerprint()), conjunctive: false };
    this.results.push({ bindings: compiled.bindings(match.fact.args), facts: [{ kind: 'stored', fact: match.fact }] });
    this.last = [match.group, match.fact.scope];
    return undefined;
  }

  /** Every match at hand (the range cache's), then the reply. */
  all(matches: readonly MatchedFact[]): AskResult {
    for (const match of matches) {
      const full = this.take(match);
      if (full) return full;
    }
    return this.end();
  }

  /** The reply once the matches ran out. */
  end(): AskResult {
    return { results: this.results, cursor: null, conjunctive: false };
  }

  /** Hashed only when a cursor is read or written: most asks fit one page. */
  private fingerprint(): string {
    const body = this.body;
    return queryFingerprint(['pattern', body.predicate, body.args, body.negated, body.scope ?? null, body.distinct, ...timeOf(body)]);
  }
}
