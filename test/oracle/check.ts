/**
 * One program of the differential run: told to a real Vesper server over HTTP, asked in every
 * form (full, bound, repeated-variable, conjunctive with `"?"`, `not` and `-p`, paged, over one
 * scope and over all scopes, `infer:false`, `withProof`), through updates, a fork and a rule
 * deletion, and compared answer set by answer set with SWI-Prolog's tabled evaluation.
 */
import type { Api, Reply } from '../helpers/server.js';
import type { Goal } from './prolog.js';
import { prologFile, runProlog } from './prolog.js';
import type { GAtom, GFact, GProgram, GRule, GTerm, Pred, Value } from './program.js';
import { DOMAIN, Random, factKey, generateFacts, isVar, ruleText, withoutContradictions } from './program.js';

/** How an ask is sent and how its reply becomes tuples comparable with the goal's. */
interface Ask {
  readonly label: string;
  readonly goal: Goal;
  /** The JSON body without scope and paging. */
  readonly body: Record<string, unknown>;
  readonly conjunctive: boolean;
  /** Visible variable names of a conjunctive query, in answer order. */
  readonly vars: readonly string[];
}

export interface Mismatch {
  readonly seed: number;
  readonly phase: string;
  readonly ask: string;
  readonly detail: string;
}

export interface CheckResult {
  readonly checks: number;
  readonly requests: number;
  readonly mismatches: Mismatch[];
}

const arg = (term: GTerm): Value => (isVar(term) ? `?${term.v}` : term.c);

function singleAsk(label: string, pred: Pred, args: readonly GTerm[]): Ask {
  const atom: GAtom = { pred: pred.name, args, negated: false };
  return { label, goal: { atoms: [atom], nots: [], answer: args }, body: { predicate: pred.name, args: args.map(arg) }, conjunctive: false, vars: [] };
}

/** The asks of one program: the same list in every phase. */
function asksFor(program: GProgram, random: Random): Ask[] {
  const asks: Ask[] = [];
  const derived = program.preds.filter((p) => p.derived);
  for (const pred of derived) {
    const vars = Array.from({ length: pred.arity }, (_, i): GTerm => ({ v: `a${i}` }));
    asks.push(singleAsk(`full ${pred.name}`, pred, vars));
    if (pred.arity >= 1) {
      const bound = vars.map((term, i): GTerm => (i === random.int(pred.arity) || random.chance(0.3) ? { c: random.pick(DOMAIN) } : term));
      asks.push(singleAsk(`bound ${pred.name}`, pred, bound));
    }
    if (pred.arity >= 2) asks.push(singleAsk(`repeated ${pred.name}`, pred, vars.map((term, i) => (i < 2 ? { v: 'a0' } : term))));
  }
  for (let q = 0; q < 2; q++) {
    const names = ['q', 'r', 's'];
    let anonymous = 0;
    const atoms: GAtom[] = [];
    const sent: Record<string, unknown>[] = [];
    for (let i = 0; i < 2; i++) {
      const pred = random.pick(program.preds.filter((p) => p.arity > 0));
      const negated = random.chance(0.1);
      const args: GTerm[] = [];
      const raw: Value[] = [];
      for (let j = 0; j < pred.arity; j++) {
        const roll = random.next();
        if (roll < 0.2) {
          args.push({ v: `anon${anonymous++}` });
          raw.push('?');
        } else if (roll < 0.3) {
          const value = random.pick(DOMAIN);
          args.push({ c: value });
          raw.push(value);
        } else {
          const name = random.pick(names);
          args.push({ v: name });
          raw.push(`?${name}`);
        }
      }
      atoms.push({ pred: pred.name, args, negated });
      sent.push({ predicate: pred.name, args: raw, negated });
    }
    const visible = [...new Set(atoms.flatMap((a) => a.args.filter(isVar).map((t) => t.v)).filter((n) => !n.startsWith('anon')))];
    const nots: GAtom[] = [];
    const notSent: Record<string, unknown>[] = [];
    const lower = program.preds.filter((p) => p.arity > 0);
    if (random.chance(0.4) && visible.length > 0) {
      const pred = random.pick(lower);
      const args = Array.from({ length: pred.arity }, (): GTerm => (random.chance(0.7) ? { v: random.pick(visible) } : { c: random.pick(DOMAIN) }));
      nots.push({ pred: pred.name, args, negated: false });
      notSent.push({ predicate: pred.name, args: args.map(arg) });
    }
    const goal: Goal = { atoms, nots, answer: visible.map((v) => ({ v })) };
    asks.push({ label: `conjunctive ${q}`, goal, body: { query: sent, not: notSent }, conjunctive: true, vars: visible });
  }
  return asks;
}

/** Facts as a tell body for one scope. */
const tellBody = (facts: readonly GFact[], scope: string) => ({
  facts: facts.map((f) => ({ predicate: f.pred, args: f.args, negated: f.negated, scope })),
});

