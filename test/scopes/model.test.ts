import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { type Random, seededRandom } from '../helpers/random.js';
import type { Api, Reply } from '../helpers/server.js';
import { STRATEGIES, type Shape, type Strategy, leanApi, linesByScope, scopeDetails, scopeLines } from './support.js';

/**
 * Model-based test: random sequences of tell / retract / fork / merge / delete run on Vesper and
 * on a naive model (a scope is a Map of fact → content; fork copies it; merge is the three-way
 * rule over a base that is a copy of the source at the fork, or at the last merge of the same
 * source into the same target). After every step every scope must read as the model says.
 *
 * Replay one sequence: SCOPES_MODEL_SEED=<seed> npx ava test/scopes/model.test.ts
 */
const test = anyTest as TestFn<{ server: ChildServer; dataDir: string }>;

// npm test runs 100 sequences (its 5 minutes on 2 cores); `npm run torture -- models` runs 400 (VESPER_TEST_LONG=1).
const SEQUENCES = process.env['VESPER_TEST_LONG'] === '1' ? 400 : 100;
const FIRST_SEED = 0x5c0be;
const GROUPS = process.env['VESPER_TEST_LONG'] === '1' ? 20 : 5;
const WIDTH = 24;

test.before(async (t) => {
  t.context.dataDir = await mkdtemp(join(tmpdir(), 'vesper-model-'));
  // A child process: the server gets its own core while this worker runs the model and the client.
  t.context.server = await spawnServer(t.context.dataDir);
  // If the run is cut short (a timeout skips after hooks), do not leave the child behind.
  const server = t.context.server;
  process.once('exit', () => server.kill('SIGKILL'));
});

test.after.always(async (t) => {
  if (t.context.server) {
    t.context.server.kill('SIGTERM');
    await t.context.server.exited;
  }
  if (t.context.dataDir) await rm(t.context.dataDir, { recursive: true, force: true });
});

// ---- The domain: 3 predicates, 4 constants, arity 1–2, three contents ----

const SHAPES: readonly Shape[] = [
  { predicate: 'p', arity: 1 },
  { predicate: 'q', arity: 2 },
  { predicate: 'r', arity: 1, positiveOnly: true },
];
const CONSTANTS = ['a', 'b', 'c', 'd'];
const NAMES = ['main', 's1', 's2', 's3', 's4', 's5'];

interface Content {
  readonly confidence: number;
  readonly metadata: { v: number } | null;
}
const CONTENTS: readonly Content[] = [
  { confidence: 1, metadata: null },
  { confidence: 0.5, metadata: null },
  { confidence: 1, metadata: { v: 1 } },
];

/** Fact identity as text: `¬q(a,b)`; the key (predicate + args) is the identity without `¬`. */
type State = Map<string, Content>;
const idOf = (predicate: string, args: readonly string[], negated: boolean) => `${negated ? '¬' : ''}${predicate}(${args.join(',')})`;
const keyOf = (id: string) => (id.startsWith('¬') ? id.slice(1) : id);
const opposite = (id: string) => (id.startsWith('¬') ? id.slice(1) : '¬' + id);
const lineOf = (id: string, c: Content) => `${id}@${c.confidence}${c.metadata === null ? '' : ' ' + JSON.stringify(c.metadata)}`;
const linesOf = (state: State) => [...state].map(([id, c]) => lineOf(id, c)).sort();

function sameContent(a: Content | undefined, b: Content | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.confidence === b.confidence && JSON.stringify(a.metadata) === JSON.stringify(b.metadata);
}

// ---- The model ----

interface ModelScope {
  facts: State;
  readonly base: string | null;
  /** Frozen states this scope descends from, oldest first (fork points and merges out of it). */
  readonly history: number[];
  /** Per source merged into this scope: the frozen state of the source at that merge. */
  readonly merges: Map<string, number>;
}

interface MergeOutcome {
  readonly result: State;
  readonly merged: number;
  readonly conflicts: number;
}

/** One polarity: a side that did not change since the base yields to the one that did. */
function resolveOne(base: Content | undefined, source: Content | undefined, target: Content | undefined, strategy: Strategy) {
  if (sameContent(source, base)) return { result: target, conflict: false };
  if (sameContent(target, base)) return { result: source, conflict: false };
  if (sameContent(source, target)) return { result: target, conflict: false };
  const pick = { SOURCE_WINS: source, TARGET_WINS: target, KEEP_BOTH: target ?? source, REJECT: target }[strategy];
  return { result: pick, conflict: true };
}

