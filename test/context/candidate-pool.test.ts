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