interface ServerReply {
  readonly tuples: string[];
  /** Per tuple, the scopes the server says it holds in (all-scope asks). */
  readonly scopes: Map<string, string[]>;
}

export class ProgramCheck {
  private checks = 0;
  private requests = 0;
  private readonly mismatches: Mismatch[] = [];
  private readonly random: Random;
  private remaining: readonly GRule[] = [];
  private asks: readonly Ask[] = [];

  constructor(
    private readonly program: GProgram,
    private client: Api,
    /** Where rules go: the tenant's own (`/rules`), or database rules shared by tenants. */
    private readonly rulesPath: string,
  ) {
    this.random = new Random(program.seed ^ 0x5bd1e995);
  }

  private fail(phase: string, ask: string, detail: string): void {
    this.mismatches.push({ seed: this.program.seed, phase, ask, detail });
  }

  private async post(path: string, body: unknown, expect = 200) {
    this.requests += 1;
    const reply = await this.client.post(path, body);
    if (reply.status !== expect) throw new Error(`${path} answered ${reply.status}: ${reply.text}`);
    return reply;
  }

  /** All pages of an ask; duplicates across pages are a mismatch. */
  private async askServer(ask: Ask, scope: string | null, extra: Record<string, unknown> = {}, limit = 10_000): Promise<ServerReply> {
    const tuples: string[] = [];
    const scopes = new Map<string, string[]>();
    let cursor: string | null = null;
    do {
      this.requests += 1;
      const reply: Reply = await this.client.post('/ask', { ...ask.body, ...extra, ...(scope === null ? {} : { scope }), limit, cursor });
      if (reply.status !== 200) throw new Error(`ask ${ask.label} answered ${reply.status}: ${reply.text}`);
      for (const result of reply.json.results as { args?: Value[]; bindings: Record<string, Value>; scopes?: string[] }[]) {
        const tuple = JSON.stringify(ask.conjunctive ? ask.vars.map((name) => result.bindings[name]) : result.args);
        tuples.push(tuple);
        if (result.scopes !== undefined) scopes.set(tuple, result.scopes);
      }
      cursor = reply.json.cursor ?? null;
    } while (cursor !== null);
    return { tuples, scopes };
  }

  private compare(phase: string, ask: Ask, expected: ReadonlySet<string>, got: readonly string[], note = ''): void {
    this.checks += 1;
    const gotSet = new Set(got);
    const missing = [...expected].filter((t) => !gotSet.has(t));
    const extra = [...gotSet].filter((t) => !expected.has(t));
    const duplicates = got.length - gotSet.size;
    if (missing.length > 0 || extra.length > 0 || duplicates > 0) {
      const detail = `${note}missing ${JSON.stringify(missing.slice(0, 5))} extra ${JSON.stringify(extra.slice(0, 5))} duplicates ${duplicates}`;
      this.fail(phase, `${ask.label} ${JSON.stringify(ask.body)}`, detail);
    }
  }

  private async oracle(rules: readonly GRule[], facts: readonly GFact[], asks: readonly Ask[]): Promise<Set<string>[]> {
    const sets = await runProlog(prologFile({ ...this.program, rules }, facts, asks.map((a) => a.goal)));
    return asks.map((_, i) => sets[i] ?? new Set());
  }

  /** Every ask over one scope against the oracle's answers; the paged and proof forms for some. */
  private async phase(phase: string, scope: string, asks: readonly Ask[], expected: readonly Set<string>[]): Promise<void> {
    for (let i = 0; i < asks.length; i++) {
      const ask = asks[i]!;
      // A refused ask is a mismatch of that ask only: the others still run.
      const attempt = async (note: string, run: () => Promise<ServerReply>): Promise<void> => {
        try {
          this.compare(phase, ask, expected[i]!, (await run()).tuples, note);
        } catch (error) {
          this.fail(phase, `${ask.label} ${JSON.stringify(ask.body)}`, `${note}${error instanceof Error ? error.message : String(error)}`);
        }
      };
      await attempt('', () => this.askServer(ask, scope));
      if (i === 0) await attempt('paged by 2: ', () => this.askServer(ask, scope, {}, 2));
      if (i === 1 && !ask.conjunctive) await attempt('withProof: ', () => this.askServer(ask, scope, { withProof: true }));
    }
  }

