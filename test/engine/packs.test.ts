/** The rule packs in rules/ parse, compile, and mean what their comments say. */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { compileProgram, formatRule, parseRules } from '../../src/engine/index.js';
import { ask, column } from './ask.js';
import { fact, negatedFact } from './memory-source.js';

const pack = (name: string): string => readFileSync(new URL(`../../rules/${name}.vr`, import.meta.url), 'utf8');

for (const name of ['family', 'saas', 'graph']) {
  test(`rules/${name}.vr › parses and compiles › and its canonical text parses back to the same rules`, (t) => {
    const rules = parseRules(pack(name));
    t.true(rules.length >= 5);
    t.notThrows(() => compileProgram(rules));
    t.deepEqual(parseRules(rules.map(formatRule).join('\n')), rules);
  });
}

test('rules/family.vr › a small family › ancestors, siblings, cousins, roots', async (t) => {
  const facts = [
    fact('parent', 'gran', 'mum'),
    fact('parent', 'gran', 'uncle'),
    fact('parent', 'mum', 'me'),
    fact('parent', 'mum', 'sis'),
    fact('parent', 'uncle', 'cousin'),
  ];
  t.deepEqual(column(await ask(pack('family'), facts, 'ancestor(?a, me)'), 'a'), ['gran', 'mum']);
  t.deepEqual(column(await ask(pack('family'), facts, 'sibling(me, ?s)'), 's'), ['sis']);
  t.deepEqual(column(await ask(pack('family'), facts, 'cousin(me, ?c)'), 'c'), ['cousin']);
  t.deepEqual(column(await ask(pack('family'), facts, 'grandparent(?g, cousin)'), 'g'), ['gran']);
  t.deepEqual(column(await ask(pack('family'), facts, 'root_ancestor(?r)'), 'r'), ['gran']);
});

test('rules/saas.vr › accounts › discounts, entitlements with revocation, seat limits', async (t) => {
  const facts = [
    ...['acme', 'globex', 'initech'].map((c) => fact('customer', c)),
    fact('churned', 'initech'),
    fact('plan', 'acme', 'enterprise'),
    fact('seats', 'acme', 150),
    fact('plan', 'globex', 'pro'),
    fact('seats', 'globex', 45),
    fact('plan', 'initech', 'pro'),
    fact('seats', 'initech', 60),
    fact('seat_limit', 'pro', 40),
    fact('includes', 'enterprise', 'sso'),
    fact('includes', 'enterprise', 'audit'),
    fact('includes', 'pro', 'sso'),
    fact('addon', 'globex', 'audit'),
    negatedFact('entitled', 'acme', 'audit'),
  ];
  const saas = pack('saas');
  t.deepEqual((await ask(saas, facts, 'discount(?c, ?d)')).bindings, [{ c: 'acme', d: 0.2 }, { c: 'initech', d: 0.1 }]);
  t.deepEqual((await ask(saas, facts, 'entitled(?c, ?f)')).bindings, [{ c: 'acme', f: 'sso' }, { c: 'globex', f: 'audit' }, { c: 'globex', f: 'sso' }]);
  t.deepEqual(column(await ask(saas, facts, 'over_seat_limit(?c)'), 'c'), ['globex']);
  t.deepEqual(column(await ask(saas, facts, 'upsell_candidate(?c)'), 'c'), ['globex']);
});

test('rules/graph.vr › a graph with one cycle › cycle members, cyclic(), sinks', async (t) => {
  const facts = [fact('edge', 'a', 'b'), fact('edge', 'b', 'c'), fact('edge', 'c', 'b'), fact('edge', 'c', 'd'), ...['a', 'b', 'c', 'd'].map((n) => fact('node', n))];
  const graph = pack('graph');
  t.deepEqual(column(await ask(graph, facts, 'on_cycle(?x)'), 'x'), ['b', 'c']);
  t.is((await ask(graph, facts, 'on_cycle(a)')).answers.length, 0);
  t.deepEqual((await ask(graph, facts, 'cyclic()')).bindings, [{}]);
  t.deepEqual((await ask(graph, facts.filter((f) => f.args[0] !== 'c' || f.args[1] !== 'b'), 'cyclic()')).bindings, []);
  t.deepEqual(column(await ask(graph, facts, 'same_cycle(b, ?y)'), 'y'), ['b', 'c']);
  t.deepEqual(column(await ask(graph, facts, 'sink(?x)'), 'x'), ['d']);
});
