/**
 * The rules engine's public surface: parse → compile (validate + stratify) → evaluate.
 * The engine sees stored facts only through the FactSource port (source.ts).
 */
export type { Atom, BodyLiteral, CompareOp, Comparison, EngineTerm, NotLiteral, Query, Rule, RuleHead } from './ast.js';
export { constant, formatLiteral, formatQuery, formatRule, formatTerm, formatValue, variable } from './ast.js';
export { parseQuery, parseRule, parseRules } from './parse.js';
export { parseJsonLiteral, parseJsonRule, parseJsonTerm } from './json-rule.js';
export type { RuleProblem } from './validate.js';
export { validateQuery, validateRule } from './validate.js';
export type { CompiledProgram, CompiledRule, RelationInfo } from './program.js';
export { compileProgram, isDerived, relationsOf } from './program.js';
export type { Budget, EvalStats } from './context.js';
// Budgeted work outside the engine (diff, merge) is metered and paced by the same context.
export { RunContext } from './context.js';
export type { Premise, Proof } from './proof.js';
export type { Answer, EvaluateOptions, Match, QueryResult } from './evaluate.js';
export { evaluateQuery, evaluateQueryWithStats } from './evaluate.js';
export { compareBindings, compareStrings } from './compare.js';
export type { FactSource, SourceFact } from './source.js';
