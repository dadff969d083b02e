import { WorkSlots } from './work-slots.js';
import type { AskBody, AtomBody } from '../contract/query.js';
import { ValidationError } from '../domain/errors.js';
import type { StoredFact, Term } from '../domain/fact.js';
import { type BodyLiteral, type Budget, type Proof, isDerived } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { ScopeView } from '../store/fact-reader.js';
import type { TenantReads } from '../store/tenant-reads.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { type CursorPosition, compareRowKeys, decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { type ReadMoment, readOptions, tenantFactSource } from './fact-source.js';
import { readMoment } from './time.js';
import { compilePattern } from './pattern.js';
import { type EngineQuery, Evaluation, RequestBudget } from './evaluation.js';
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

  /** `signal`: the client went away (its evaluation stops). */
  async ask(address: TenantAddress, body: AskBody, options: { readonly signal?: AbortSignal } = {}): Promise<AskResult> {
    const conjunctive = 'query' in body;
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    const scope = body.scope ?? null;
    // A tenant (or scope) with no facts answers nothing, derived or not: no program needed.
    if (!database.hasTenant(address.tenant)) return { results: [], cursor: null, conjunctive };
    const tenant = database.tenant(address.tenant);
    const now = this.clock();
    const at = readMoment(body, now);
    const program = body.infer ? await this.rules.programFor(address, scope) : null;
    const stored = !conjunctive && !(program && isDerived(program, body.predicate, body.args.length));
    // Waits for a slot before the snapshot is taken, so a queued request pins no old layers.
    using _slot = stored ? null : await this.slots.acquire(address, options.signal);
    // One snapshot for the whole answer: a rule evaluation or a join reads many times.
    return await tenant.read(now, async (reader) => {
      const view = reader.view(scope);
      if (view === null) return { results: [], cursor: null, conjunctive };
      if (stored) return await this.askStored(reader, view, body, at, (rowsRead) => this.meter(address, { ruleEvalMs: 0, rowsRead }));
      const atoms = conjunctive ? body.query : [body];
      const negations = conjunctive ? body.not : [];
      return await this.askEngine(address, reader, view, atoms, negations, body, at, options.signal);
    });
  }

  private async askStored(tenant: TenantReads, view: ScopeView, body: Extract<AskBody, { predicate: string }>, now: ReadMoment, metered: (rowsRead: number) => void): Promise<AskResult> {
    let rowsRead = 0;
    try {
      return await this.scanStored(tenant, view, body, now, () => rowsRead++);
    } finally {
      metered(rowsRead);
    }
  }

  private async scanStored(tenant: TenantReads, view: ScopeView, body: Extract<AskBody, { predicate: string }>, at: ReadMoment, read: () => void): Promise<AskResult> {
    const options = readOptions(at);
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    // Hashed only when a cursor is read or written: most asks fit one page.
    const fingerprint = () => queryFingerprint(['pattern', body.predicate, body.args, body.negated, body.scope ?? null, body.distinct, ...timeOf(body)]);
    const start: CursorPosition = body.cursor ? decodeCursor(body.cursor, fingerprint()) : { skip: 0 };
    // A row is (index position, scope): the cursor names the last one sent (older cursors: position + count).
    const after = start.after ?? null;
    const fromGroup = after?.[0] ?? start.group;
    const results: Answer[] = [];
    let group: string | null = null;
    let inGroup = 0;
    let last: string[] = [];
    for await (const match of tenant.match(view, compiled.pattern, fromGroup === undefined ? options : { ...options, fromGroup })) {
      read();
      if (!compiled.accepts(match.fact.args)) continue;
      inGroup = match.group === group ? inGroup + 1 : 0;
      group = match.group;
      if (body.distinct && inGroup > 0) continue;
      if (after !== null && group === after[0] && compareRowKeys([group, match.fact.scope], after) <= 0) continue;
      if (after === null && group === start.group && inGroup < start.skip) continue;
      if (results.length === body.limit) return { results, cursor: encodeCursor({ skip: 0, after: last }, fingerprint()), conjunctive: false };
      results.push({ bindings: compiled.bindings(match.fact.args), facts: [{ kind: 'stored', fact: match.fact }] });
      last = [group, match.fact.scope];
    }
    return { results, cursor: null, conjunctive: false };
  }

  private async askEngine(
    address: TenantAddress,
    tenant: TenantReads,
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
    const program = (scope: string) => (body.infer ? this.rules.programFor(address, scope) : Promise.resolve(null));
    const budget = new RequestBudget(await this.budgetOf(address));
    const run = new Evaluation(query, budget, signal);
    let answers;
    try {
      answers =
        view.kind === 'scope'
          ? await run.inScope(await program(view.scope.name), tenantFactSource(tenant, view, now), view.scope.name)
          : await run.eachScope(new SharedScopeReads(tenant, view, now, (rows) => budget.chargeRows(rows)), view.scopes, program);
    } finally {
      const used = budget.used();
      this.meter(address, { ruleEvalMs: used.elapsedMs, rowsRead: used.rowsRead });
    }
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
}

/** The times of a query, part of what its cursor belongs to (absent when none: older cursors stay valid). */
function timeOf(body: AskBody): unknown[] {
  return body.asOf === undefined && body.validAt === undefined ? [] : [body.asOf ?? null, body.validAt ?? null];
}

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
