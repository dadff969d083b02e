import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { assertError } from '../helpers/envelope.js';
import { type Api, type TestServer, startTestServer, tenantApi } from '../helpers/server.js';
import {
  type FactSpec,
  STRATEGIES,
  type Shape,
  type Strategy,
  expectStatus,
  fact,
  factLine,
  retractBody,
  scopeDetails,
  scopeLines,
  tellBody,
} from './support.js';

/**
 * Three-way merge, table-driven (Dolt style): every case runs under every strategy, each row in
 * its own tenant. Base = main before the fork; "source" changes are made in the fork, "target"
 * changes in main after the fork; then the fork is merged into main.
 */
const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  // Every row runs at once: on PostgreSQL on a loaded machine, merges queue for the pool's connections
  // past the default 10 s query budget. Budgets are tested in test/rules/budget-http.test.ts; here, the merge table.
  t.context.server = await startTestServer({ VESPER_QUERY_TIMEOUT_MS: '0' });
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

const SHAPES: readonly Shape[] = [
  { predicate: 'p', arity: 1 },
  { predicate: 'q', arity: 1 },
  { predicate: 'r', arity: 1 },
];

type Step = { readonly tell: FactSpec[] } | { readonly retract: FactSpec[] };
type Outcome = { readonly facts: FactSpec[]; readonly merged: number; readonly conflicts: number } | 'rejected';

interface Row {
  readonly title: string;
  readonly base: FactSpec[];
  readonly source: Step[];
  readonly target: Step[];
  readonly expect: Readonly<Record<Strategy, Outcome>>;
}

const f = fact;
const tell = (...specs: FactSpec[]): Step => ({ tell: specs });
const retract = (...specs: FactSpec[]): Step => ({ retract: specs });
const outcome = (facts: FactSpec[], merged: number, conflicts = 0): Outcome => ({ facts, merged, conflicts });
/** No conflict: every strategy (REJECT included) gives the same result. */
const clean = (o: Outcome) => ({ SOURCE_WINS: o, TARGET_WINS: o, KEEP_BOTH: o, REJECT: o });
/** A conflict: each strategy resolves it its way; REJECT refuses the whole merge. */
const conflict = (sw: Outcome, tw: Outcome, kb: Outcome) => ({ SOURCE_WINS: sw, TARGET_WINS: tw, KEEP_BOTH: kb, REJECT: 'rejected' as const });

