import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { type Random, seededRandom } from '../helpers/random.js';
import { type Api, type Headers, type Reply, type TestServer, api } from '../helpers/server.js';
import { ADMIN_KEY, type Role, adminApi, bearer, createKey, expectStatus, mapBounded, revokeKey, startSecureServer } from './support.js';

/**
 * Random principals send random requests; after each round, a model checks that no request read
 * or changed data outside its principal's grant. A round holds at most one request per
 * (database, tenant) that may change it (an allowed write), so any change to a target is owed
 * to that one request: a target without one must be exactly as before, whatever the refused,
 * invalid and read requests of the round named.
 */

const SEED = Number(process.env['SECURITY_PROPERTY_SEED'] ?? 20_261_123);
const REQUESTS = 5_000;
const CONCURRENCY = 16;
/** Requests per round; the state of every target is compared after each round. */
const ROUND = 48;

const DATABASES = ['default', 'pa', 'pb'] as const; // pb does not exist until a write creates it
const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5'] as const; // t5 starts with no data anywhere
const SCOPES = ['main', 's1', 's2', 't1', 'pa'] as const; // some scope names are other tenants' and databases' names
const PRINCIPALS = 32;

type Grant = readonly string[] | '*';
type Op = 'tell' | 'ask' | 'retract' | 'fork' | 'teach' | 'audit';

interface Principal {
  /** The key id, as the audit trail names the actor. */
  readonly id: string;
  readonly label: string;
  readonly auth: Headers;
  readonly role: Role;
  readonly databases: Grant;
  readonly tenants: Grant;
  readonly public: boolean;
  readonly revoked: boolean;
}

interface Target {
  readonly db: string;
  readonly tenant: string;
}

interface Request {
  readonly principal: Principal;
  readonly op: Op;
  readonly target: Target;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Headers;
  readonly body?: unknown;
  /** Header and path name different tenants: a 400, whoever asks. */
  readonly mismatched: boolean;
  readonly describe: string;
}

// ——— The model of authorisation (from API.md "Keys", not from the code) ———

const WRITES: ReadonlySet<Op> = new Set(['tell', 'retract', 'fork', 'teach', 'audit']);
const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };
const covers = (grant: Grant, name: string) => grant === '*' || grant.includes(name);

type Verdict = 'unauthenticated' | 'invalid' | 'forbidden' | 'allowed';

function verdict(r: Request): Verdict {
  if (r.principal.revoked) return 'unauthenticated';
  if (r.mismatched) return 'invalid';
  const role: Role = r.principal.public ? 'reader' : r.principal.role;
  const needed: Role = WRITES.has(r.op) ? 'writer' : 'reader';
  if (RANK[role] < RANK[needed]) return 'forbidden';
  if (!covers(r.principal.databases, r.target.db) || !covers(r.principal.tenants, r.target.tenant)) return 'forbidden';
  return 'allowed';
}

/** Whether an allowed request of this op may change its target (audit reads; a refused write changes no data). */
const mayChange = (r: Request) => verdict(r) === 'allowed' && r.op !== 'ask' && r.op !== 'audit';

// ——— Generators ———

function grantOf(rng: Random, names: readonly string[]): Grant {
  if (rng.chance(0.3)) return '*';
  const picked = names.filter(() => rng.chance(0.35));
  return picked.length > 0 ? picked : [rng.pick(names)];
}

function term(rng: Random): string | number | boolean | null {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(TENANTS); // names of other tenants in args change nothing about the address
    case 1:
      return rng.pick(DATABASES);
    case 2:
      return rng.int(5);
    case 3:
      return `vesper://${rng.pick(DATABASES)}/~${rng.pick(TENANTS)}`;
    case 4:
      return rng.chance(0.5) ? null : true;
    default:
      return rng.pick(['x', 'y', 'acme']);
  }
}

