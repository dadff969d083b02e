import { type FactKey, type StoredFact, type Term, factKeyId, isVisibleAt } from '../../domain/fact.js';
import type { Atom, CompiledProgram } from '../../engine/index.js';
import { decodeIndexKey, groupOfIndexKey, primaryKeyOf } from '../../encoding/fact-keys.js';
import type { ScopeView } from '../../store/fact-reader.js';
import { nearestEntry } from '../../store/layer-reader.js';
import type { ScopeRecord } from '../../store/scope-registry.js';
import type { TenantReads } from '../../store/tenant-reads.js';
import type { WriteRecord } from '../../store/write-watcher.js';
import type { Candidate } from './candidate-pool.js';
import {
  type Contradiction,
  MAX_INVISIBLE_KEPT,
  MAX_LISTED_CONTRADICTIONS,
  type ScanSpec,
  baseOf,
  invisibleKey,
  preferred,
  visibilityChangeAfter,
} from './candidates.js';
import type { GoalEvidence } from './goals.js';
import type { ReusableScan } from './window-cache.js';

/** Past this many facts written since the pass, reading them one by one is no cheaper than a new pass. */
export const MAX_CAUGHT_UP_FACTS = 2048;
/** So many written facts are always caught up: a new pass of a small view costs more than reading them. */
export const MIN_CAUGHT_UP_FACTS = 64;

/**
 * Facts written since a pass over `passed` stored records that are still caught up rather than
 * passed over again. Catching up reads each written fact and its opposite by key and scores them;
 * a pass streams every record of the view. Measured in-process on LevelDB (views of 1,000–6,000
 * facts, 50–1,500 written), a fact caught up cost 3–10 times a fact passed over: past a quarter of
 * the view, the pass was as cheap or cheaper (at a fixed 2,048, a tenant of 3,550 facts with 1,400
 * written took 65 ms to catch up against 33 ms for a pass).
 */
export function maxCaughtUpFacts(passed: number): number {
  return Math.min(MAX_CAUGHT_UP_FACTS, Math.max(MIN_CAUGHT_UP_FACTS, Math.floor(passed / 4)));
}

