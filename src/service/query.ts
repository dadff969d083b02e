import { WorkSlots } from './work-slots.js';
import type { AggregateBody, AskBody, AtomBody } from '../contract/query.js';
import { type AggregateResult, aggregate } from './aggregate.js';
import { RequestCancelledError, ValidationError, VesperError } from '../domain/errors.js';
import type { StoredFact, Term } from '../domain/fact.js';
import { type Answer as EngineAnswer, type BodyLiteral, type Budget, type Proof, isDerived } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { ScopeView } from '../store/fact-reader.js';
import type { TenantReads } from '../store/tenant-reads.js';
import type { FactReads } from './transaction-overlay.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { type CursorPosition, decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { type PatternBody, StoredPage, timeOf } from './stored-page.js';
import { type ReadMoment, tenantFactSource } from './fact-source.js';
import { readMoment } from './time.js';
import { type EngineQuery, Evaluation, RequestBudget, type ScopedAnswer } from './evaluation.js';
import type { EvaluationCost } from './usage.js';
import { SharedScopeReads } from './scope-reads.js';
import type { RuleService } from './rules.js';
import { parsePatternArg } from './terms.js';

/** A fact in an answer: stored (with its record) or derived by rules (with its proof when asked). */
export type AnswerFact =
  | { readonly kind: 'stored'; readonly fact: StoredFact }
  | { readonly kind: 'derived'; readonly predicate: string; readonly args: readonly Term[]; readonly scope: string | null; readonly proof: Proof | null };

export interface Answer {
  readonly bindings: Record<string, Term>;
  /** Rule and conjunctive answers: the scopes the answer holds in (a derivation uses one scope's view). */
  readonly scopes?: readonly string[];
  /** One per positive atom of the query, in order. */
  readonly facts: AnswerFact[];
}

export interface AskResult {
  readonly results: Answer[];
  readonly cursor: string | null;
  /** True for a conjunctive query: results are bindings plus the facts that matched. */
  readonly conjunctive: boolean;
}

const ANONYMOUS = '__anon';

/** How a transaction's reads see the tenant: its writes laid over the snapshot (transaction-overlay.ts). */
export interface ReadLens {
  wrap(reads: TenantReads): FactReads;
  /** It has buffered fact writes (an empty transaction reads like no transaction). */
  readonly hasWrites: boolean;
}

export interface AskOptions {
  readonly signal?: AbortSignal;
  readonly lens?: ReadLens | undefined;
}

/**
 * Reads. A single pattern over stored facts is one range scan, paged by index position; a
 * conjunctive query, or a pattern over a predicate that rules derive, goes through the engine.
 */
