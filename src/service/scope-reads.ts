import type { FactPattern, StoredFact } from '../domain/fact.js';
import type { FactSource, SourceFact } from '../engine/source.js';
import type { ScopeView } from '../store/fact-reader.js';
import type { FactReads } from './transaction-overlay.js';
import { type ReadMoment, readOptions } from './fact-source.js';

type AllView = Extract<ScopeView, { kind: 'all' }>;

const patternKey = (pattern: FactPattern): string =>
  JSON.stringify([pattern.predicate, pattern.negated, pattern.args.map((arg) => (arg === undefined ? 0 : [arg]))]);

/**
 * Store reads shared by the per-scope evaluations of one all-scope ask. A derivation sees one
 * scope's view, so an ask over all scopes evaluates once per scope; reading each pattern once over
 * every scope (one range scan: the versions of a fact in every layer are adjacent keys) and
 * handing each scope its part keeps the store cost of N scopes that of one.
 *
 * Each scope's source records the patterns it read. An evaluation is a function of the program
 * and of what its reads return, so a scope that sees exactly what an already evaluated scope saw
 * for every pattern that one read would get the same answers: `sameReads` lets the caller reuse
 * them (scopes that share their layers, e.g. fresh forks, share the work).
 */
export class SharedScopeReads {
  private readonly reads = new Map<string, Promise<Map<string, SourceFact[]>>>();

  constructor(
    private readonly tenant: FactReads,
    private readonly view: AllView,
    private readonly at: ReadMoment,
    /** Counts facts read (one per fact and scope: what this holds in memory) against the request's budget. */
    private readonly charge: (rows: number) => void = () => {},
  ) {}

  /** Stored facts of `pattern` per scope name, read once. */
  private read(pattern: FactPattern, key: string): Promise<Map<string, SourceFact[]>> {
    let read = this.reads.get(key);
    if (read === undefined) {
      read = (async () => {
        const byScope = new Map<string, SourceFact[]>();
        let read = 0;
        for await (const { fact } of this.tenant.match(this.view, pattern, readOptions(this.at))) {
          let list = byScope.get(fact.scope);
          if (list === undefined) byScope.set(fact.scope, (list = []));
          list.push({ args: fact.args, ref: fact satisfies StoredFact });
          if (++read === 1024) {
            this.charge(read);
            read = 0;
          }
        }
        this.charge(read);
        return byScope;
      })();
      this.reads.set(key, read);
    }
    return read;
  }

  /** The engine's port for one scope; `read` collects the patterns it was asked. */
  sourceFor(scope: string, read: Map<string, FactPattern>): FactSource {
    return {
      match: (pattern: FactPattern): AsyncIterable<SourceFact> => {
        const key = patternKey(pattern);
        read.set(key, pattern);
        const facts = this.read(pattern, key);
        return (async function* () {
          yield* (await facts).get(scope) ?? [];
        })();
      },
      estimate: (pattern: FactPattern) => this.tenant.estimate(pattern),
    };
  }

  /** True when `scope` sees the same facts as `other` for every pattern of `read` (`other`'s reads). */
  async sameReads(scope: string, other: string, read: ReadonlyMap<string, FactPattern>): Promise<boolean> {
    for (const [key, pattern] of read) {
      const byScope = await this.read(pattern, key);
      const mine = byScope.get(scope) ?? [];
      const theirs = byScope.get(other) ?? [];
      if (mine.length !== theirs.length) return false;
      for (let i = 0; i < mine.length; i++) {
        const a = mine[i]!.args;
        const b = theirs[i]!.args;
        if (a.length !== b.length || a.some((value, j) => value !== b[j])) return false;
      }
    }
    return true;
  }
}
