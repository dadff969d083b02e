import type { AskBody, AtomBody } from '../contract/query.js';
import type { StoredFact, Term } from '../domain/fact.js';
import { type BodyLiteral, type CompiledProgram, type Proof, compileProgram, evaluateQuery, isDerived } from '../engine/index.js';
import type { Catalog } from '../store/catalog.js';
import type { ScopeView } from '../store/fact-reader.js';
import type { TenantStore } from '../store/tenant-store.js';
import type { TenantAddress } from './address.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor.js';
import { tenantFactSource } from './fact-source.js';
import { compilePattern } from './pattern.js';
import type { RuleService } from './rules.js';
import { parsePatternArg } from './terms.js';

/** A fact in an answer: stored (with its record) or derived by rules (with its proof when asked). */
export type AnswerFact =
  | { readonly kind: 'stored'; readonly fact: StoredFact }
  | { readonly kind: 'derived'; readonly predicate: string; readonly args: readonly Term[]; readonly scope: string | null; readonly proof: Proof | null };

export interface Answer {
  readonly bindings: Record<string, Term>;
  /** One per positive atom of the query, in order. */
  readonly facts: AnswerFact[];
}

export interface AskResult {
  readonly results: Answer[];
  readonly cursor: string | null;
  /** True for a conjunctive query: results are bindings plus the facts that matched. */
  readonly conjunctive: boolean;
}

const EMPTY_PROGRAM = compileProgram([]);
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
  ) {}

  async ask(address: TenantAddress, body: AskBody): Promise<AskResult> {
    const conjunctive = 'query' in body;
    const database = await this.catalog.forRead(address.database);
    const scope = body.scope ?? null;
    // A tenant (or scope) with no facts answers nothing, derived or not: no program needed.
    if (!database.hasTenant(address.tenant)) return { results: [], cursor: null, conjunctive };
    const tenant = database.tenant(address.tenant);
    const now = this.clock();
    const view = await tenant.view(scope, now);
    if (view === null) return { results: [], cursor: null, conjunctive };
    const program = body.infer ? await this.rules.programFor(address, scope) : null;
    if (!conjunctive && !(program && isDerived(program, body.predicate, body.args.length))) {
      return this.askStored(tenant, view, body, now);
    }
    const atoms = conjunctive ? body.query : [body];
    const negations = conjunctive ? body.not : [];
    return this.askEngine(tenant, view, program ?? EMPTY_PROGRAM, atoms, negations, body, now);
  }

  private async askStored(tenant: TenantStore, view: ScopeView, body: Extract<AskBody, { predicate: string }>, now: number): Promise<AskResult> {
    const compiled = compilePattern(body.predicate, body.args, body.negated);
    const fingerprint = queryFingerprint(['pattern', body.predicate, body.args, body.negated, body.scope ?? null, body.distinct]);
    const start = body.cursor ? decodeCursor(body.cursor, fingerprint) : { skip: 0 };
    const results: Answer[] = [];
    let group: string | null = null;
    let inGroup = 0;
    const options = start.group === undefined ? { now } : { now, fromGroup: start.group };
    for await (const match of tenant.match(view, compiled.pattern, options)) {
      if (!compiled.accepts(match.fact.args)) continue;
      inGroup = match.group === group ? inGroup + 1 : 0;
      group = match.group;
      if (body.distinct && inGroup > 0) continue;
      if (group === start.group && inGroup < start.skip) continue;
      if (results.length === body.limit) return { results, cursor: encodeCursor({ group, skip: inGroup }, fingerprint), conjunctive: false };
      results.push({ bindings: compiled.bindings(match.fact.args), facts: [{ kind: 'stored', fact: match.fact }] });
    }
    return { results, cursor: null, conjunctive: false };
  }

  private async askEngine(
    tenant: TenantStore,
    view: ScopeView,
    program: CompiledProgram,
    atoms: readonly AtomBody[],
    negations: readonly AtomBody[],
    body: AskBody,
    now: number,
  ): Promise<AskResult> {
    const fingerprint = queryFingerprint(['engine', atoms, negations, body.scope ?? null, body.infer, body.withProof]);
    const skip = body.cursor ? decodeCursor(body.cursor, fingerprint).skip : 0;
    const literals: BodyLiteral[] = [...atoms.map((a, i) => toAtom(a, i)), ...negations.map((a, i) => ({ kind: 'not' as const, atom: toAtom(a, atoms.length + i) }))];
    const source = tenantFactSource(tenant, view, now);
    const answers = await evaluateQuery(program, source, { literals }, { withProof: body.withProof, limit: skip + body.limit + 1 });
    const scope = view.kind === 'scope' ? view.scope.name : null;
    const page = answers.slice(skip, skip + body.limit).map((answer) => ({
      bindings: Object.fromEntries(Object.entries(answer.bindings).filter(([name]) => !name.startsWith(ANONYMOUS))),
      facts: answer.matches.map((m): AnswerFact =>
        m.derived ? { kind: 'derived', predicate: m.predicate, args: m.args, scope, proof: m.proof ?? null } : { kind: 'stored', fact: m.ref as StoredFact },
      ),
    }));
    const cursor = answers.length > skip + body.limit ? encodeCursor({ skip: skip + body.limit }, fingerprint) : null;
    return { results: page, cursor, conjunctive: 'query' in body };
  }
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