/** p has arity 2, q arity 1 (and may be negated), r is derived by taught rules. */
function fact(rng: Random): Record<string, unknown> {
  const body: Record<string, unknown> = rng.chance(0.5) ? { predicate: 'p', args: [term(rng), term(rng)] } : { predicate: 'q', args: [term(rng)], negated: rng.chance(0.2) };
  if (rng.chance(0.2)) body.scope = rng.pick(SCOPES);
  if (rng.chance(0.1)) body.metadata = { tenant: rng.pick(TENANTS), database: rng.pick(DATABASES) };
  return body;
}

const variableOr = (rng: Random) => (rng.chance(0.6) ? rng.pick(['?a', '?b', '?']) : term(rng));

function pattern(rng: Random): Record<string, unknown> {
  const predicate = rng.pick(['p', 'q', 'r']);
  const args = predicate === 'p' ? [variableOr(rng), variableOr(rng)] : [variableOr(rng)];
  return { predicate, args };
}

function bodyOf(rng: Random, op: Op): { method: 'GET' | 'POST'; path: string; body?: unknown } {
  switch (op) {
    case 'tell': {
      const body: Record<string, unknown> = rng.chance(0.5) ? fact(rng) : { facts: Array.from({ length: 1 + rng.int(3) }, () => fact(rng)) };
      if (rng.chance(0.05)) body.tenant = rng.pick(TENANTS); // not a field: 400 once authorised
      return { method: 'POST', path: '/tell', body };
    }
    case 'retract': {
      const body = pattern(rng);
      if (body.predicate === 'r') body.predicate = 'q';
      if (rng.chance(0.2)) body.scope = rng.pick(SCOPES);
      return { method: 'POST', path: '/retract', body };
    }
    case 'ask': {
      const body: Record<string, unknown> = { ...pattern(rng), infer: rng.chance(0.7), limit: 10_000 };
      if (rng.chance(0.2)) body.scope = rng.pick(SCOPES);
      return { method: 'POST', path: '/ask', body };
    }
    case 'fork':
      return { method: 'POST', path: '/scope/fork', body: { source: rng.pick(['main', 's1']), target: rng.pick(SCOPES) } };
    case 'teach': {
      const body = rng.chance(0.5) ? [{ predicate: 'p', args: ['?x', rng.chance(0.5) ? '?y' : term(rng)] }] : [{ predicate: 'q', args: ['?x'] }];
      return { method: 'POST', path: '/teach', body: { head: { predicate: 'r', args: ['?x'] }, body } };
    }
    case 'audit':
      return { method: 'GET', path: `/audit?limit=${1 + rng.int(50)}` };
  }
}

/** Header or path addressing (both forms must mean the same), rarely a header that disagrees with the path. */
function addressed(rng: Random, target: Target, path: string): { path: string; headers: Headers; mismatched: boolean } {
  const form = rng.int(10);
  if (form === 0) {
    const other = TENANTS.find((t) => t !== target.tenant) as string;
    return { path: `/~${target.tenant}${path}`, headers: { 'X-Tenant-ID': other, 'X-Database': target.db }, mismatched: true };
  }
  const dbHeader: Headers = target.db === 'default' && rng.chance(0.5) ? {} : { 'X-Database': target.db };
  if (form <= 4) return { path, headers: { 'X-Tenant-ID': target.tenant, ...dbHeader }, mismatched: false };
  if (form <= 6) return { path: `/~${target.tenant}${path}`, headers: dbHeader, mismatched: false };
  if (form <= 8) return { path: `/db/${target.db}/~${target.tenant}${path}`, headers: {}, mismatched: false };
  return { path: `/db/${target.db}/~${target.tenant}${path}`, headers: { 'X-Tenant-ID': target.tenant, 'X-Database': target.db }, mismatched: false };
}

function request(rng: Random, principals: readonly Principal[], target: Target): Request {
  const principal = rng.pick(principals);
  const op = rng.pick<Op>(['tell', 'tell', 'ask', 'ask', 'retract', 'fork', 'teach', 'audit']);
  const { method, path, body } = bodyOf(rng, op);
  const address = addressed(rng, target, path);
  const describe = `${principal.label} ${method} ${address.path} ${JSON.stringify(address.headers)} ${JSON.stringify(body ?? null)}`;
  return { principal, op, target, method, body, ...address, describe };
}