const ROWS: readonly Row[] = [
  {
    title: 'when a fact is added in the source only',
    base: [],
    source: [tell(f('p(a)@0.8'))],
    target: [],
    expect: clean(outcome([f('p(a)@0.8')], 1)),
  },
  {
    title: 'when a fact is added in the target only',
    base: [],
    source: [],
    target: [tell(f('p(a)@0.8'))],
    expect: clean(outcome([f('p(a)@0.8')], 0)),
  },
  {
    title: 'when the same fact is added on both sides the same way (convergent)',
    base: [],
    source: [tell(f('p(a)@0.8', { by: 'x' }))],
    target: [tell(f('p(a)@0.8', { by: 'x' }))],
    expect: clean(outcome([f('p(a)@0.8', { by: 'x' })], 0)),
  },
  {
    title: 'when the same fact is added on both sides with different confidence',
    base: [],
    source: [tell(f('p(a)@0.8'))],
    target: [tell(f('p(a)@0.6'))],
    expect: conflict(outcome([f('p(a)@0.8')], 1, 1), outcome([f('p(a)@0.6')], 0, 1), outcome([f('p(a)@0.6')], 0, 1)),
  },
  {
    title: 'when the same fact is added on both sides with different metadata',
    base: [],
    source: [tell(f('p(a)', { by: 'source' }))],
    target: [tell(f('p(a)', { by: 'target' }))],
    expect: conflict(
      outcome([f('p(a)', { by: 'source' })], 1, 1),
      outcome([f('p(a)', { by: 'target' })], 0, 1),
      outcome([f('p(a)', { by: 'target' })], 0, 1),
    ),
  },
  {
    title: 'when a fact is retracted in the source only',
    base: [f('p(a)'), f('p(b)')],
    source: [retract(f('p(a)'))],
    target: [],
    expect: clean(outcome([f('p(b)')], 1)),
  },
  {
    title: 'when a fact is retracted in the target only',
    base: [f('p(a)'), f('p(b)')],
    source: [],
    target: [retract(f('p(a)'))],
    expect: clean(outcome([f('p(b)')], 0)),
  },
  {
    title: 'when a fact is retracted on both sides (convergent)',
    base: [f('p(a)'), f('p(b)')],
    source: [retract(f('p(a)'))],
    target: [retract(f('p(a)'))],
    expect: clean(outcome([f('p(b)')], 0)),
  },
  {
    title: 'when the confidence of a fact is changed in the source only',
    base: [f('p(a)')],
    source: [tell(f('p(a)@0.5'))],
    target: [],
    expect: clean(outcome([f('p(a)@0.5')], 1)),
  },
  {
    title: 'when the confidence of a fact is changed in the target only',
    base: [f('p(a)')],
    source: [],
    target: [tell(f('p(a)@0.5'))],
    expect: clean(outcome([f('p(a)@0.5')], 0)),
  },
  {
    title: 'when the metadata of a fact is changed in the source only',
    base: [f('p(a)', { v: 1 })],
    source: [tell(f('p(a)', { v: 2 }))],
    target: [],
    expect: clean(outcome([f('p(a)', { v: 2 })], 1)),
  },
  {
    title: 'when the metadata of a fact is changed in the target only',
    base: [f('p(a)', { v: 1 })],
    source: [],
    target: [tell(f('p(a)', { v: 2 }))],
    expect: clean(outcome([f('p(a)', { v: 2 })], 0)),
  },
  {
    title: 'when a fact is changed on both sides the same way (convergent)',
    base: [f('p(a)')],
    source: [tell(f('p(a)@0.5', { v: 2 }))],
    target: [tell(f('p(a)@0.5', { v: 2 }))],
    expect: clean(outcome([f('p(a)@0.5', { v: 2 })], 0)),
  },
  {
    title: 'when a fact is re-told unchanged in the source (a new version, the same content)',
    base: [f('p(a)@0.5')],
    source: [tell(f('p(a)@0.5'))],
    target: [tell(f('p(a)@0.7'))],
    expect: clean(outcome([f('p(a)@0.7')], 0)),
  },
  {
    title: 'when the confidence of a fact is changed differently on both sides',
    base: [f('p(a)')],
    source: [tell(f('p(a)@0.5'))],
    target: [tell(f('p(a)@0.7'))],
    expect: conflict(outcome([f('p(a)@0.5')], 1, 1), outcome([f('p(a)@0.7')], 0, 1), outcome([f('p(a)@0.7')], 0, 1)),
  },
  {
    title: 'when the metadata of a fact is changed differently on both sides',
    base: [f('p(a)', { v: 1 })],
    source: [tell(f('p(a)', { v: 2 }))],
    target: [tell(f('p(a)', { v: 3 }))],
    expect: conflict(outcome([f('p(a)', { v: 2 })], 1, 1), outcome([f('p(a)', { v: 3 })], 0, 1), outcome([f('p(a)', { v: 3 })], 0, 1)),
  },
  {
    title: 'when a fact is changed in the source and retracted in the target',
    base: [f('p(a)')],
    source: [tell(f('p(a)@0.5'))],
    target: [retract(f('p(a)'))],
    // KEEP_BOTH keeps the target's version if it has one, else the source's: here the source's.
    expect: conflict(outcome([f('p(a)@0.5')], 1, 1), outcome([], 0, 1), outcome([f('p(a)@0.5')], 1, 1)),
  },
  {
    title: 'when a fact is retracted in the source and changed in the target',
    base: [f('p(a)')],
    source: [retract(f('p(a)'))],
    target: [tell(f('p(a)@0.7'))],
    expect: conflict(outcome([], 1, 1), outcome([f('p(a)@0.7')], 0, 1), outcome([f('p(a)@0.7')], 0, 1)),
  },
  {
    title: 'when opposite truths are added: p in the source, NOT p in the target',
    base: [],
    source: [tell(f('p(a)'))],
    target: [tell(f('¬p(a)'))],
    // SOURCE_WINS writes p and retracts NOT p (2 changes); KEEP_BOTH adds p next to NOT p.
    expect: conflict(outcome([f('p(a)')], 2, 1), outcome([f('¬p(a)')], 0, 1), outcome([f('p(a)'), f('¬p(a)')], 1, 1)),
  },
  {
    title: 'when opposite truths are added: NOT p in the source, p in the target',
    base: [],
    source: [tell(f('¬p(a)@0.9'))],
    target: [tell(f('p(a)@0.4'))],
    expect: conflict(outcome([f('¬p(a)@0.9')], 2, 1), outcome([f('p(a)@0.4')], 0, 1), outcome([f('p(a)@0.4'), f('¬p(a)@0.9')], 1, 1)),
  },
  {
    title: 'when the truth of a fact is flipped in the source only',
    base: [f('p(a)'), f('q(a)')],
    source: [retract(f('p(a)')), tell(f('¬p(a)'))],
    target: [],
    expect: clean(outcome([f('¬p(a)'), f('q(a)')], 2)),
  },
  {
    title: 'when the truth of a fact is flipped on both sides the same way (convergent)',
    base: [f('p(a)')],
    source: [retract(f('p(a)')), tell(f('¬p(a)'))],
    target: [retract(f('p(a)')), tell(f('¬p(a)'))],
    expect: clean(outcome([f('¬p(a)')], 0)),
  },
  {
    title: 'when the source flips a fact that the target changed',
    base: [f('p(a)')],
    source: [retract(f('p(a)')), tell(f('¬p(a)'))],
    target: [tell(f('p(a)@0.7'))],
    expect: conflict(outcome([f('¬p(a)')], 2, 1), outcome([f('p(a)@0.7')], 0, 1), outcome([f('p(a)@0.7'), f('¬p(a)')], 1, 1)),
  },
  {
    title: 'when both sides make unrelated changes',
    base: [f('p(a)'), f('p(b)')],
    source: [tell(f('q(a)')), retract(f('p(a)'))],
    target: [tell(f('r(a)@0.3')), tell(f('p(b)@0.5'))],
    expect: clean(outcome([f('p(b)@0.5'), f('q(a)'), f('r(a)@0.3')], 2)),
  },
  {
    title: 'when one conflict comes among clean changes',
    base: [f('p(a)')],
    source: [tell(f('p(a)@0.5'), f('q(a)'))],
    target: [tell(f('p(a)@0.7'), f('r(a)'))],
    expect: conflict(
      outcome([f('p(a)@0.5'), f('q(a)'), f('r(a)')], 2, 1),
      outcome([f('p(a)@0.7'), f('q(a)'), f('r(a)')], 1, 1),
      outcome([f('p(a)@0.7'), f('q(a)'), f('r(a)')], 1, 1),
    ),
  },
  {
    title: 'when the fork changed nothing',
    base: [f('p(a)'), f('¬q(a)')],
    source: [],
    target: [tell(f('r(a)'))],
    expect: clean(outcome([f('p(a)'), f('¬q(a)'), f('r(a)')], 0)),
  },
];

