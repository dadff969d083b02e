import test from 'ava';
import { type StoredFact, factKeyId } from '../../src/domain/fact.js';
import { CandidatePool } from '../../src/service/context/candidate-pool.js';
import { salienceOf } from '../../src/service/context/salience.js';
import { type SelectionLimits, type WindowEntry, compareEntries, rankEntries, selectEntries } from '../../src/service/context/selection.js';
import { type Random, seededRandom } from '../helpers/random.js';

interface Generated {
  readonly fact: StoredFact;
  readonly identity: string;
  readonly base: number;
}

/** Facts over few predicates and args (so p / NOT p pairs occur), few base values and times (so ties occur). */
function generate(random: Random, count: number): Generated[] {
  const seen = new Set<string>();
  const out: Generated[] = [];
  while (out.length < count) {
    const key = { predicate: `p${random.int(6)}`, args: [random.int(count)], negated: random.chance(0.2) };
    const identity = factKeyId(key);
    if (seen.has(identity)) continue;
    seen.add(identity);
    const time = 1_000_000 + random.int(random.chance(0.5) ? 50 : 5000);
    const fact: StoredFact = { ...key, scope: 'main', version: 1, createdAt: time, updatedAt: time, confidence: random.int(5) / 4, ttl: null, expiresAt: null, validFrom: null, validUntil: null, metadata: null };
    out.push({ fact, identity, base: random.pick([0, 0, 0, 5, 10, 100]) + fact.confidence + random.int(3) / 8 });
  }
  return out;
}

/** The reference: every candidate scored and sorted, no pruning. */
function bruteForce(items: readonly Generated[], limits: SelectionLimits): WindowEntry[] {
  const times = items.map((i) => i.fact.updatedAt);
  const range = { oldest: Math.min(...times), newest: Math.max(...times) };
  const entries = items.map(({ fact, identity, base }) => ({ identity, predicate: fact.predicate, args: fact.args, negated: fact.negated, scope: fact.scope, confidence: fact.confidence, createdAt: fact.createdAt, salience: salienceOf(base, fact.updatedAt, range), provenance: null }));
  return selectEntries(entries.sort(compareEntries), limits);
}

function pooled(items: readonly Generated[], limits: SelectionLimits): { selected: WindowEntry[]; kept: number } {
  const perGroup = Math.min(limits.maxFactsPerPredicate ?? limits.maxFacts, limits.maxFacts);
  const byPredicate = perGroup < limits.maxFacts;
  const pool = new CandidatePool<StoredFact>((limits.dropContradictions ? 2 : 1) * perGroup);
  for (const { fact, identity, base } of items) pool.add({ identity, group: byPredicate ? fact.predicate : '', base, time: fact.updatedAt, payload: fact });
  return { selected: selectEntries(rankEntries(pool, [], null), limits), kept: pool.candidates.length };
}

const cases: SelectionLimits[] = [
  { maxFacts: 25, maxFactsPerPredicate: null, dropContradictions: true },
  { maxFacts: 25, maxFactsPerPredicate: 3, dropContradictions: true },
  { maxFacts: 40, maxFactsPerPredicate: 10, dropContradictions: false },
  { maxFacts: 5, maxFactsPerPredicate: null, dropContradictions: false },
];

for (const [i, limits] of cases.entries()) {
  test(`CandidatePool › pruned while streaming › selects exactly what sorting every candidate selects (case ${i})`, (t) => {
    for (const seed of [1, 2]) {
      const items = generate(seededRandom(seed * 100 + i), 12_000);
      const expected = bruteForce(items, limits);
      const { selected, kept } = pooled(items, limits);
      t.deepEqual(selected.map((e) => e.identity), expected.map((e) => e.identity), `seed ${seed}`);
      t.true(kept < 6_000, `the pool stayed bounded (kept ${kept})`);
    }
  });
}

/**
 * Writes applied to a pool after its pass (incremental.ts): removals (retracts, the old side of
 * upserts) and additions at the current time. Whenever the pool says it is exact, its window must
 * be the one of every candidate; when it says it is not, a new pass (a fresh pool) follows.
 */
for (const [i, limits] of cases.entries()) {
  test(`CandidatePool › after removals and additions › exact whenever it says so, else a new pass (case ${i})`, (t) => {
    let checked = 0;
    let passes = 0;
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed * 1000 + i);
      const perGroup = Math.min(limits.maxFactsPerPredicate ?? limits.maxFacts, limits.maxFacts);
      const byPredicate = perGroup < limits.maxFacts;
      const keep = (limits.dropContradictions ? 2 : 1) * perGroup;
      const margin = random.pick([0, 1, 3]);
      // Close bases and spread times: recency decides often, so a narrower range reorders.
      // A few ancient facts: once the last of them goes, the range shrinks and recency weighs far more.
      const aged = (g: Generated): Generated => (random.chance(0.02) ? { ...g, fact: { ...g.fact, updatedAt: g.fact.updatedAt - 200_000 - random.int(1000) } } : g);
      const items = new Map(generate(random, 600).map((g) => [g.identity, { ...aged(g), base: g.base / 40 }]));
      const candidate = ({ fact, identity, base }: Generated) => ({ identity, group: byPredicate ? fact.predicate : '', base, time: fact.updatedAt, payload: fact });
      const pass = () => {
        passes++;
        const pool = new CandidatePool<StoredFact>(keep, { margin, pruneFloor: 32 });
        for (const item of items.values()) pool.add(candidate(item));
        pool.compact();
        return pool;
      };
      let pool = pass();
      let now = 1_010_000;
      for (let step = 0; step < 400; step++) {
        const roll = random.next();
        const kept = pool.candidates;
        const byTime = roll >= 0.3 && roll < 0.6 ? [...items.values()].sort((a, b) => a.fact.updatedAt - b.fact.updatedAt) : [];
        const victim =
          roll < 0.3 && kept.length > 0
            ? items.get(random.pick(kept).identity)
            : roll < 0.45
              ? byTime[random.int(3)]
              : roll < 0.6
                ? byTime[byTime.length - 1 - random.int(3)]
                : roll < 0.75
                  ? random.pick([...items.values()])
                  : undefined;
        if (victim !== undefined) {
          items.delete(victim.identity);
          pool.remove(victim.identity);
        }
        if (victim === undefined || random.chance(0.5)) {
          // A tell: a new fact, or the victim again (an upsert), at the current time.
          now += random.pick([0, 1, 50, 2000]);
          const source = victim ?? generate(random, 1)[0];
          if (source !== undefined && !items.has(source.identity)) {
            const fact = { ...source.fact, updatedAt: now, confidence: random.int(5) / 4 };
            const item = { fact, identity: source.identity, base: (random.pick([0, 0, 5, 10]) + fact.confidence) / 40 };
            items.set(item.identity, item);
            pool.add(candidate(item));
          }
        }
        if (pool.exactness() !== null) {
          pool = pass();
          continue;
        }
        const expected = bruteForce([...items.values()], limits);
        const selected = selectEntries(rankEntries(pool, [], null), limits);
        checked++;
        t.deepEqual(
          selected.map((e) => [e.identity, e.salience]),
          expected.map((e) => [e.identity, e.salience]),
          `seed ${seed}, step ${step}`,
        );
        if (selected.length !== expected.length || selected.some((e, k) => e.identity !== expected[k]?.identity)) return;
      }
    }
    t.log(`${checked} windows checked, ${passes} passes`);
    t.true(checked > passes, 'most writes were absorbed without a new pass');
  });
}