// ——— Observing a target through the admin key ———

const ALL_TARGETS: Target[] = DATABASES.flatMap((db) => TENANTS.map((tenant) => ({ db, tenant })));
const keyOf = (t: Target) => `${t.db}/${t.tenant}`;

/** The stored facts of a target (derived ones follow from them and the rules, which are compared too). */
const SNAPSHOT_ASKS = [
  { predicate: 'p', args: ['?a', '?b'], infer: false },
  { predicate: 'q', args: ['?a'], infer: false },
  { predicate: 'q', args: ['?a'], negated: true, infer: false },
];

interface Snapshot {
  /** Everything a target holds, as one comparable text. */
  readonly text: string;
  /** What an ask may return from this target: predicate, args, negation and scope of each stored fact, and each value a rule may derive r of. */
  readonly answers: ReadonlySet<string>;
}

type Answer = { predicate: string; args: unknown[]; negated?: boolean; scope?: string; derived?: boolean };
/**
 * Every rule here derives r(?x) from p(?x, _) or q(?x): a derived answer is r of a first argument
 * of the target's own p or q (compared without scope: it is the scope asked about).
 */
const answerKey = (f: Answer) => JSON.stringify(f.derived ? [f.predicate, f.args] : [f.predicate, f.args, f.negated ?? false, f.scope]);
const derivableKey = (f: Answer) => answerKey({ predicate: 'r', args: [f.args[0]], derived: true });

/**
 * A tenant of a database that does not exist yet holds what a tenant never written to holds: a
 * write to another tenant may create the database, and that changes nothing of this tenant.
 */
const NEVER_WRITTEN: Target = { db: 'default', tenant: 'never_written' };

async function snapshot(root: Api, target: Target): Promise<Snapshot> {
  const client = root.with({ 'X-Database': target.db, 'X-Tenant-ID': target.tenant });
  const parts: unknown[] = [];
  const answers = new Set<string>();
  for (const ask of SNAPSHOT_ASKS) {
    const reply = await client.post('/ask', { ...ask, limit: 10_000 });
    if (reply.status === 404 && target !== NEVER_WRITTEN) return snapshot(root, NEVER_WRITTEN);
    if (reply.status !== 200) throw new Error(`snapshot ask of ${keyOf(target)}: ${reply.status} ${reply.text}`);
    const results = reply.json.results as Answer[];
    for (const r of results) {
      answers.add(answerKey(r));
      if (!r.negated) answers.add(derivableKey(r));
    }
    parts.push(results.map((r) => JSON.stringify(r)).sort());
  }
  const scopes = await client.get('/scopes');
  // The main scope of a tenant never written to is made up on reading, with the time of reading.
  parts.push(scopes.status === 200 ? (scopes.json.details as { createdAt?: number }[]).map(({ createdAt: _, ...rest }) => rest) : scopes.status);
  const rules = await client.get('/rules');
  parts.push(rules.status === 200 ? rules.json : rules.status);
  return { text: JSON.stringify(parts), answers };
}

// ——— The test ———

const test = anyTest as TestFn<{ server: TestServer }>;

test.before(async (t) => {
  t.context.server = await startSecureServer();
});

test.after.always(async (t) => {
  await t.context.server?.close();
});

