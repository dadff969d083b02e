/**
 * The oracle: SWI-Prolog with tabling (`:- table`, `tnot/1`), which for stratified programs
 * computes the stratified model. A program, its facts and a list of goals become one Prolog file;
 * `swipl` prints every goal's answer tuples, encoded so that no quoting can go wrong.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GAtom, GFact, GLiteral, GProgram, GTerm, Value } from './program.js';
import { isVar } from './program.js';

/** A goal: positive atoms, `not` atoms; answers are the tuples of `answer` (variables or constants). */
export interface Goal {
  readonly atoms: readonly GAtom[];
  readonly nots: readonly GAtom[];
  readonly answer: readonly GTerm[];
}

/** Installs SWI-Prolog with apt when `swipl` is missing (and says so); throws if that fails. */
export function ensureSwipl(): void {
  try {
    execFileSync('swipl', ['--version'], { stdio: 'ignore' });
    return;
  } catch {
    console.log('oracle: swipl not found; installing swi-prolog-nox with apt-get (needs root)');
  }
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq swi-prolog-nox'], { stdio: 'inherit' });
  execFileSync('swipl', ['--version'], { stdio: 'inherit' });
}

function constant(value: Value): string {
  if (typeof value === 'number') return String(value);
  // A quoted atom with every character escaped by code point: no quoting or encoding surprises.
  return `'${[...value].map((ch) => `\\x${ch.codePointAt(0)!.toString(16)}\\`).join('')}'`;
}

const variable = (name: string): string => `V_${name}`;
const term = (t: GTerm): string => (isVar(t) ? variable(t.v) : constant(t.c));

function atom(a: GAtom): string {
  const name = a.negated ? `neg_${a.pred}` : a.pred;
  return a.args.length === 0 ? name : `${name}(${a.args.map(term).join(', ')})`;
}

const CMP: Record<string, string> = { '=': 'c_eq', '!=': 'c_ne', '<': 'c_lt', '<=': 'c_le', '>': 'c_gt', '>=': 'c_ge' };

/** Prolog runs a body left to right: positive atoms first, then negations and comparisons (all bound). */
function body(literals: readonly GLiteral[], derived: ReadonlySet<string>): string {
  const positive = literals.filter((l) => l.kind === 'atom').map((l) => atom(l.atom));
  const rest = literals.flatMap((l) => {
    if (l.kind === 'not') return [derived.has(l.atom.pred) ? `tnot(${atom(l.atom)})` : `\\+ ${atom(l.atom)}`];
    if (l.kind === 'cmp') return [`${CMP[l.op]}(${term(l.left)}, ${term(l.right)})`];
    return [];
  });
  return [...positive, ...rest].join(', ');
}

const HELPERS = `
c_eq(X, Y) :- X == Y.
c_ne(X, Y) :- X \\== Y.
c_lt(X, Y) :- integer(X), integer(Y), !, X < Y.
c_lt(X, Y) :- atom(X), atom(Y), compare(<, X, Y).
c_le(X, Y) :- X == Y, !.
c_le(X, Y) :- c_lt(X, Y).
c_gt(X, Y) :- c_lt(Y, X).
c_ge(X, Y) :- c_le(Y, X).
enc(X, S) :- integer(X), !, format(atom(S), 'i~d', [X]).
enc(X, S) :- atom_codes(X, Cs), atomic_list_concat(Cs, '.', J), atom_concat(s, J, S).
show(I, T) :- maplist(enc, T, Es), atomic_list_concat([I|Es], '|', L), writeln(L).
run(I, G, T) :- findall(T, G, L0), sort(L0, L), forall(member(X, L), show(I, X)).
`;

export function prologFile(program: GProgram, facts: readonly GFact[], goals: readonly Goal[]): string {
  const derived = new Set(program.rules.map((r) => r.head.pred));
  const lines: string[] = [':- set_prolog_flag(verbose, silent).', ':- style_check(-singleton).', ':- style_check(-discontiguous).'];
  for (const pred of program.preds) {
    lines.push(`:- dynamic neg_${pred.name}/${pred.arity}.`);
    if (derived.has(pred.name)) lines.push(`:- table ${pred.name}/${pred.arity}.`);
    else lines.push(`:- dynamic ${pred.name}/${pred.arity}.`);
  }
  lines.push(HELPERS);
  for (const fact of facts) lines.push(`${atom({ pred: fact.pred, args: fact.args.map((c) => ({ c })), negated: fact.negated })}.`);
  for (const rule of program.rules) {
    const head = rule.head.args.length === 0 ? rule.head.pred : `${rule.head.pred}(${rule.head.args.map(term).join(', ')})`;
    lines.push(`${head} :- ${body(rule.body, derived)}.`);
  }
  const runs = goals.map((goal, i) => {
    const literals: GLiteral[] = [...goal.atoms.map((a) => ({ kind: 'atom' as const, atom: a })), ...goal.nots.map((a) => ({ kind: 'not' as const, atom: a }))];
    return `run(${i}, (${body(literals, derived)}), [${goal.answer.map(term).join(', ')}])`;
  });
  lines.push(`main :- ${runs.length === 0 ? 'true' : runs.join(', ')}.`);
  return lines.join('\n') + '\n';
}

function decode(encoded: string): Value {
  if (encoded.startsWith('i')) return Number(encoded.slice(1));
  const codes = encoded.slice(1);
  return codes === '' ? '' : String.fromCodePoint(...codes.split('.').map(Number));
}

/** Answer tuples per goal, as JSON texts of the value lists (a set per goal). */
export async function runProlog(text: string): Promise<Set<string>[]> {
  const dir = await mkdtemp(join(tmpdir(), 'vesper-oracle-'));
  try {
    const file = join(dir, 'program.pl');
    await writeFile(file, text);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('swipl', ['-q', '-g', 'main', '-t', 'halt', file], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, out, err) => {
        if (error) reject(new Error(`swipl failed: ${error.message}\n${err}\n${text}`));
        else if (err.trim() !== '') reject(new Error(`swipl warned: ${err}\n${text}`));
        else resolve(out);
      });
    });
    const sets: Set<string>[] = [];
    for (const line of stdout.split('\n')) {
      if (line === '') continue;
      const [index, ...values] = line.split('|');
      (sets[Number(index)] ??= new Set()).add(JSON.stringify(values.map(decode)));
    }
    return sets;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