export interface CatchUpJob {
  readonly tenant: TenantReads;
  /** The view now (read under the tenant's write lock, like everything here). */
  readonly view: ScopeView;
  readonly now: number;
  /** The access counts of these facts (never all of the tenant's: the kept candidates and the facts read here). */
  readonly accessCountsOf: (identities: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Facts whose access count rose in windows of other requests: a pruned one may now overtake. */
  readonly accessed: ReadonlySet<string>;
  /** The goals' predicates and those of every rule they can reach; null without goals. */
  readonly goalPredicates: ReadonlySet<string> | null;
  readonly evaluateGoals: () => Promise<GoalEvidence>;
}

/** What is stored for one fact key in each scope of the view: the nearest record of the scope's chain, if any. */
type Versions = (StoredFact | null)[];

/**
 * Bring a reusable scan up to date with the fact writes since it was made, without a new pass:
 * the written facts are read by key (one getMany), scored and offered to the pool, the versions
 * they replace or retract leave it, and the count, contradictions, visibility horizon and goal
 * evidence follow. Call under the tenant's write lock, with every write since the scan, in order.
 *
 * What the scan held for a written fact is not read back (it is gone); it follows from the first
 * write to it in each scope: a retract names only visible facts; a tell of version 1 found nothing
 * in the scope's chain; a later version replaced a record that is visible unless the scan listed
 * it as invisible (untouched records cannot change visibility before `nextVisibilityChange`,
 * which the cache checked).
 *
 * Returns null when the scan now is what a new pass would give, otherwise why a new pass is needed
 * (the scan may then be partly updated: drop it).
 */
export async function catchUp(reusable: ReusableScan, writes: readonly WriteRecord[], job: CatchUpJob): Promise<string | null> {
  const { view, now } = job;
  const scopes = view.kind === 'scope' ? [view.scope] : view.scopes;
  const scopeNames = new Set(scopes.map((s) => s.name));
  const { scan } = reusable;

  // The first write to each fact in each scope of the view, since the scan.
  const keys = new Map<string, FactKey>();
  const firstWrite = new Map<string, { op: string; version: number }>();
  for (const write of writes) {
    if (write.outcome === 'error') continue; // a refused write changed nothing
    if (write.facts === null) return write.op === 'told' || write.op === 'retracted' ? 'a write of too many facts' : `a '${write.op}' write`;
    for (const fact of write.facts) {
      if (!scopeNames.has(fact.scope)) {
        if (view.kind === 'scope') continue; // another scope's top layer: never in this chain
        return 'a write to a scope the view does not have';
      }
      const identity = factKeyId(fact);
      if (!keys.has(identity)) keys.set(identity, { predicate: fact.predicate, args: fact.args, negated: fact.negated });
      const at = invisibleKey(fact.scope, identity);
      if (!firstWrite.has(at)) firstWrite.set(at, { op: write.op, version: fact.version });
    }
  }
  // What the pass streamed: the visible facts and the invisible records (past MAX_INVISIBLE_KEPT, at least that many).
  if (keys.size > maxCaughtUpFacts(scan.available + (scan.invisible?.size ?? MAX_INVISIBLE_KEPT))) return 'too many facts written';

  // Goals: evaluated again when a written predicate can change their answers.
  let evidence = reusable.evidence;
  const rescored = new Set<string>();
  if (job.goalPredicates !== null && [...keys.values()].some((k) => job.goalPredicates?.has(k.predicate))) {
    evidence = await job.evaluateGoals();
    if (!sameSet(evidence.constants, reusable.evidence.constants)) return 'the goals now name other constants';
    for (const id of evidence.premises) if (!reusable.evidence.premises.has(id)) rescored.add(id);
    for (const id of reusable.evidence.premises) if (!evidence.premises.has(id)) rescored.add(id);
  }

  // Read every written fact, its opposite (contradictions) and every fact whose goal relevance changed.
  const read = new Map<string, FactKey>();
  for (const key of keys.values()) {
    read.set(factKeyId(key), key);
    const opposite = { ...key, negated: !key.negated };
    read.set(factKeyId(opposite), opposite);
  }
  // A fact accessed elsewhere needs reading only if the pool dropped it (a kept one is scored again below).
  for (const id of job.accessed) if (!keys.has(id) && scan.pool.get(id) === undefined) rescored.add(id);
  for (const id of rescored) if (!read.has(id)) read.set(id, keyOfIdentity(id));
  const stored = await readVersions(job.tenant, scopes, [...read.values()]);

  // What the scan held (pre) and what holds now (post), per fact read.
  interface State {
    readonly pre: boolean;
    readonly post: StoredFact | null;
  }
  const states = new Map<string, State>();
  for (const [identity, versions] of stored) {
    let pre = false;
    let post: StoredFact | null = null;
    for (const [i, scope] of scopes.entries()) {
      const version = versions[i] ?? null;
      const visible = version !== null && isVisibleAt(version, now) ? version : null;
      if (visible !== null && (post === null || preferred(visible, post))) post = visible;
      const first = firstWrite.get(invisibleKey(scope.name, identity));
      if (first === undefined) pre ||= visible !== null;
      else if (first.op === 'retracted') pre = true;
      else if (first.version > 1) {
        if (scan.invisible === null) return 'too many invisible records to tell what an upsert replaced';
        pre ||= !scan.invisible.has(invisibleKey(scope.name, identity));
      }
    }
    states.set(identity, { pre, post });
  }
  const state = (identity: string) => states.get(identity) as State;

  // Contradictions: p and NOT p both visible, counted, the first ones listed in index order.
  let found = scan.contradictionsFound;
  const listed = [...scan.contradictions];
  const positives = new Set<string>();
  for (const key of keys.values()) positives.add(factKeyId({ ...key, negated: false }));
  for (const p of positives) {
    const n = factKeyId({ ...(read.get(p) as FactKey), negated: true });
    const [pos, neg] = [state(p), state(n)];
    const before = pos.pre && state(n).pre;
    const after = pos.post !== null && neg.post !== null;
    const at = listed.findIndex((c) => factKeyId(c.positive) === p);
    if (after) {
      const pair: Contradiction = { positive: pos.post as StoredFact, negative: neg.post as StoredFact };
      if (before) {
        if (at >= 0) listed[at] = pair;
        continue;
      }
      found++;
      if (listed.length < MAX_LISTED_CONTRADICTIONS && listed.length !== found - 1) return 'unlisted contradictions';
      const last = listed[listed.length - 1];
      if (listed.length === MAX_LISTED_CONTRADICTIONS && last !== undefined && indexOrder(pair.positive, last.positive) > 0) continue;
      let i = listed.length;
      while (i > 0 && indexOrder(pair.positive, (listed[i - 1] as Contradiction).positive) < 0) i--;
      listed.splice(i, 0, pair);
      if (listed.length > MAX_LISTED_CONTRADICTIONS) listed.pop();
    } else if (before) {
      found--;
      if (at >= 0) listed.splice(at, 1);
      if (listed.length < Math.min(found, MAX_LISTED_CONTRADICTIONS)) return 'a listed contradiction ended and the next one is not known';
    }
  }

  const pool = scan.pool;
  const scored = new Set([...pool.candidates.map((c) => c.identity), ...keys.keys(), ...rescored]);
  const accessCounts = await job.accessCountsOf([...scored]);

  // Apply (synchronously from here: no window reads the scan half-updated; a failure drops it).
  const spec: ScanSpec = { ...reusable.spec, evidence, accessCounts };
  const changed: string[] = [];
  for (const identity of new Set([...keys.keys(), ...rescored])) {
    const { pre, post } = state(identity);
    const kept = pool.get(identity);
    if (!pre && kept !== undefined) return 'the pool holds a fact the scan did not see';
    if (pre && post !== null && kept !== undefined && !rescored.has(identity) && sameVersion(kept.payload, post)) continue;
    if (pre) pool.remove(identity);
    if (post !== null) changed.push(identity);
  }
  pool.rescore((c) => baseOf(c.payload, c.identity, spec));
  for (const identity of changed) pool.add(candidateOf(state(identity).post as StoredFact, identity, spec));

  scan.contradictionsFound = found;
  scan.contradictions = listed;
  for (const [identity, versions] of stored) {
    if (!keys.has(identity)) continue;
    for (let i = 0; i < scopes.length; i++) {
      const version = versions[i] ?? null;
      if (version === null) continue;
      const change = visibilityChangeAfter(version, now);
      if (change !== null && (scan.nextVisibilityChange === null || change < scan.nextVisibilityChange)) scan.nextVisibilityChange = change;
    }
    if (scan.invisible === null) continue;
    for (const [i, scope] of scopes.entries()) {
      const version = versions[i] ?? null;
      const at = invisibleKey(scope.name, identity);
      if (version !== null && !isVisibleAt(version, now)) scan.invisible.add(at);
      else scan.invisible.delete(at);
    }
    if (scan.invisible.size > MAX_INVISIBLE_KEPT) scan.invisible = null;
  }
  reusable.evidence = evidence;
  reusable.spec = spec;
  return pool.exactness();
}

/** Every predicate the goals' evaluation reads: the goals' own and, through the rules, those they depend on. */
export function goalPredicates(program: CompiledProgram | null, goals: readonly Atom[]): Set<string> {
  const relevant = new Set(goals.map((g) => g.predicate));
  for (let grown = true; grown && program !== null; ) {
    grown = false;
    for (const rule of program.rules) {
      if (!relevant.has(rule.head.predicate)) continue;
      for (const literal of rule.body) {
        const atom = literal.kind === 'atom' ? literal : literal.kind === 'not' ? literal.atom : null;
        if (atom !== null && !relevant.has(atom.predicate)) {
          relevant.add(atom.predicate);
          grown = true;
        }
      }
    }
  }
  return relevant;
}

export function candidateOf(fact: StoredFact, identity: string, spec: ScanSpec): Candidate<StoredFact> {
  return { identity, group: spec.byPredicate ? fact.predicate : '', base: baseOf(fact, identity, spec), time: fact.updatedAt, payload: fact };
}

/**
 * Per fact key, the nearest entry of each scope's chain that is a record (null: nothing, or a
 * tombstone), as a pass over the index would see it: one getMany over every layer of the view.
 */
async function readVersions(tenant: TenantReads, scopes: readonly ScopeRecord[], keys: readonly FactKey[]): Promise<Map<string, Versions>> {
  const layers = [...new Set(scopes.flatMap((s) => s.chain))];
  const entries = await tenant.entriesIn(keys, layers);
  const out = new Map<string, Versions>();
  keys.forEach((key, k) => {
    // The key as the index spells it (decoded terms), so records read here equal those of a pass.
    const canonical = decodeIndexKey(primaryKeyOf(key, 0));
    const byLayer = entries[k] ?? new Map();
    const versions = scopes.map((scope): StoredFact | null => {
      const entry = nearestEntry(scope.chain, byLayer);
      if (entry === undefined || entry.kind !== 'record') return null;
      return { predicate: canonical.predicate, args: canonical.args, negated: canonical.negated, scope: scope.name, ...entry.record };
    });
    out.set(factKeyId(key), versions);
  });
  return out;
}

/** The order of the index (UTF-8 bytes of the keys), where a fact's negation follows it. */
function indexOrder(a: FactKey, b: FactKey): number {
  return Buffer.compare(Buffer.from(groupOfIndexKey(primaryKeyOf(a, 0))), Buffer.from(groupOfIndexKey(primaryKeyOf(b, 0))));
}

function keyOfIdentity(identity: string): FactKey {
  const [predicate, negated, ...args] = JSON.parse(identity) as [string, number, ...Term[]];
  return { predicate, args, negated: negated === 1 };
}

function sameVersion(a: StoredFact, b: StoredFact): boolean {
  return a.scope === b.scope && a.version === b.version && a.updatedAt === b.updatedAt && a.confidence === b.confidence;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