const lines = (facts: readonly FactSpec[]) => facts.map(factLine).sort();

async function apply(client: Api, scope: string, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    if ('tell' in step) expectStatus(await client.post('/tell', tellBody(scope, step.tell)), 200, `tell in ${scope}`);
    else for (const spec of step.retract) expectStatus(await client.post('/retract', retractBody(scope, spec)), 200, `retract in ${scope}`);
  }
}

/** A tenant with the row's base in main, forked into `feature`, with both sides' changes made. */
async function prepare(t: ExecutionContext<{ server: TestServer }>, row: Row, tenant: string): Promise<Api> {
  const client = tenantApi(t.context.server.url, tenant);
  if (row.base.length > 0) expectStatus(await client.post('/tell', tellBody('main', row.base)), 200, 'tell base');
  expectStatus(await client.post('/scope/fork', { source: 'main', target: 'feature' }), 201, 'fork');
  await apply(client, 'feature', row.source);
  await apply(client, 'main', row.target);
  return client;
}

const factCount = async (client: Api, scope: string) => (await scopeDetails(client)).find((d) => d.name === scope)?.facts;

let tenants = 0;

for (const row of ROWS) {
  for (const strategy of STRATEGIES) {
    const expected = row.expect[strategy];
    const does = expected === 'rejected' ? 'is a 409 and changes nothing' : `gives the expected target (${expected.merged} merged, ${expected.conflicts} conflicts)`;
    test(`POST /scope/merge ${strategy} › ${row.title} › ${does}`, async (t) => {
      const client = await prepare(t, row, `mt_${++tenants}_${strategy.toLowerCase()}`);
      const targetBefore = await scopeLines(client, 'main', SHAPES);
      const sourceBefore = await scopeLines(client, 'feature', SHAPES);
      const reply = await client.post('/scope/merge', { source: 'feature', target: 'main', strategy });
      if (expected === 'rejected') {
        assertError(t, reply, 409, 'CONFLICT');
        t.is(reply.json?.details?.conflicts?.length, 1, 'the 409 lists the conflict');
        t.deepEqual(await scopeLines(client, 'main', SHAPES), targetBefore, 'the target is unchanged');
        t.is(await factCount(client, 'main'), targetBefore.length);
      } else {
        t.is(reply.status, 200, reply.text);
        t.deepEqual(Object.keys(reply.json).sort(), ['conflicts', 'conflictsResolved', 'merged', 'result', 'source', 'strategy', 'target']);
        t.like(reply.json, { source: 'feature', target: 'main', strategy, merged: expected.merged, conflictsResolved: expected.conflicts });
        t.is(reply.json.result, expected.merged === 0 && expected.conflicts === 0 ? 'up-to-date' : 'merged');
        t.is(reply.json.conflicts.length, expected.conflicts);
        t.deepEqual(await scopeLines(client, 'main', SHAPES), lines(expected.facts), 'the target after the merge');
        t.is(await factCount(client, 'main'), expected.facts.length, 'GET /scopes counts the merged target');
      }
      t.deepEqual(await scopeLines(client, 'feature', SHAPES), sourceBefore, 'a merge never changes its source');
    });
  }
}