export function threeWay(base: State, source: State, target: State, strategy: Strategy): MergeOutcome {
  const result = new Map(target);
  const keys = new Set([...base.keys(), ...source.keys(), ...target.keys()].map(keyOf));
  let merged = 0;
  let conflicts = 0;
  for (const key of keys) {
    const neg = '¬' + key;
    const p = resolveOne(base.get(key), source.get(key), target.get(key), strategy);
    const n = resolveOne(base.get(neg), source.get(neg), target.get(neg), strategy);
    let positive = p.result;
    let negative = n.result;
    let conflict = p.conflict || n.conflict;
    if (positive && negative && !(target.has(key) && target.has(neg))) {
      // Opposite truths meet: SOURCE_WINS keeps the source's polarity, TARGET_WINS (and REJECT) the target's, KEEP_BOTH both.
      conflict = true;
      if (strategy === 'SOURCE_WINS') {
        if (!source.has(key)) positive = undefined;
        else negative = undefined;
      } else if (strategy !== 'KEEP_BOTH') {
        if (!target.has(key)) positive = undefined;
        else negative = undefined;
      }
    }
    if (conflict) conflicts++;
    for (const [id, after] of [
      [key, positive],
      [neg, negative],
    ] as const) {
      if (sameContent(after, target.get(id))) continue;
      merged++;
      if (after === undefined) result.delete(id);
      else result.set(id, after);
    }
  }
  return { result, merged, conflicts };
}

class Model {
  readonly scopes = new Map<string, ModelScope>([['main', { facts: new Map(), base: null, history: [], merges: new Map() }]]);
  private readonly frozen = new Map<number, State>();
  private nextFrozen = 0;

  private freeze(scope: ModelScope): number {
    const id = this.nextFrozen++;
    this.frozen.set(id, new Map(scope.facts));
    scope.history.push(id);
    return id;
  }

  fork(source: string, target: string): void {
    const from = this.scopes.get(source) as ModelScope;
    this.freeze(from);
    this.scopes.set(target, { facts: new Map(from.facts), base: source, history: [...from.history], merges: new Map() });
  }

  /** The base: the source at its last merge into the target, else the latest frozen state both descend from. */
  private baseOf(sourceName: string, source: ModelScope, target: ModelScope): State {
    const merged = target.merges.get(sourceName);
    if (merged !== undefined) return this.frozen.get(merged) as State;
    let common: number | undefined;
    for (let i = 0; i < Math.min(source.history.length, target.history.length) && source.history[i] === target.history[i]; i++) common = source.history[i];
    return common === undefined ? new Map() : (this.frozen.get(common) as State);
  }

  planMerge(sourceName: string, targetName: string, strategy: Strategy): MergeOutcome {
    const source = this.scopes.get(sourceName) as ModelScope;
    const target = this.scopes.get(targetName) as ModelScope;
    return threeWay(this.baseOf(sourceName, source, target), source.facts, target.facts, strategy);
  }

  commitMerge(sourceName: string, targetName: string, outcome: MergeOutcome): void {
    const source = this.scopes.get(sourceName) as ModelScope;
    const target = this.scopes.get(targetName) as ModelScope;
    target.facts = outcome.result;
    target.merges.set(sourceName, this.freeze(source));
  }

  remove(name: string): void {
    this.scopes.delete(name);
    for (const scope of this.scopes.values()) scope.merges.delete(name);
  }
}

// ---- Steps: each one runs on Vesper and on the model, and checks the reply ----

class Mismatch extends Error {}

function expect(condition: boolean, what: string, reply?: Reply): void {
  if (!condition) throw new Mismatch(`${what}${reply ? ` — got ${reply.status}: ${reply.text.slice(0, 400)}` : ''}`);
}

interface Told {
  readonly predicate: string;
  readonly args: string[];
  readonly negated: boolean;
  readonly content: Content;
}

