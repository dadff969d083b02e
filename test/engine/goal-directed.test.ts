/**
 * Goal-directedness: a query touches only what it can reach. Asserted on the store scans the
 * engine issues (MemorySource records every match pattern) and on its own counters.
 */
import test from 'ava';
import type { Term } from '../../src/domain/fact.js';
import { ask, column } from './ask.js';
import type { MemoryFact } from './memory-source.js';
import { fact } from './memory-source.js';

const ANCESTOR = `
  ancestor(?x, ?y) :- parent(?x, ?y).
  ancestor(?x, ?z) :- parent(?x, ?y), ancestor(?y, ?z).
`;
const family = ['alice', 'bob', 'carol', 'dave'];

/** alice → bob → carol → dave, plus a large component (with cycles) that none of them reaches. */
function world(): MemoryFact[] {
  const facts = family.slice(1).map((child, i) => fact('parent', family[i]!, child));
  for (let i = 0; i < 2000; i++) facts.push(fact('parent', `p${i % 1000}`, `p${(i * 7 + 1) % 1000}`));
  return facts;
}

const touches = (args: readonly (Term | undefined)[]): boolean => args.some((arg) => typeof arg === 'string' && arg.startsWith('p'));

test('ancestor(alice, ?y) › a large disconnected component › is neither scanned nor derived', async (t) => {
  const asked = await ask(ANCESTOR, world(), 'ancestor(alice, ?y)');
  t.deepEqual(column(asked, 'y'), ['bob', 'carol', 'dave']);
  const scans = asked.source.callsFor('parent');
  t.true(scans.length > 0 && scans.length <= family.length, `${scans.length} scans`);
  for (const scan of scans) {
    t.not(scan.args[0], undefined, 'no full scan of parent');
    t.false(touches(scan.args));
  }
  t.true(asked.stats.derivedTuples <= 3, `${asked.stats.derivedTuples} derived`);
  t.true(asked.stats.storedFactsRead <= 3, `${asked.stats.storedFactsRead} read`);
});

test('ancestor(?x, dave) › bound on the other side › scans only dave’s ancestors', async (t) => {
  const asked = await ask(ANCESTOR, world(), 'ancestor(?x, dave)');
  t.deepEqual(column(asked, 'x'), ['alice', 'bob', 'carol']);
  for (const scan of asked.source.callsFor('parent')) {
    t.not(scan.args[1], undefined, 'no full scan of parent');
    t.false(touches(scan.args));
  }
  t.true(asked.stats.derivedTuples <= 6);
});

test('goal-directed › through negation and several strata › only the asked customer is looked at', async (t) => {
  const rules = `
    active_customer(?c) :- customer(?c), not churned(?c).
    entitled(?c, ?f) :- active_customer(?c), plan(?c, ?tier), includes(?tier, ?f), not -entitled(?c, ?f).
  `;
  const facts: MemoryFact[] = [fact('includes', 'pro', 'sso'), fact('includes', 'pro', 'audit')];
  for (let i = 0; i < 1000; i++) facts.push(fact('customer', `c${i}`), fact('plan', `c${i}`, 'pro'));
  for (let i = 0; i < 1000; i += 2) facts.push(fact('churned', `c${i}`));
  facts.push({ predicate: 'entitled', args: ['c7', 'audit'], negated: true });
  const asked = await ask(rules, facts, 'entitled(c7, ?f)');
  t.deepEqual(column(asked, 'f'), ['sso']);
  for (const scan of asked.source.calls) {
    const other = scan.args.some((arg) => typeof arg === 'string' && /^c\d+$/.test(arg) && arg !== 'c7');
    t.false(other, JSON.stringify(scan));
    if (scan.predicate === 'customer' || scan.predicate === 'churned') t.deepEqual(scan.args, ['c7']);
  }
  t.is((await ask(rules, facts, 'entitled(c8, ?f)')).answers.length, 0);
});

test('goal-directed › single source versus full closure › derives far less', async (t) => {
  const facts: MemoryFact[] = [];
  for (let i = 0; i < 300; i++) facts.push(fact('parent', i, i + 1));
  const one = await ask(ANCESTOR, facts, 'ancestor(250, ?y)');
  const all = await ask(ANCESTOR, facts, 'ancestor(?x, ?y)');
  t.is(one.answers.length, 50);
  t.is(all.answers.length, (300 * 301) / 2);
  t.true(one.stats.derivedTuples * 100 < all.stats.derivedTuples);
});