// ---- The base of a second merge is the source as it was merged, not the fork point ----

async function forked(t: ExecutionContext<{ server: TestServer }>, base: FactSpec[]): Promise<Api> {
  const client = tenantApi(t.context.server.url, `mt_${++tenants}_again`);
  expectStatus(await client.post('/tell', tellBody('main', base)), 200, 'tell base');
  expectStatus(await client.post('/scope/fork', { source: 'main', target: 'feature' }), 201, 'fork');
  return client;
}

const merge = async (client: Api, strategy?: Strategy) =>
  client.post('/scope/merge', strategy === undefined ? { source: 'feature', target: 'main' } : { source: 'feature', target: 'main', strategy });

test('POST /scope/merge › when merging again › a change the target made since the last merge is kept, not a conflict', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  await apply(client, 'feature', [tell(f('p(a)@0.5'))]);
  t.like((await merge(client, 'REJECT')).json, { result: 'merged', merged: 1 });
  await apply(client, 'main', [tell(f('p(a)@0.7'))]);
  const again = await merge(client, 'REJECT');
  t.is(again.status, 200, again.text);
  t.like(again.json, { result: 'up-to-date', merged: 0, conflictsResolved: 0 });
  t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(a)@0.7')]));
});

test('POST /scope/merge › when merging again › a change the source made since the last merge flows in', async (t) => {
  const client = await forked(t, [f('p(a)'), f('p(b)')]);
  await apply(client, 'feature', [tell(f('p(a)@0.5'))]);
  t.like((await merge(client, 'REJECT')).json, { merged: 1 });
  await apply(client, 'feature', [tell(f('p(a)@0.3')), retract(f('p(b)'))]);
  const again = await merge(client, 'REJECT');
  t.is(again.status, 200, again.text);
  t.like(again.json, { result: 'merged', merged: 2, conflictsResolved: 0 });
  t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(a)@0.3')]));
});

test('POST /scope/merge › when merging again › a conflict resolved TARGET_WINS is not raised again while the source stays put', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  await apply(client, 'feature', [tell(f('p(a)@0.5'))]);
  await apply(client, 'main', [tell(f('p(a)@0.7'))]);
  t.like((await merge(client, 'TARGET_WINS')).json, { merged: 0, conflictsResolved: 1 });
  const again = await merge(client, 'REJECT');
  t.is(again.status, 200, again.text);
  t.like(again.json, { result: 'up-to-date', merged: 0, conflictsResolved: 0 });
  t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(a)@0.7')]));
});