function randomFact(rng: Random): Told {
  const shape = rng.pick(SHAPES);
  const args = Array.from({ length: shape.arity }, () => rng.pick(CONSTANTS));
  return { predicate: shape.predicate, args, negated: !shape.positiveOnly && rng.chance(0.25), content: rng.pick(CONTENTS) };
}

async function stepTell(api: Api, model: Model, rng: Random, trace: string[]): Promise<void> {
  const existing = [...model.scopes.keys()];
  const unused = NAMES.filter((n) => !model.scopes.has(n));
  // Rarely, a scope first named by a write (a root scope of its own).
  const scope = unused.length > 0 && rng.chance(0.05) ? rng.pick(unused) : rng.pick(existing);
  const facts = Array.from({ length: 1 + rng.int(4) }, () => randomFact(rng));
  const working: State = new Map(model.scopes.get(scope)?.facts ?? []);
  let contradiction = false;
  for (const f of facts) {
    const id = idOf(f.predicate, f.args, f.negated);
    if (working.has(opposite(id))) contradiction = true;
    working.set(id, f.content);
  }
  trace.push(`tell ${scope} [${facts.map((f) => lineOf(idOf(f.predicate, f.args, f.negated), f.content)).join(', ')}]`);
  const body = { scope, facts: facts.map((f) => ({ predicate: f.predicate, args: f.args, negated: f.negated, ...f.content })) };
  const reply = await api.post('/tell', body);
  if (contradiction) {
    expect(reply.status === 409 && reply.json?.code === 'CONFLICT', 'a contradicting tell is a 409', reply);
    return;
  }
  expect(reply.status === 200 && reply.json.told === facts.length, 'tell is a 200', reply);
  const target = model.scopes.get(scope);
  if (target) target.facts = working;
  else model.scopes.set(scope, { facts: working, base: null, history: [], merges: new Map() });
}

function randomPattern(rng: Random): { predicate: string; args: string[]; negated: boolean } {
  const shape = rng.pick(SHAPES);
  const term = () => (rng.chance(0.5) ? rng.pick(CONSTANTS) : rng.pick(['?x', '?y']));
  return { predicate: shape.predicate, args: Array.from({ length: shape.arity }, term), negated: !shape.positiveOnly && rng.chance(0.25) };
}

function matches(id: string, pattern: { predicate: string; args: string[]; negated: boolean }): boolean {
  const negated = id.startsWith('¬');
  const m = /^(\w+)\((.*)\)$/.exec(keyOf(id));
  if (!m || negated !== pattern.negated || m[1] !== pattern.predicate) return false;
  const args = (m[2] as string).split(',');
  if (args.length !== pattern.args.length) return false;
  const bound = new Map<string, string>();
  return pattern.args.every((p, i) => {
    const a = args[i] as string;
    if (!p.startsWith('?')) return p === a;
    if (bound.has(p)) return bound.get(p) === a;
    bound.set(p, a);
    return true;
  });
}

async function stepRetract(api: Api, model: Model, rng: Random, trace: string[]): Promise<void> {
  const roll = rng.next();
  const scope = roll < 0.1 ? null : roll < 0.15 ? rng.pick(NAMES.filter((n) => !model.scopes.has(n)).concat('nowhere')) : rng.pick([...model.scopes.keys()]);
  const pattern = randomPattern(rng);
  const targets = scope === null ? [...model.scopes.values()] : [model.scopes.get(scope)].filter((s) => s !== undefined);
  let count = 0;
  for (const target of targets) {
    for (const id of [...target.facts.keys()]) {
      if (!matches(id, pattern)) continue;
      target.facts.delete(id);
      count++;
    }
  }
  trace.push(`retract ${scope ?? '(all scopes)'} ${idOf(pattern.predicate, pattern.args, pattern.negated)} → ${count}`);
  const reply = await api.post('/retract', { ...pattern, scope });
  expect(reply.status === 200 && reply.json.retracted === count, `retract answers {retracted: ${count}}`, reply);
}