export class QueryService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly rules: RuleService,
    /** Per request: wall time, tuples produced, stored facts read (the tenant's settings). */
    private readonly budgetOf: (address: TenantAddress) => Promise<Budget> = () => Promise.resolve({}),
    /** Usage metering: what each query cost its tenant. */
    private readonly meter: (address: TenantAddress, cost: EvaluationCost) => void = () => undefined,
    /** Rule evaluations and joins take one of the tenant's heavy-work slots. */
    private readonly slots: WorkSlots = new WorkSlots({ perTenant: 0, queuePerTenant: 0 }),
  ) {}

  /** `signal`: the client went away (its evaluation stops); `lens`: the reads of a transaction (its own writes laid over the snapshot). */
  async ask(address: TenantAddress, body: AskBody, options: AskOptions = {}): Promise<AskResult> {
    const conjunctive = 'query' in body;
    // Leased without a wait when the database is open (most asks); released however the ask ends.
    const lease = this.catalog.forReadNow(address.database) ?? (await this.catalog.forRead(address.database));
    try {
      const database = lease.database;
      // A tenant (or scope) with no facts answers nothing, derived or not: no program needed.
      if (!database.hasTenant(address.tenant) && !options.lens?.hasWrites) return { results: [], cursor: null, conjunctive };
      const tenant = database.tenant(address.tenant);
      const now = this.clock();
      // Told at once when the rules program is cached (most asks): no await.
      const stored = this.storedPatternNow(address, body, options.lens) ?? (await this.isStoredPattern(address, body, options.lens));
      if (stored && !conjunctive && !options.lens) {
        const quick = tenant.readCachedNow((reader) => this.askCachedNow(address, reader, body, now));
        if (quick !== undefined) return quick;
      }
      // Waits for a slot before the snapshot is taken, so a queued request pins no old layers.
      using _slot = stored ? null : await this.slots.acquire(address, options.signal);
      // One snapshot for the whole answer: a rule evaluation or a join reads many times.
      // A stored pattern never reads the signal: reading it makes one (an AbortController and a listener per request).
      return await tenant.read(now, (reader) => this.askIn(address, options.lens ? options.lens.wrap(reader) : reader, body, now, stored, stored ? undefined : options.signal));
    } finally {
      lease.release();
    }
  }

  /** isStoredPattern when it can be told without waiting (the program is cached); undefined otherwise. */
  private storedPatternNow(address: TenantAddress, body: AskBody, lens: ReadLens | undefined): boolean | undefined {
    if ('query' in body || lens?.hasWrites) return false;
    if (!body.infer) return true;
    const program = this.rules.programNow(address, body.scope ?? null);
    return program === undefined ? undefined : !(program && isDerived(program, body.predicate, body.args.length));
  }

  /**
   * Several asks against one snapshot, each answered by its own result or failure (a failing
   * ask does not fail the others). The caller holds the heavy-work slot for the whole batch.
   */
  async askBatch(address: TenantAddress, bodies: readonly (AskBody | VesperError)[], options: { readonly signal?: AbortSignal } = {}): Promise<(AskResult | VesperError)[]> {
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    const empty = (body: AskBody): AskResult => ({ results: [], cursor: null, conjunctive: 'query' in body });
    if (!database.hasTenant(address.tenant)) return bodies.map((body) => (body instanceof VesperError ? body : empty(body)));
    const now = this.clock();
    return await database.tenant(address.tenant).read(now, async (reader) => {
      const out: (AskResult | VesperError)[] = [];
      for (const body of bodies) {
        if (body instanceof VesperError) {
          out.push(body);
          continue;
        }
        try {
          out.push(await this.askIn(address, reader, body, now, await this.isStoredPattern(address, body, undefined), options.signal));
        } catch (error) {
          // A gone client or a store failure ends the batch; a query's own failure is its answer.
          if (!(error instanceof VesperError) || error instanceof RequestCancelledError || error.code === 'STORAGE_FULL' || error.code === 'STORAGE_UNAVAILABLE') throw error;
          out.push(error);
        }
      }
      return out;
    });
  }

  /** A single pattern over a predicate no rule derives is one range scan (a transaction with writes goes through the engine, which sees its overlay whole). */
  private async isStoredPattern(address: TenantAddress, body: AskBody, lens: ReadLens | undefined): Promise<boolean> {
    const now = this.storedPatternNow(address, body, lens);
    if (now !== undefined || 'query' in body) return now ?? false;
    const program = await this.rules.programFor(address, body.scope ?? null);
    return !(program && isDerived(program, body.predicate, body.args.length));
  }

  /** One ask inside a read (the caller holds the snapshot, and the slot if the ask is not a stored pattern). */
  async askIn(address: TenantAddress, reader: FactReads, body: AskBody, now: number, stored: boolean, signal?: AbortSignal): Promise<AskResult> {
    const conjunctive = 'query' in body;
    const view = reader.view(body.scope ?? null);
    if (view === null) return { results: [], cursor: null, conjunctive };
    // asOf / validAt: the answer as the tenant stood then (transaction time), or at another valid time.
    const at = readMoment(body, now);
    if (stored && !conjunctive) return await this.askStored(reader, view, body, at, (rowsRead) => this.meter(address, { ruleEvalMs: 0, rowsRead }));
    const atoms = conjunctive ? body.query : [body];
    const negations = conjunctive ? body.not : [];
    return await this.askEngine(address, reader, view, atoms, negations, body, at, signal);
  }

  private async askStored(tenant: FactReads, view: ScopeView, body: PatternBody, at: ReadMoment, metered: (rowsRead: number) => void): Promise<AskResult> {
    const page = new StoredPage(body, at);
    try {
      // Rows the range cache holds are taken without an await per row (the hot path of a point ask).
      const now = tenant.matchNow?.(view, page.pattern, page.options);
      if (now !== undefined) return page.all(now);
      for await (const match of tenant.match(view, page.pattern, page.options)) {
        const full = page.take(match);
        if (full) return full;
      }
      return page.end();
    } finally {
      metered(page.rowsRead);
    }
  }

  /**
   * A point ask answered from the range cache alone, at once (TenantStore.readCachedNow): no
   * snapshot, no await. Undefined when it needs more (storage, a past moment): ask as usual.
   */
  private askCachedNow(address: TenantAddress, reader: TenantReads, body: PatternBody, now: number): AskResult | undefined {
    const view = reader.view(body.scope ?? null);
    if (view === null) return { results: [], cursor: null, conjunctive: false };
    const page = new StoredPage(body, readMoment(body, now));
    const matches = reader.matchNow(view, page.pattern, page.options);
    if (matches === undefined) return undefined;
    const result = page.all(matches);
    this.meter(address, { ruleEvalMs: 0, rowsRead: page.rowsRead });
    return result;
  }

  private async askEngine(
    address: TenantAddress,
    tenant: FactReads,
    view: ScopeView,
    atoms: readonly AtomBody[],
    negations: readonly AtomBody[],
    body: AskBody,
    now: ReadMoment,
    signal: AbortSignal | undefined,
  ): Promise<AskResult> {
    // What the answers depend on, never the paging fields themselves (a cursor is not part of its query).
    const shape = (atom: AtomBody) => [atom.predicate, atom.args, atom.negated];
    const fingerprint = () => queryFingerprint(['engine', atoms.map(shape), negations.map(shape), body.scope ?? null, body.infer, body.withProof, ...timeOf(body)]);
    // Keyset paging: the cursor holds the last answer's bindings and the next page starts after them
    // (answers come in one total order); older cursors hold an offset.
    const start: CursorPosition = body.cursor ? decodeCursor(body.cursor, fingerprint()) : { skip: 0 };
    const after = start.bindings;
    const skip = after === undefined ? start.skip : 0;
    const literals: BodyLiteral[] = [...atoms.map((a, i) => toAtom(a, i)), ...negations.map((a, i) => ({ kind: 'not' as const, atom: toAtom(a, atoms.length + i) }))];
    // A conjunctive answer is its visible bindings; a single pattern's answer is the fact itself ("?" positions included).
    const variables = queryVariables(literals, 'query' in body);
    if (after !== undefined && after.length !== variables.length) throw new ValidationError('invalid cursor', { field: 'cursor' });
    const query: EngineQuery = { literals, variables, withProof: body.withProof, limit: skip + body.limit + 1, ...(after === undefined ? {} : { after }) };
    const answers = await this.evaluate(address, tenant, view, query, body.infer, now, signal);
    const page = answers.slice(skip, skip + body.limit).map(({ answer, scopes }) => ({
      bindings: Object.fromEntries(Object.entries(answer.bindings).filter(([name]) => !name.startsWith(ANONYMOUS))),
      scopes,
      facts: answer.matches.map((m): AnswerFact => {
        if (!m.derived) return { kind: 'stored', fact: m.ref as StoredFact };
        return { kind: 'derived', predicate: m.predicate, args: m.args, scope: scopes.length === 1 ? scopes[0]! : null, proof: m.proof ?? null };
      }),
    }));
    const last = answers[skip + body.limit - 1];
    const cursor = answers.length > skip + body.limit && last !== undefined ? encodeCursor({ skip: 0, bindings: variables.map((v) => last.answer.bindings[v] as Term) }, fingerprint()) : null;
    return { results: page, cursor, conjunctive: 'query' in body };
  }

  /** Every answer of an engine query, under the request's budget (metered). */
  private async evaluate(address: TenantAddress, tenant: FactReads, view: ScopeView, query: EngineQuery, infer: boolean, now: ReadMoment, signal: AbortSignal | undefined): Promise<ScopedAnswer[]> {
    const program = (scope: string) => (infer ? this.rules.programFor(address, scope) : Promise.resolve(null));
    const budget = new RequestBudget(await this.budgetOf(address));
    const run = new Evaluation(query, budget, signal);
    try {
      return view.kind === 'scope'
        ? await run.inScope(await program(view.scope.name), tenantFactSource(tenant, view, now), view.scope.name)
        : await run.eachScope(new SharedScopeReads(tenant, view, now, (rows) => budget.chargeRows(rows)), view.scopes, program);
    } finally {
      const used = budget.used();
      this.meter(address, { ruleEvalMs: used.elapsedMs, rowsRead: used.rowsRead });
    }
  }

  /**
   * COUNT, SUM, MIN, MAX, AVG or COUNT_DISTINCT over the facts of a pattern or the answers of a
   * conjunctive query, stored and derived alike (the engine, under the query budget). A fact held
   * in several scopes counts once when no scope is named. The caller holds the heavy-work slot.
   */
  async aggregate(address: TenantAddress, body: AggregateBody, options: AskOptions = {}): Promise<AggregateResult> {
    const conjunctive = 'query' in body;
    const atoms = conjunctive ? body.query : [body];
    const literals: BodyLiteral[] = [...atoms.map((a, i) => toAtom(a, i)), ...(conjunctive ? body.not : []).map((a, i) => ({ kind: 'not' as const, atom: toAtom(a, atoms.length + i) }))];
    const variables = queryVariables(literals, conjunctive);
    const pick = valueOf(body, variables);
    for (const name of body.groupBy) {
      if (!variables.includes(name)) throw new ValidationError(`groupBy names '${name}', which is not a variable of the ${conjunctive ? 'query' : 'pattern'}`, { field: 'groupBy', variable: name });
    }
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant) && !options.lens?.hasWrites) return aggregate(body.operation, [], body.groupBy);
    const now = this.clock();
    // asOf / validAt: over the tenant as it stood then, or at another valid time.
    const at = readMoment(body, now);
    const answers = await database.tenant(address.tenant).read(now, async (reader) => {
      const reads = options.lens ? options.lens.wrap(reader) : reader;
      const view = reads.view(body.scope ?? null);
      if (view === null) return [];
      return await this.evaluate(address, reads, view, { literals, variables, withProof: false, limit: Number.MAX_SAFE_INTEGER }, body.infer, at, options.signal);
    });
    return aggregate(body.operation, answers.map(({ answer }) => ({ ...pick(answer), bindings: answer.bindings })), body.groupBy);
  }
}

