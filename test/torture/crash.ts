// Crash rounds: a real server process under concurrent writes is killed with SIGKILL at a random
// moment, the data directory is checked offline, the server is started again, and every write it
// had acknowledged must be there (and every acknowledged retract and drop must hold), with nothing
// half-applied. Shared by the bounded test (test/store/crash-rounds.test.ts) and `npm run torture -- crash`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { checkDataDir } from '../../src/store/check.js';
import { type ChildServer, spawnServer } from '../helpers/child.js';
import { type Random, seededRandom } from '../helpers/random.js';

type State = 'present' | 'absent' | 'either';

/** One fact the workers wrote, with what the server acknowledged about it. */
interface Tracked {
  readonly db: string;
  readonly tenant: string;
  readonly scope: string;
  readonly predicate: string;
  readonly args: readonly (string | number)[];
  state: State;
}

/** A group of facts that one request wrote or removed together: after a crash, all or none. */
interface Atomic {
  readonly what: string;
  readonly facts: readonly Tracked[];
  /** What the facts are when the request landed (the request itself was not acknowledged). */
  readonly landed: 'present' | 'absent';
}

interface DroppedDb {
  readonly name: string;
  readonly facts: readonly Tracked[];
  state: 'exists' | 'gone' | 'either';
}

export interface CrashReport {
  readonly rounds: number;
  readonly acknowledged: Record<string, number>;
  /** Requests in flight when the process was killed (their outcome was free, but all-or-nothing). */
  readonly inFlight: number;
  readonly factsVerified: number;
  readonly problems: string[];
  readonly seconds: number;
}

export interface CrashOptions {
  readonly rounds: number;
  readonly seed: number;
  /** How long the load runs before the kill, at random in [min, max] ms. */
  readonly loadMs: readonly [number, number];
}

const DATABASES = ['default', 'c1'];
const TENANTS = ['t1', 't2'];
const key = (f: Tracked) => `${f.db}/${f.tenant}/${f.scope}/${f.predicate}(${f.args.join(',')})`;

class Crasher {
  readonly facts = new Map<string, Tracked>();
  readonly atomics: Atomic[] = [];
  readonly drops: DroppedDb[] = [];
  readonly problems: string[] = [];
  readonly acknowledged: Record<string, number> = { tell: 0, batch: 0, retract: 0, fork: 0, merge: 0, createDb: 0, dropDb: 0 };
  inFlight = 0;
  verified = 0;
  private counter = 0;
  private server: ChildServer | null = null;
  private alive = false;

  constructor(
    readonly dir: string,
    private readonly random: Random,
  ) {}

  private next(): number {
    return ++this.counter;
  }

