import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { seededRandom } from '../helpers/random.js';
import { type Api, tenantApi } from '../helpers/server.js';
import { type Shape, expectStatus, scopeDetails, scopeLines } from './support.js';

/**
 * Merge is atomic: the server runs as a child process and is SIGKILLed while a large merge
 * (20,600 changes) is in flight. After each restart the target is exactly as before the merge or
 * exactly as after it, never in between, and merging again completes it.
 */
interface Context {
  dataDir: string;
  /** The running child; a holder, because each test gets a shallow copy of the context and restarts it. */
  child: { server: ChildServer };
  /** How long an undisturbed merge took: the kill moments are spread over it. */
  mergeMs: number;
}
const test = anyTest.serial as TestFn<Context>;

const ATTEMPTS = 7;
const SHAPES: readonly Shape[] = ['gone', 'kept', 'stay', 'big'].map((predicate) => ({ predicate, arity: 2, positiveOnly: true }));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const facts = (predicate: string, n: number, confidence = 1) => range(n).map((i) => ({ predicate, args: [i, 'v'], confidence }));

// main: gone ×300, kept ×300, stay ×1400. The fork retracts every gone, re-weights every kept, adds 20,000 big.
const BEFORE = [...facts('gone', 300), ...facts('kept', 300), ...facts('stay', 1400)].map(line).sort();
const AFTER = [...facts('kept', 300, 0.5), ...facts('stay', 1400), ...facts('big', 20_000)].map(line).sort();
const MERGED = 300 + 300 + 20_000;

function line(f: { predicate: string; args: (string | number)[]; confidence: number }): string {
  return `${f.predicate}(${f.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(',')})@${f.confidence}`;
}

const tenantOf = (attempt: number) => `crash_${attempt}`;
const client = (t: { context: Context }, attempt: number): Api => tenantApi(t.context.child.server.url, tenantOf(attempt));

async function prepare(api: Api): Promise<void> {
  expectStatus(await api.post('/tell', { facts: [...facts('gone', 300), ...facts('kept', 300), ...facts('stay', 1400)] }), 200, 'tell main');
  expectStatus(await api.post('/scope/fork', { source: 'main', target: 'f' }), 201, 'fork');
  expectStatus(await api.post('/retract', { scope: 'f', predicate: 'gone', args: ['?i', '?v'] }), 200, 'retract in f');
  expectStatus(await api.post('/tell', { scope: 'f', facts: facts('kept', 300, 0.5) }), 200, 'tell kept');
  const big = facts('big', 20_000);
  for (let i = 0; i < big.length; i += 10_000) expectStatus(await api.post('/tell', { scope: 'f', facts: big.slice(i, i + 10_000) }), 200, 'tell big');
}

/** Compare a state with an expected one without dumping 20,000 lines into a failure. */
function summary(actual: readonly string[], expected: readonly string[]): string {
  const want = new Set(expected);
  const got = new Set(actual);
  const missing = expected.filter((l) => !got.has(l));
  const extra = actual.filter((l) => !want.has(l));
  return `${actual.length} facts; missing ${missing.length} (${missing.slice(0, 3).join(' ')}), extra ${extra.length} (${extra.slice(0, 3).join(' ')})`;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((l, i) => l === b[i]);

test.before(async (t) => {
  t.timeout(300_000);
  t.context.dataDir = await mkdtemp(join(tmpdir(), 'vesper-crash-'));
  t.context.child = { server: await spawnServer(t.context.dataDir) };
  // If the run is cut short (a timeout skips after hooks), do not leave the child behind.
  const child = t.context.child;
  process.once('exit', () => child.server.kill('SIGKILL'));
  for (let attempt = 0; attempt <= ATTEMPTS; attempt++) await prepare(client(t, attempt));
  // Attempt 0 merges undisturbed: it checks what "after" is, and times the merge.
  const api = client(t, 0);
  const started = Date.now();
  const reply = expectStatus(await api.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' }), 200, 'merge');
  t.context.mergeMs = Math.max(1, Date.now() - started);
  if (reply.json.merged !== MERGED) throw new Error(`undisturbed merge: expected ${MERGED} changes, got ${reply.text.slice(0, 300)}`);
  const after = await scopeLines(api, 'main', SHAPES);
  if (!same(after, AFTER)) throw new Error(`undisturbed merge: ${summary(after, AFTER)}`);
});

test.after.always(async (t) => {
  if (t.context.child) {
    t.context.child.server.kill('SIGKILL');
    await t.context.child.server.exited;
  }
  if (t.context.dataDir) await rm(t.context.dataDir, { recursive: true, force: true });
});

// Kill moments: at once, then spread (with jitter) over 2.5 times an undisturbed merge, so that
// some kills land before the commit and some after it, whatever the load of the machine.
const rng = seededRandom(0xc0ffee);
const fractions = range(ATTEMPTS).map((k) => (k === 0 ? 0 : (k / (ATTEMPTS - 1)) * 2.5 * (0.85 + 0.3 * rng.next())));

for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
  const fraction = fractions[attempt - 1] as number;
  test(`POST /scope/merge › when the server is SIGKILLed ${fraction === 0 ? 'right after the request' : `at ${Math.round(fraction * 100)}% of a merge's time`} › the target is as before or as after, and a new merge completes it`, async (t) => {
    t.timeout(120_000);
    const api = client(t, attempt);
    t.true(same(await scopeLines(api, 'main', SHAPES), BEFORE), 'untouched by the earlier crashes');

    let answered: number | null = null;
    const pending = api.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' }).then(
      (reply) => (answered = reply.status),
      () => null,
    );
    const delay = Math.round(fraction * t.context.mergeMs);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    t.context.child.server.kill('SIGKILL');
    await t.context.child.server.exited;
    await pending;
    t.context.child.server = await spawnServer(t.context.dataDir);

    const restarted = client(t, attempt);
    const main = await scopeLines(restarted, 'main', SHAPES);
    const state = same(main, BEFORE) ? 'before' : same(main, AFTER) ? 'after' : null;
    t.log(`killed after ${delay} ms (merge takes ~${t.context.mergeMs} ms): target is ${state ?? 'BROKEN'}, reply ${answered ?? 'none'}`);
    t.not(state, null, `target is neither before nor after the merge: ${summary(main, AFTER)}`);
    if (answered === 200) t.is(state, 'after', 'an acknowledged merge survives the kill');
    const counts = Object.fromEntries((await scopeDetails(restarted)).map((d) => [d.name, d.facts]));
    t.deepEqual(counts, { f: AFTER.length, main: main.length }, 'fact counts are committed with the facts');
    t.true(same(await scopeLines(restarted, 'f', SHAPES), AFTER), 'the source is untouched');

    const again = expectStatus(await restarted.post('/scope/merge', { source: 'f', target: 'main', strategy: 'SOURCE_WINS' }), 200, 'merge again');
    t.like(again.json, state === 'after' ? { result: 'up-to-date', merged: 0 } : { result: 'merged', merged: MERGED });
    const final = await scopeLines(restarted, 'main', SHAPES);
    t.true(same(final, AFTER), `after merging again: ${summary(final, AFTER)}`);
  });
}