/** Which value of an answer the operation folds: the pattern's `argIndex` position, or the query's `variable` (COUNT may name none). */
function valueOf(body: AggregateBody, variables: readonly string[]): (answer: EngineAnswer) => { value?: Term } {
  const needsValue = body.operation !== 'COUNT';
  if ('query' in body) {
    const name = body.variable;
    if (name === undefined) {
      if (needsValue) throw new ValidationError(`${body.operation} over a query needs "variable": the variable (without "?") whose values it takes`, { field: 'variable' });
      return () => ({});
    }
    if (!variables.includes(name)) throw new ValidationError(`variable '${name}' does not occur in the query`, { field: 'variable', variable: name });
    return (answer) => ({ value: answer.bindings[name] as Term });
  }
  const index = body.argIndex;
  if (index === undefined) {
    if (needsValue) throw new ValidationError(`${body.operation} over a pattern needs "argIndex": the position of the argument whose values it takes`, { field: 'argIndex' });
    return () => ({});
  }
  if (index >= body.args.length) throw new ValidationError(`argIndex ${index} is past the pattern's ${body.args.length} argument(s)`, { field: 'argIndex' });
  return (answer) => ({ value: answer.matches[0]?.args[index] as Term });
}

/** The times of a query, part of what its cursor belongs to (absent when none: older cursors stay valid). */

/** The query's variables in order of appearance; with `visibleOnly`, not the `"?"` positions. */
function queryVariables(literals: readonly BodyLiteral[], visibleOnly: boolean): string[] {
  const names = new Set<string>();
  for (const literal of literals) {
    const atom = literal.kind === 'not' ? literal.atom : literal.kind === 'atom' ? literal : null;
    for (const arg of atom?.args ?? []) if (arg.kind === 'var' && !(visibleOnly && arg.name.startsWith(ANONYMOUS))) names.add(arg.name);
  }
  return [...names];
}

/** A query atom for the engine: "?x" variables, "?" anonymous (a fresh name per position), constants. */
function toAtom(atom: AtomBody, index: number): Extract<BodyLiteral, { kind: 'atom' }> {
  return {
    kind: 'atom',
    predicate: atom.predicate,
    negated: atom.negated,
    args: atom.args.map((raw, position) => {
      const arg = parsePatternArg(raw);
      if (arg.kind === 'const') return { kind: 'const', value: arg.value };
      return { kind: 'var', name: arg.name === '' ? `${ANONYMOUS}${index}_${position}` : arg.name };
    }),
  };
}