  /** A request; null when the server died before answering (not acknowledged). Non-2xx answers are problems. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const server = this.server;
    if (!server || !this.alive) return null;
    this.inFlight++;
    let response: Response;
    try {
      response = await fetch(server.url + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      return null; // killed meanwhile: the request stays in flight for the count
    }
    const text = await response.text().catch(() => null);
    if (text === null) return null;
    this.inFlight--;
    if (!response.ok) {
      this.problems.push(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
      return null;
    }
    return JSON.parse(text) as unknown;
  }

  private track(db: string, tenant: string, scope: string, predicate: string, args: (string | number)[]): Tracked {
    const fact: Tracked = { db, tenant, scope, predicate, args, state: 'either' };
    this.facts.set(key(fact), fact);
    return fact;
  }

  private where(): { db: string; tenant: string; prefix: string } {
    const db = this.random.pick(DATABASES);
    const tenant = this.random.pick(TENANTS);
    return { db, tenant, prefix: `/db/${db}/~${tenant}` };
  }

  private async tells(worker: number): Promise<void> {
    while (this.alive) {
      const { db, tenant, prefix } = this.where();
      const fact = this.track(db, tenant, 'main', 'told', [worker, this.next()]);
      if ((await this.call('POST', `${prefix}/tell`, { predicate: fact.predicate, args: fact.args })) === null) return;
      fact.state = 'present';
      this.acknowledged.tell!++;
    }
  }

  private async batches(): Promise<void> {
    while (this.alive) {
      const { db, tenant, prefix } = this.where();
      const id = this.next();
      const facts = Array.from({ length: 5 + this.random.int(60) }, (_, i) => this.track(db, tenant, 'main', 'batch', [id, i]));
      const atomic: Atomic = { what: `batch ${id}`, facts, landed: 'present' };
      this.atomics.push(atomic);
      if ((await this.call('POST', `${prefix}/tell`, { facts: facts.map((f) => ({ predicate: f.predicate, args: f.args })) })) === null) return;
      for (const f of facts) f.state = 'present';
      this.atomics.splice(this.atomics.indexOf(atomic), 1);
      this.acknowledged.batch!++;
    }
  }

  /** Retract facts the server acknowledged: once acknowledged, they must stay gone. */
  private async retracts(): Promise<void> {
    while (this.alive) {
      const candidates = [...this.facts.values()].filter((f) => f.predicate === 'told' && f.state === 'present');
      if (candidates.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const fact = this.random.pick(candidates);
      fact.state = 'either';
      const reply = await this.call('POST', `/db/${fact.db}/~${fact.tenant}/retract`, { predicate: fact.predicate, args: fact.args, scope: 'main' });
      if (reply === null) return;
      fact.state = 'absent';
      this.acknowledged.retract!++;
    }
  }

  /** Fork main, write into the fork, merge it back: a merge is all or nothing. */
  private async forks(): Promise<void> {
    while (this.alive) {
      const { db, tenant, prefix } = this.where();
      const scope = `f${this.next()}`;
      if ((await this.call('POST', `${prefix}/scope/fork`, { source: 'main', target: scope })) === null) return;
      this.acknowledged.fork!++;
      const inScope = Array.from({ length: 3 + this.random.int(10) }, (_, i) => this.track(db, tenant, scope, 'forked', [scope, i]));
      this.atomics.push({ what: `tell into ${scope}`, facts: inScope, landed: 'present' });
      if ((await this.call('POST', `${prefix}/tell`, { scope, facts: inScope.map((f) => ({ predicate: f.predicate, args: f.args })) })) === null) return;
      this.atomics.pop();
      for (const f of inScope) f.state = 'present';
      const inMain = inScope.map((f) => this.track(db, tenant, 'main', f.predicate, [...f.args]));
      const merge: Atomic = { what: `merge of ${scope}`, facts: inMain, landed: 'present' };
      this.atomics.push(merge);
      if ((await this.call('POST', `${prefix}/scope/merge`, { source: scope, target: 'main', strategy: 'SOURCE_WINS' })) === null) return;
      this.atomics.splice(this.atomics.indexOf(merge), 1);
      for (const f of inMain) f.state = 'present';
      this.acknowledged.merge!++;
    }
  }

  /** Create a database, write into it, drop it: an acknowledged drop stays done, an interrupted one is all or nothing. */
  private async dropsOfOthers(): Promise<void> {
    while (this.alive) {
      const name = `d${this.next()}`;
      const created: DroppedDb = { name, facts: [], state: 'either' };
      this.drops.push(created);
      if ((await this.call('POST', '/databases', { name })) === null) return;
      created.state = 'exists';
      this.acknowledged.createDb!++;
      const facts = Array.from({ length: 5 }, (_, i) => this.track(name, 't1', 'main', 'doomed', [i]));
      const dropped: DroppedDb = { name, facts, state: 'exists' };
      this.drops.splice(this.drops.indexOf(created), 1, dropped);
      this.atomics.push({ what: `tell into database ${name}`, facts, landed: 'present' });
      if ((await this.call('POST', `/db/${name}/~t1/tell`, { facts: facts.map((f) => ({ predicate: f.predicate, args: f.args })) })) === null) return;
      this.atomics.pop();
      for (const f of facts) f.state = 'present';
      dropped.state = 'either';
      if ((await this.call('DELETE', `/databases/${name}`)) === null) return;
      dropped.state = 'gone';
      for (const f of facts) this.facts.delete(key(f));
      this.acknowledged.dropDb!++;
    }
  }

  async start(): Promise<void> {
    this.server = await spawnServer(this.dir);
    this.alive = true;
  }

  /** Run the load, kill the server with SIGKILL after `ms`, and wait for every worker to notice. */
  async loadThenKill(ms: number): Promise<void> {
    for (const db of DATABASES.filter((d) => d !== 'default')) await this.call('POST', '/databases', { name: db });
    const workers = [this.tells(1), this.tells(2), this.batches(), this.retracts(), this.forks(), this.dropsOfOthers()];
    await new Promise((resolve) => setTimeout(resolve, ms));
    const server = this.server;
    this.alive = false;
    server?.kill('SIGKILL');
    await server?.exited;
    this.server = null;
    await Promise.all(workers);
  }

  /** The offline check of the data directory, as `npm run check` runs it. */
  async checkOffline(round: number): Promise<void> {
    const report = await checkDataDir(this.dir, (location) => new ClassicLevel<string, string>(location, { createIfMissing: false }));
    for (const p of report.problems) this.problems.push(`round ${round}: check: ${p.database}${p.tenant === null ? '' : '/' + p.tenant}: ${p.kind}: ${p.detail}`);
  }

  /** Every tracked fact against what the restarted server holds. */
  async verify(round: number): Promise<void> {
    const listed = (await this.call('GET', '/databases')) as { databases: { name: string }[] } | null;
    if (listed === null) throw new Error('GET /databases failed after the restart');
    const databases = new Set(listed.databases.map((d) => d.name));
    for (const drop of this.drops) {
      const exists = databases.has(drop.name);
      if (drop.state === 'gone' && exists) this.problems.push(`round ${round}: acknowledged drop of ${drop.name}, but it is listed`);
      if (drop.state === 'exists' && !exists) this.problems.push(`round ${round}: database ${drop.name} was created (acknowledged), but is not listed`);
      if (!exists) for (const f of drop.facts) this.facts.delete(key(f));
      drop.state = exists ? 'exists' : 'gone';
    }
    this.drops.splice(0, this.drops.length, ...this.drops.filter((d) => d.state === 'exists'));
    const seen = await this.readBack();
    for (const fact of this.facts.values()) {
      const present = seen.has(key(fact));
      this.verified++;
      if (fact.state === 'present' && !present) this.problems.push(`round ${round}: acknowledged ${key(fact)} is missing`);
      if (fact.state === 'absent' && present) this.problems.push(`round ${round}: acknowledged retract of ${key(fact)}, but it is there`);
    }
    for (const atomic of this.atomics) {
      const there = atomic.facts.filter((f) => seen.has(key(f))).length;
      if (there !== 0 && there !== atomic.facts.length) this.problems.push(`round ${round}: ${atomic.what} half-applied: ${there} of ${atomic.facts.length}`);
    }
    // What the server holds now is the truth the next round starts from.
    for (const fact of this.facts.values()) fact.state = seen.has(key(fact)) ? 'present' : 'absent';
    for (const [k, fact] of this.facts) if (fact.state === 'absent' && fact.predicate !== 'told') this.facts.delete(k);
    this.atomics.length = 0;
  }

  /** The keys of every tracked predicate's facts, read through /ask, grouped by database, tenant and scope. */
  private async readBack(): Promise<Set<string>> {
    const groups = new Map<string, { db: string; tenant: string; scope: string; predicate: string; arity: number }>();
    for (const f of this.facts.values()) groups.set(`${f.db}/${f.tenant}/${f.scope}/${f.predicate}`, { ...f, arity: f.args.length });
    const seen = new Set<string>();
    for (const g of groups.values()) {
      const args = Array.from({ length: g.arity }, (_, i) => `?a${i}`);
      let cursor: string | null = null;
      do {
        const body: Record<string, unknown> = { predicate: g.predicate, args, scope: g.scope, limit: 10_000, infer: false, ...(cursor === null ? {} : { cursor }) };
        const reply = (await this.call('POST', `/db/${g.db}/~${g.tenant}/ask`, body)) as { results: { args: (string | number)[] }[]; cursor?: string | null } | null;
        if (reply === null) {
          this.problems.push(`ask of ${g.db}/${g.tenant}/${g.scope}/${g.predicate} failed after the restart`);
          break;
        }
        for (const r of reply.results) seen.add(`${g.db}/${g.tenant}/${g.scope}/${g.predicate}(${r.args.join(',')})`);
        cursor = reply.cursor ?? null;
      } while (cursor !== null);
    }
    return seen;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.alive = false;
    if (!server) return;
    server.kill('SIGTERM');
    await server.exited;
    this.server = null;
  }
}

/**
 * One data directory through successive rounds (the bounded test runs each round as its own test):
 * `start()`, then `round()` as often as wanted, then `finish()` for the report.
 */
export class CrashRun {
  private readonly started = Date.now();
  private readonly random: Random;
  private crasher: Crasher | null = null;
  private dir = '';
  private rounds = 0;
  private broken = false;