async function makePrincipals(url: string, rng: Random): Promise<Principal[]> {
  const principals: Principal[] = [{ id: 'admin', label: 'admin key', auth: bearer(ADMIN_KEY), role: 'admin', databases: '*', tenants: '*', public: false, revoked: false }];
  for (let i = 0; i < PRINCIPALS; i++) {
    const role = rng.pick<Role>(['reader', 'writer', 'admin']);
    const databases = grantOf(rng, DATABASES);
    const tenants = grantOf(rng, TENANTS);
    const isPublic = rng.chance(0.2);
    const revoked = rng.chance(0.15);
    const created = await createKey(url, { role, databases: databases === '*' ? null : databases, tenants: tenants === '*' ? null : tenants, public: isPublic });
    if (revoked) await revokeKey(url, created.id);
    const label = `#${i} ${role}${isPublic ? ' public' : ''}${revoked ? ' revoked' : ''} db=${JSON.stringify(databases)} tenants=${JSON.stringify(tenants)}`;
    principals.push({ id: created.id, label, auth: bearer(created.key), role, databases, tenants, public: isPublic, revoked });
  }
  return principals;
}

async function seed(url: string): Promise<void> {
  const root = adminApi(url);
  await expectStatus('database rule', root.post('/admin/databases/pa/rules', { text: 'r(?x) :- q(?x).' }), 201);
  await mapBounded(
    ALL_TARGETS.filter((t) => t.db !== 'pb' && t.tenant !== 't5'),
    CONCURRENCY,
    async (target) => {
      const client = root.with({ 'X-Database': target.db, 'X-Tenant-ID': target.tenant });
      const facts = [
        { predicate: 'p', args: [target.tenant, target.db] },
        { predicate: 'q', args: [`${target.db}-${target.tenant}`] },
        { predicate: 'q', args: ['secret'], negated: true },
      ];
      await expectStatus(`seed ${keyOf(target)}`, client.post('/tell', { facts }), 200);
      await expectStatus(`fork ${keyOf(target)}`, client.post('/scope/fork', { source: 'main', target: 's1' }), 201);
    },
  );
}

/**
 * Every write that changed something is in its tenant's audit trail with the key that made it:
 * each successful one must be by a key whose grant covers that tenant with a role that may write.
 */
async function auditAttribution(t: ExecutionContext, root: Api, principals: readonly Principal[]): Promise<void> {
  const byId = new Map(principals.map((p) => [p.id, p]));
  await mapBounded(ALL_TARGETS, CONCURRENCY, async (target) => {
    const reply = await root.get('/audit?limit=10000', { 'X-Database': target.db, 'X-Tenant-ID': target.tenant });
    if (reply.status === 404) return; // the database was never created
    t.is(reply.status, 200, reply.text);
    for (const event of reply.json.events as { op: string; actor: string | null; outcome: string }[]) {
      if (event.outcome !== 'ok' || event.actor === 'admin') continue;
      const principal = byId.get(event.actor ?? '');
      const allowed = principal !== undefined && !principal.revoked && !principal.public && RANK[principal.role] >= RANK.writer && covers(principal.databases, target.db) && covers(principal.tenants, target.tenant);
      if (!allowed) t.fail(`${keyOf(target)}: '${event.op}' succeeded for ${principal?.label ?? event.actor}, outside its grant`);
    }
  });
}

/** What the reply of one request must be, given its verdict; plus, for an ask, that it shows only its target's facts. */
function checkReply(t: ExecutionContext, r: Request, reply: Reply, seen: (answer: string) => boolean): void {
  const v = verdict(r);
  const where = `${r.describe} → ${reply.status} ${reply.text.slice(0, 200)}`;
  if (v === 'unauthenticated') t.is(reply.status, 401, where);
  else if (v === 'invalid') t.is(reply.status, 400, where);
  else if (v === 'forbidden') t.is(reply.status, 403, where);
  else t.true(reply.status < 500 && reply.status !== 401 && reply.status !== 403, where);
  if (r.op === 'ask' && reply.status === 200) {
    const context = `vesper://${r.target.db}/~${r.target.tenant}`;
    for (const result of (reply.json.results ?? []) as (Answer & { $context: string })[]) {
      if (result.$context !== context || !seen(answerKey(result))) {
        t.fail(`an ask returned what its target ${keyOf(r.target)} does not hold: ${JSON.stringify(result)} for ${r.describe}`);
      }
    }
  }
}