async function stepFork(api: Api, model: Model, rng: Random, trace: string[]): Promise<void> {
  const unused = NAMES.filter((n) => !model.scopes.has(n));
  const source = rng.chance(0.05) || model.scopes.size === 0 ? 'ghost' : rng.pick([...model.scopes.keys()]);
  const target = unused.length === 0 || rng.chance(0.08) ? rng.pick([...model.scopes.keys()]) : rng.pick(unused);
  trace.push(`fork ${source} → ${target}`);
  const reply = await api.post('/scope/fork', { source, target });
  if (!model.scopes.has(source)) return expect(reply.status === 404, 'fork of an unknown scope is a 404', reply);
  if (model.scopes.has(target)) return expect(reply.status === 409, 'fork onto an existing scope is a 409', reply);
  expect(reply.status === 201, 'fork is a 201', reply);
  model.fork(source, target);
}

async function stepMerge(api: Api, model: Model, rng: Random, trace: string[]): Promise<void> {
  const names = [...model.scopes.keys()];
  if (names.length === 1 && rng.chance(0.9)) return stepFork(api, model, rng, trace);
  const source = rng.chance(0.03) ? 'ghost' : rng.pick(names);
  const target = rng.chance(0.03) || names.length === 1 ? source : rng.pick(names.filter((n) => n !== source));
  const strategy = rng.pick(STRATEGIES);
  const reply = await api.post('/scope/merge', { source, target, strategy });
  if (source === target) {
    trace.push(`merge ${source} → ${target} (itself)`);
    return expect(reply.status === 400, 'a merge into itself is a 400', reply);
  }
  if (!model.scopes.has(source) || !model.scopes.has(target)) {
    trace.push(`merge ${source} → ${target} (unknown)`);
    return expect(reply.status === 404, 'a merge of an unknown scope is a 404', reply);
  }
  const outcome = model.planMerge(source, target, strategy);
  trace.push(`merge ${source} → ${target} ${strategy}: expect merged ${outcome.merged}, conflicts ${outcome.conflicts}`);
  if (strategy === 'REJECT' && outcome.conflicts > 0) {
    return expect(reply.status === 409 && reply.json?.code === 'CONFLICT', `REJECT with ${outcome.conflicts} conflict(s) is a 409`, reply);
  }
  expect(reply.status === 200, 'merge is a 200', reply);
  const kind = outcome.merged === 0 && outcome.conflicts === 0 ? 'up-to-date' : 'merged';
  expect(
    reply.json.result === kind && reply.json.merged === outcome.merged && reply.json.conflictsResolved === outcome.conflicts,
    `merge answers ${kind}, merged ${outcome.merged}, conflictsResolved ${outcome.conflicts}`,
    reply,
  );
  model.commitMerge(source, target, outcome);
}

async function stepDelete(api: Api, model: Model, rng: Random, trace: string[]): Promise<void> {
  const roll = rng.next();
  const others = [...model.scopes.keys()].filter((n) => n !== 'main');
  const name = roll < 0.05 ? 'main' : roll < 0.1 || others.length === 0 ? 'ghost' : rng.pick(others);
  trace.push(`delete ${name}`);
  const reply = await api.request('DELETE', `/scope/${name}`);
  if (name === 'main') return expect(reply.status === 400, 'deleting main is a 400', reply);
  if (!model.scopes.has(name)) return expect(reply.status === 404, 'deleting an unknown scope is a 404', reply);
  expect(reply.status === 200, 'delete is a 200', reply);
  model.remove(name);
}

const STEPS = [
  { weight: 34, run: stepTell },
  { weight: 14, run: stepRetract },
  { weight: 16, run: stepFork },
  { weight: 28, run: stepMerge },
  { weight: 8, run: stepDelete },
];
const TOTAL_WEIGHT = STEPS.reduce((sum, s) => sum + s.weight, 0);

function pickStep(rng: Random) {
  let roll = rng.int(TOTAL_WEIGHT);
  for (const step of STEPS) {
    if (roll < step.weight) return step.run;
    roll -= step.weight;
  }
  throw new TypeError('unreachable');
}

// ---- Checks: the list of scopes with their counts, and every fact of every scope ----