  constructor(private readonly options: { readonly seed: number; readonly loadMs: readonly [number, number] }) {
    this.random = seededRandom(options.seed);
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'vesper-crash-'));
    this.crasher = new Crasher(this.dir, this.random);
    await this.crasher.start();
  }

  /** Load, kill -9, offline check, restart, verify. Returns the problems this round found. */
  async round(): Promise<string[]> {
    const crasher = this.crasher;
    if (!crasher || this.broken) throw new Error('the run is not started, or a restart failed');
    const before = crasher.problems.length;
    const round = this.rounds + 1;
    const [min, max] = this.options.loadMs;
    await crasher.loadThenKill(min + this.random.int(max - min + 1));
    await crasher.checkOffline(round);
    try {
      await crasher.start();
      await crasher.verify(round);
    } catch (error) {
      this.broken = true;
      crasher.problems.push(`round ${round}: the server does not start or answer after the kill: ${error instanceof Error ? error.message.slice(0, 2000) : String(error)}`);
    }
    this.rounds = round;
    return crasher.problems.slice(before);
  }

  /** Requests acknowledged so far, by kind. */
  get acknowledged(): Readonly<Record<string, number>> {
    return this.crasher?.acknowledged ?? {};
  }

  get canContinue(): boolean {
    return !this.broken;
  }

  async finish(): Promise<CrashReport> {
    const crasher = this.crasher;
    try {
      await crasher?.stop();
    } finally {
      if (this.dir !== '' && process.env.CRASH_KEEP === undefined) await rm(this.dir, { recursive: true, force: true });
      else if (this.dir !== '') console.log(`kept ${this.dir}`);
    }
    return {
      rounds: this.rounds,
      acknowledged: crasher?.acknowledged ?? {},
      inFlight: crasher?.inFlight ?? 0,
      factsVerified: crasher?.verified ?? 0,
      problems: crasher?.problems ?? [],
      seconds: Math.round((Date.now() - this.started) / 1000),
    };
  }
}

/** `rounds` rounds on one data directory (the torture part). */
export async function runCrashRounds(options: CrashOptions): Promise<CrashReport> {
  const run = new CrashRun(options);
  let failure: unknown = null;
  try {
    await run.start();
    for (let round = 1; round <= options.rounds && run.canContinue; round++) await run.round();
  } catch (error) {
    failure = error;
  }
  const report = await run.finish(); // stops the server and removes the directory whatever happened
  if (failure !== null) report.problems.push(`the run failed: ${failure instanceof Error ? failure.stack ?? failure.message : String(failure)}`);
  return report;
}