/**
 * The next round: random requests on random targets, at most one per target that may change it
 * (an allowed write); any number of reads, refused and invalid requests besides.
 */
function nextRound(rng: Random, principals: readonly Principal[], size: number): Request[] {
  const written = new Set<string>();
  const round: Request[] = [];
  while (round.length < size) {
    const r = request(rng, principals, rng.pick(ALL_TARGETS));
    if (mayChange(r)) {
      if (written.has(keyOf(r.target))) continue;
      written.add(keyOf(r.target));
    }
    round.push(r);
  }
  return round;
}

test('property › no request reads or changes data outside its principal’s grant', async (t) => {
  t.timeout(120_000);
  const { url } = t.context.server;
  const rng = seededRandom(SEED);
  const root = adminApi(url);
  const principals = await makePrincipals(url, rng);
  await seed(url);
  t.log(`seed ${SEED} (SECURITY_PROPERTY_SEED replays another)`);

  const snapshots = new Map<string, Snapshot>();
  await mapBounded(ALL_TARGETS, CONCURRENCY, async (target) => snapshots.set(keyOf(target), await snapshot(root, target)));

  const tally = { requests: 0, rounds: 0, changed: 0, refused: 0, asks: 0 };
  const sideEffects: string[] = [];
  while (tally.requests < REQUESTS) {
    const round = nextRound(rng, principals, Math.min(ROUND, REQUESTS - tally.requests));
    const replies = await mapBounded(round, CONCURRENCY, (r) => api(url, r.principal.auth).request(r.method, r.path, r.body, r.headers));
    tally.requests += round.length;
    tally.rounds++;

    const before = new Map(snapshots);
    await mapBounded(ALL_TARGETS, CONCURRENCY, async (target) => snapshots.set(keyOf(target), await snapshot(root, target)));
    let failed = false;
    for (const target of ALL_TARGETS) {
      const key = keyOf(target);
      if ((before.get(key) as Snapshot).text === (snapshots.get(key) as Snapshot).text) continue;
      tally.changed++;
      // The one request of the round that may change this target; no other may have.
      const index = round.findIndex((r) => keyOf(r.target) === key && mayChange(r));
      if (index < 0) {
        failed = true;
        const own = round.filter((r) => keyOf(r.target) === key).map((r) => r.describe);
        t.fail(`${key} changed, but no request of the round may change it (a request on another target did, or one of its own: ${own.join(' | ') || 'none'})`);
      } else if ((replies[index] as Reply).status >= 300) {
        // A failed write may still have created its database (as a first write does): inside its grant, logged.
        sideEffects.push(`${key}: ${(round[index] as Request).describe} → ${(replies[index] as Reply).status}`);
      }
    }
    round.forEach((r, i) => {
      const reply = replies[i] as Reply;
      // A read ran beside at most one write of its target (one atomic batch): it saw the state before or after.
      const [old, now] = [before.get(keyOf(r.target)) as Snapshot, snapshots.get(keyOf(r.target)) as Snapshot];
      checkReply(t, r, reply, (answer) => old.answers.has(answer) || now.answers.has(answer));
      if (verdict(r) === 'forbidden' || verdict(r) === 'unauthenticated') tally.refused++;
      if (r.op === 'ask' && reply.status === 200) tally.asks++;
    });
    if (failed) break;
  }
  await auditAttribution(t, root, principals);
  t.log(tally);
  if (sideEffects.length > 0) t.log(`failed writes that changed their own target: ${sideEffects.length}, e.g.`, sideEffects.slice(0, 3));
  t.is(tally.requests, REQUESTS, 'every request was sent (no failure stopped the run early)');
  // The run means something only if it did both: allowed writes that changed data, and refusals.
  t.true(tally.changed > 200, `target changes by allowed writes: ${tally.changed}`);
  t.true(tally.refused > 1000, `requests refused: ${tally.refused}`);
  t.true(tally.asks > 300, `asks answered: ${tally.asks}`);
});