test('POST /scope/merge › when a REJECT merge was refused › the base does not move: a later merge sees the same conflict', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  await apply(client, 'feature', [tell(f('p(a)@0.5'), f('q(a)'))]);
  await apply(client, 'main', [tell(f('p(a)@0.7'))]);
  assertError(t, await merge(client, 'REJECT'), 409, 'CONFLICT');
  assertError(t, await merge(client), 409, 'CONFLICT');
  const resolved = await merge(client, 'SOURCE_WINS');
  t.like(resolved.json, { result: 'merged', merged: 2, conflictsResolved: 1 });
  t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(a)@0.5'), f('q(a)')]));
});

// ---- Contract of the merge request and reply ----

test('POST /scope/merge › when no strategy is given › it is REJECT: a conflict is a 409, a clean merge goes through', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  await apply(client, 'feature', [tell(f('q(a)'))]);
  const clean = await merge(client);
  t.is(clean.status, 200, clean.text);
  t.like(clean.json, { strategy: 'REJECT', result: 'merged', merged: 1 });
  await apply(client, 'feature', [tell(f('p(a)@0.5'))]);
  await apply(client, 'main', [tell(f('p(a)@0.6'))]);
  const refused = await merge(client);
  assertError(t, refused, 409, 'CONFLICT');
  const conflict = refused.json.details.conflicts[0];
  t.like(conflict, { predicate: 'p', args: ['a'], source: { confidence: 0.5, scope: 'feature' }, target: { confidence: 0.6, scope: 'main' } });
});

test('POST /scope/merge › when a conflict is resolved › the reply lists it with both sides', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  await apply(client, 'feature', [retract(f('p(a)')), tell(f('¬p(a)'))]);
  await apply(client, 'main', [tell(f('p(a)@0.7'))]);
  const reply = await merge(client, 'SOURCE_WINS');
  t.is(reply.status, 200, reply.text);
  t.is(reply.json.conflicts.length, 1);
  t.like(reply.json.conflicts[0], {
    predicate: 'p',
    args: ['a'],
    source: { predicate: 'p', args: ['a'], negated: true, scope: 'feature' },
    target: { predicate: 'p', args: ['a'], negated: false, scope: 'main', confidence: 0.7 },
  });
});

for (const [source, target] of [
  ['sourceScope', 'targetScope'],
  ['scopeA', 'scopeB'],
] as const) {
  test(`POST /scope/merge › when the scopes are named ${source}/${target} › they are source and target`, async (t) => {
    const client = await forked(t, [f('p(a)')]);
    await apply(client, 'feature', [tell(f('q(a)'))]);
    const reply = await client.post('/scope/merge', { [source]: 'feature', [target]: 'main', strategy: 'SOURCE_WINS' });
    t.is(reply.status, 200, reply.text);
    t.like(reply.json, { source: 'feature', target: 'main', merged: 1 });
    t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(a)'), f('q(a)')]));
  });
}

test('POST /scope/merge › when a scope is unknown or merged into itself › 404 and 400', async (t) => {
  const client = await forked(t, [f('p(a)')]);
  assertError(t, await client.post('/scope/merge', { source: 'nope', target: 'main' }), 404, 'NOT_FOUND');
  assertError(t, await client.post('/scope/merge', { source: 'feature', target: 'nope' }), 404, 'NOT_FOUND');
  assertError(t, await client.post('/scope/merge', { source: 'main', target: 'main' }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/scope/merge', { source: 'feature', target: 'main', strategy: 'THEIRS' }), 400, 'VALIDATION_ERROR');
  assertError(t, await client.post('/scope/merge', { target: 'main' }), 400, 'VALIDATION_ERROR');
});

test('POST /scope/merge › when main is merged into a fork › the fork gets main\'s changes (three-way both ways)', async (t) => {
  const client = await forked(t, [f('p(a)'), f('p(b)')]);
  await apply(client, 'main', [retract(f('p(a)')), tell(f('q(a)'))]);
  await apply(client, 'feature', [tell(f('r(a)'))]);
  const reply = await client.post('/scope/merge', { source: 'main', target: 'feature', strategy: 'REJECT' });
  t.is(reply.status, 200, reply.text);
  t.like(reply.json, { result: 'merged', merged: 2, conflictsResolved: 0 });
  t.deepEqual(await scopeLines(client, 'feature', SHAPES), lines([f('p(b)'), f('q(a)'), f('r(a)')]));
  t.deepEqual(await scopeLines(client, 'main', SHAPES), lines([f('p(b)'), f('q(a)')]));
});
