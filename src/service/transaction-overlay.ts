import { type FactKey, type FactPattern, type StoredFact, factKeyId, isVisibleAt, termsEqual } from '../domain/fact.js';
import type { MatchOptions, MatchedFact, ScopeView } from '../store/fact-reader.js';
import type { TenantReads } from '../store/tenant-reads.js';

/** The reads a query runs over (TenantReads, or TenantReads seen through a transaction's overlay). */
export type FactReads = Pick<TenantReads, 'view' | 'match' | 'estimate' | 'allFacts'> & Partial<Pick<TenantReads, 'matchNow'>>;

/**
 * Groups of facts a transaction wrote: after every stored group (a cursor resumes in index order,
 * and these come last), and one per fact key, so the same fact in several scopes stays adjacent.
 */
const OVERLAY_GROUP = '\uffff';

const identityOf = (scope: string, key: FactKey) => `${scope}\u0000${factKeyId(key)}`;

function matchesPattern(fact: FactKey, pattern: FactPattern): boolean {
  if (fact.predicate !== pattern.predicate || fact.negated !== pattern.negated || fact.args.length !== pattern.args.length) return false;
  // Arities are equal (checked above), so every position of the pattern has a term of the fact.
  return fact.args.every((term, i) => {
    const arg = pattern.args[i];
    return arg === undefined || termsEqual(arg, term);
  });
}

const scopeNames = (view: ScopeView): ReadonlySet<string> => new Set(view.kind === 'scope' ? [view.scope.name] : view.scopes.map((s) => s.name));

/**
 * A transaction's fact writes, not applied yet: for each fact (scope + key) its new state, a
 * record or gone. Reads of the transaction see the snapshot with these laid over it.
 */
export class FactOverlay {
  private readonly changes = new Map<string, { readonly scope: string; readonly key: FactKey; readonly fact: StoredFact | null }>();

  get isEmpty(): boolean {
    return this.changes.size === 0;
  }

  put(fact: StoredFact): void {
    this.changes.set(identityOf(fact.scope, fact), { scope: fact.scope, key: fact, fact });
  }

  remove(scope: string, key: FactKey): void {
    this.changes.set(identityOf(scope, key), { scope, key, fact: null });
  }

  /** undefined: the transaction did not touch it; null: it removed it; else its new state. */
  stateOf(scope: string, key: FactKey): StoredFact | null | undefined {
    return this.changes.get(identityOf(scope, key))?.fact;
  }

  /** Facts the transaction stored that match, in the given scopes, ordered by key then scope. */
  added(pattern: FactPattern | null, scopes: ReadonlySet<string>): StoredFact[] {
    const out: StoredFact[] = [];
    for (const { scope, fact } of this.changes.values()) {
      if (fact !== null && scopes.has(scope) && (pattern === null || matchesPattern(fact, pattern))) out.push(fact);
    }
    return out.sort((a, b) => compareText(factKeyId(a), factKeyId(b)) || compareText(a.scope, b.scope));
  }
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What one read of the snapshot returned: checked again at commit (optimistic concurrency). */
export interface RecordedRead {
  /** The scope of the view, or null for every scope. */
  readonly scope: string | null;
  /** null: every fact (a listing). */
  readonly pattern: FactPattern | null;
  readonly now: number;
  readonly includeInvisible: boolean;
  /** Each fact seen, as `scope, key, version, updatedAt`. */
  readonly seen: readonly string[];
}

export const signatureOf = (fact: StoredFact) => JSON.stringify([fact.scope, factKeyId(fact), fact.version, fact.updatedAt]);

/**
 * A snapshot's reads seen through a transaction: facts it changed are replaced or hidden, facts
 * it added follow the stored ones. Every read of the snapshot underneath is recorded, to be
 * repeated at commit against the state then.
 */
export class OverlayReads implements FactReads {
  constructor(
    private readonly base: FactReads,
    private readonly overlay: FactOverlay,
    private readonly record: (read: RecordedRead) => void,
  ) {}

  view(scope: string | null): ScopeView | null {
    return this.base.view(scope);
  }

  estimate(pattern: FactPattern): Promise<number> {
    return this.base.estimate(pattern);
  }

  match(view: ScopeView, pattern: FactPattern, options: MatchOptions): AsyncGenerator<MatchedFact> {
    return this.overlaid(view, pattern, options, this.base.match(view, pattern, options));
  }

  allFacts(view: ScopeView, options: MatchOptions): AsyncGenerator<MatchedFact> {
    return this.overlaid(view, null, options, this.base.allFacts(view, options));
  }

  private async *overlaid(view: ScopeView, pattern: FactPattern | null, options: MatchOptions, stored: AsyncGenerator<MatchedFact>): AsyncGenerator<MatchedFact> {
    const seen: string[] = [];
    // A resumed page (fromGroup) is a read of part of the range: recorded all the same.
    let complete = false;
    try {
      for await (const match of stored) {
        seen.push(signatureOf(match.fact));
        if (this.overlay.stateOf(match.fact.scope, match.fact) !== undefined) continue;
        yield match;
      }
      complete = true;
    } finally {
      // A read stopped early (a full page) still saw what it saw: record it either way.
      this.record({ scope: view.kind === 'scope' ? view.scope.name : null, pattern, now: options.now, includeInvisible: options.includeInvisible === true, seen: complete ? seen : [...seen, '\u0000partial'] });
    }
    for (const fact of this.overlay.added(pattern, scopeNames(view))) {
      if (!options.includeInvisible && !isVisibleAt(fact, options.now)) continue;
      yield { fact, group: OVERLAY_GROUP + factKeyId(fact) };
    }
  }
}

/** Repeat a recorded read against `reads` (the state at commit): the facts that differ, or none. */
export async function changedSince(reads: FactReads, read: RecordedRead): Promise<string[]> {
  const view = reads.view(read.scope);
  const now: string[] = [];
  if (view !== null) {
    const options = { now: read.now, includeInvisible: read.includeInvisible };
    const source = read.pattern === null ? reads.allFacts(view, options) : reads.match(view, read.pattern, options);
    for await (const { fact } of source) now.push(signatureOf(fact));
  }
  const before = read.seen.filter((s) => s !== '\u0000partial');
  // A read stopped after a page: only the facts it saw must be unchanged (a prefix of today's).
  const partial = before.length !== read.seen.length;
  const current = new Set(now);
  const previous = new Set(before);
  const gone = before.filter((s) => !current.has(s));
  const added = partial ? [] : now.filter((s) => !previous.has(s));
  return [...gone, ...added];
}