async function checkAll(api: Api, model: Model, perScope: boolean): Promise<void> {
  const details = await scopeDetails(api);
  const expected = [...model.scopes].map(([name, s]) => ({ name, base: s.base, facts: s.facts.size })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const actual = details.map((d) => ({ name: d.name, base: d.base, facts: d.facts }));
  expect(JSON.stringify(actual) === JSON.stringify(expected), `GET /scopes\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`);
  const all = await linesByScope(api, SHAPES);
  for (const name of all.keys()) expect(model.scopes.has(name), `a read of all scopes answers for scope '${name}', which should not exist`);
  for (const [name, scope] of model.scopes) {
    const want = linesOf(scope.facts);
    const got = all.get(name) ?? [];
    expect(JSON.stringify(got) === JSON.stringify(want), `scope '${name}' (all-scope read)\n  expected ${JSON.stringify(want)}\n  actual   ${JSON.stringify(got)}`);
  }
  if (!perScope) return;
  for (const [name, scope] of model.scopes) {
    const want = linesOf(scope.facts);
    const got = await scopeLines(api, name, SHAPES);
    expect(JSON.stringify(got) === JSON.stringify(want), `scope '${name}'\n  expected ${JSON.stringify(want)}\n  actual   ${JSON.stringify(got)}`);
  }
}

/** One random sequence in its own tenant; a mismatch throws with the seed and the steps so far. */
async function runSequence(url: string, seed: number): Promise<void> {
  const rng = seededRandom(seed);
  const api = leanApi(url, { 'X-Tenant-ID': `model_${seed}` });
  const model = new Model();
  const trace: string[] = [];
  const length = 15 + rng.int(16);
  try {
    for (let step = 0; step < length; step++) {
      await pickStep(rng)(api, model, rng, trace);
      // Every step is checked with one read of all scopes (each fact says its scope); the last also scope by scope.
      await checkAll(api, model, step === length - 1);
    }
  } catch (error) {
    if (!(error instanceof Mismatch)) throw error;
    throw new Mismatch(`seed ${seed}, step ${trace.length}: ${error.message}\nsteps:\n  ${trace.join('\n  ')}`);
  }
}

const only = process.env['SCOPES_MODEL_SEED'];
const seeds = only === undefined ? Array.from({ length: SEQUENCES }, (_, i) => FIRST_SEED + i) : [Number(only)];
const groupSize = Math.ceil(seeds.length / GROUPS);
const groups = Array.from({ length: Math.ceil(seeds.length / groupSize) }, (_, g) => seeds.slice(g * groupSize, (g + 1) * groupSize));

/**
 * All sequences run through one pool, in seed order, WIDTH at a time (each in its own tenant):
 * the groups, each an ava test, then finish one after the other.
 */
let runs: Promise<string | null>[] = [];

function startRuns(url: string): void {
  let next = 0;
  const outcomes = seeds.map(() => {
    let settle: (failure: string | null) => void = () => undefined;
    const promise = new Promise<string | null>((resolve) => (settle = resolve));
    return { promise, settle };
  });
  const worker = async () => {
    while (next < seeds.length) {
      const i = next++;
      const outcome = outcomes[i] as (typeof outcomes)[number];
      try {
        await runSequence(url, seeds[i] as number);
        outcome.settle(null);
      } catch (error) {
        outcome.settle(error instanceof Error ? error.message : String(error));
      }
    }
  };
  for (let w = 0; w < WIDTH; w++) void worker();
  runs = outcomes.map((o) => o.promise);
}

for (const [g, group] of groups.entries()) {
  test(`scopes › model › random sequences, group ${g + 1}/${groups.length} (${group.length} seeds) › every scope reads as the model after every step`, async (t) => {
    if (runs.length === 0) startRuns(t.context.server.url);
    const failures = (await Promise.all(runs.slice(g * groupSize, g * groupSize + group.length))).filter((f) => f !== null);
    t.deepEqual(failures, [], failures[0] ?? undefined);
  });
}

test('scopes › model › the model itself: a clean change on one side is taken, a real conflict is counted', (t) => {
  const state = (...lines: [string, number][]) => new Map(lines.map(([id, confidence]) => [id, { confidence, metadata: null }]));
  const base = state(['p(a)', 1], ['p(b)', 1]);
  const outcome = threeWay(base, state(['p(a)', 0.5], ['p(b)', 1], ['q(a,b)', 1]), state(['p(a)', 1], ['¬q(a,b)', 1]), 'SOURCE_WINS');
  t.deepEqual(linesOf(outcome.result), ['p(a)@0.5', 'q(a,b)@1']);
  t.is(outcome.conflicts, 1);
  t.is(outcome.merged, 3);
});