  async run(): Promise<CheckResult> {
    const { program } = this;
    const rules = program.rules;
    const added = await this.post(this.rulesPath, { text: rules.map(ruleText).join('\n') }, 201);
    const ids: string[] = added.json.rules.map((r: { id: string }) => r.id);
    const asks = asksFor(program, this.random);

    // Phase 0: facts in main.
    let main = generateFacts(this.random, program.preds);
    await this.post('/tell', tellBody(main, 'main'));
    await this.phase('initial', 'main', asks, await this.oracle(rules, main, asks));

    // infer:false reads stored facts only.
    const derived = program.preds.find((p) => p.derived)!;
    const stored = new Set(main.filter((f) => f.pred === derived.name && !f.negated).map((f) => JSON.stringify(f.args)));
    const raw = await this.askServer(asks[0]!, 'main', { infer: false });
    this.compare('initial', { ...asks[0]!, label: 'infer:false' }, stored, raw.tuples);

    // Phase 1: retractions and new facts.
    const removed = main.filter(() => this.random.chance(0.2));
    for (const fact of removed) await this.post('/retract', { predicate: fact.pred, args: fact.args, negated: fact.negated, scope: 'main' });
    const gone = new Set(removed.map(factKey));
    const kept = main.filter((f) => !gone.has(factKey(f)));
    const fresh = this.consistent(kept, generateFacts(this.random, program.preds, 0.3));
    await this.post('/tell', tellBody(fresh, 'main'));
    main = dedupe([...kept, ...fresh]);
    const mainAnswers = await this.oracle(rules, main, asks);
    await this.phase('updated', 'main', asks, mainAnswers);

    // Phase 2: a fork with its own changes; over all scopes, the union of each scope's answers.
    await this.post('/scope/fork', { source: 'main', target: 'f1' }, 201);
    const hidden = main.filter(() => this.random.chance(0.15));
    for (const fact of hidden) await this.post('/retract', { predicate: fact.pred, args: fact.args, negated: fact.negated, scope: 'f1' });
    const hiddenKeys = new Set(hidden.map(factKey));
    const forkBase = main.filter((f) => !hiddenKeys.has(factKey(f)));
    const forkNew = this.consistent(forkBase, generateFacts(this.random, program.preds, 0.4));
    await this.post('/tell', tellBody(forkNew, 'f1'));
    const fork = dedupe([...forkBase, ...forkNew]);
    const forkAnswers = await this.oracle(rules, fork, asks);
    await this.phase('fork', 'f1', asks, forkAnswers);
    for (let i = 0; i < asks.length; i++) {
      const ask = asks[i]!;
      const union = new Set([...mainAnswers[i]!, ...forkAnswers[i]!]);
      const reply = await this.askServer(ask, null);
      this.compare('all scopes', ask, union, reply.tuples);
      for (const [tuple, scopes] of reply.scopes) {
        const expected = ['f1', 'main'].filter((s) => (s === 'main' ? mainAnswers[i]! : forkAnswers[i]!).has(tuple));
        if (JSON.stringify([...scopes].sort()) !== JSON.stringify(expected)) {
          this.fail('all scopes', ask.label, `${tuple} said to hold in ${JSON.stringify(scopes)}, holds in ${JSON.stringify(expected)}`);
        }
      }
    }

    // Phase 3: a rule deleted (a subset of a stratified, safe program is one too).
    const victim = this.random.int(rules.length);
    this.requests += 1;
    const deleted = await this.client.request('DELETE', `${this.rulesPath}/${ids[victim]}`);
    if (deleted.status !== 200) throw new Error(`rule delete answered ${deleted.status}: ${deleted.text}`);
    const remaining = rules.filter((_, i) => i !== victim);
    await this.phase('rule deleted', 'main', asks, await this.oracle(remaining, main, asks));
    this.remaining = remaining;
    this.asks = asks;

    return { checks: this.checks, requests: this.requests, mismatches: this.mismatches };
  }

  /** Another tenant of the same database, under the same (database) rules, with its own facts. */
  async otherTenant(client: Api): Promise<CheckResult> {
    const facts = generateFacts(this.random, this.program.preds);
    this.requests += 1;
    const told = await client.post('/tell', tellBody(facts, 'main'));
    if (told.status !== 200) throw new Error(`tell answered ${told.status}: ${told.text}`);
    const expected = await this.oracle(this.remaining, facts, this.asks);
    const own = this.client;
    this.client = client;
    try {
      await this.phase('other tenant', 'main', this.asks, expected);
    } finally {
      this.client = own;
    }
    return { checks: this.checks, requests: this.requests, mismatches: this.mismatches };
  }

  /** New facts that contradict no fact of the scope they go to (a contradiction is a 409, tested elsewhere). */
  private consistent(existing: readonly GFact[], candidates: readonly GFact[]): GFact[] {
    const truth = new Map(existing.map((f) => [JSON.stringify([f.pred, f.args]), f.negated]));
    return withoutContradictions(candidates).filter((f) => {
      const known = truth.get(JSON.stringify([f.pred, f.args]));
      return known === undefined || known === f.negated;
    });
  }
}

function dedupe(facts: readonly GFact[]): GFact[] {
  return [...new Map(facts.map((f) => [factKey(f), f])).values()];
}
