/**
 * Text form → AST. A recursive-descent parser over the tokens of lexer.ts; every error is a
 * ValidationError naming line:column, what was expected and which clause (0-based) it was in.
 *
 *   program    := clause*
 *   clause     := head (':-' literal (',' literal)*)? '.'
 *   literal    := 'not' atom | atom | term cmp term
 *   atom       := '-'? name ('(' (term (',' term)*)? ')')?
 */
import type { Term } from '../domain/fact.js';
import { ValidationError } from '../domain/errors.js';
import type { Atom, BodyLiteral, CompareOp, EngineTerm, Query, Rule } from './ast.js';
import { COMPARE_OPS } from './ast.js';
import type { Token } from './lexer.js';
import { Lexer, describeToken, syntaxError } from './lexer.js';

const KEYWORD_VALUES: ReadonlyMap<string, Term> = new Map<string, Term>([
  ['true', true],
  ['false', false],
  ['null', null],
]);

class Parser {
  readonly lexer: Lexer;
  constructor(text: string) {
    this.lexer = new Lexer(text);
  }

  fail(token: Token, expected: string): never {
    throw syntaxError(token.line, token.column, `expected ${expected} but found ${describeToken(token)}`);
  }

  isPunct(symbol: string, ahead = 0): boolean {
    const token = this.lexer.peek(ahead);
    return token.kind === 'punct' && token.text === symbol;
  }

  expectPunct(symbol: string, expected = `'${symbol}'`): void {
    if (!this.isPunct(symbol)) this.fail(this.lexer.peek(), expected);
    this.lexer.next();
  }

  clause(): Rule {
    if (this.isPunct('-')) this.fail(this.lexer.peek(), 'a rule head (classical negation is not allowed in a head)');
    const head = this.atom(false);
    const body: BodyLiteral[] = [];
    if (this.isPunct(':-')) {
      this.lexer.next();
      body.push(...this.literals());
    }
    this.expectPunct('.', body.length === 0 ? "':-' or '.'" : "',' or '.'");
    return { head: { predicate: head.predicate, args: head.args }, body };
  }

  literals(): BodyLiteral[] {
    const literals = [this.literal()];
    while (this.isPunct(',')) {
      this.lexer.next();
      literals.push(this.literal());
    }
    return literals;
  }

  literal(): BodyLiteral {
    const token = this.lexer.peek();
    const after = this.lexer.peek(1);
    if (token.kind === 'ident' && token.text === 'not' && (after.kind === 'ident' || after.kind === 'string' || (after.kind === 'punct' && after.text === '-'))) {
      this.lexer.next();
      return { kind: 'not', atom: this.atom(true) };
    }
    if (token.kind === 'punct' && token.text === '-' && after.kind !== 'number') return this.atom(true);
    const namesAtom = (token.kind === 'ident' || token.kind === 'string') && !isCompareOp(after);
    return namesAtom ? this.atom(true) : this.comparison();
  }

  atom(allowNegation: boolean): Atom {
    let negated = false;
    if (allowNegation && this.isPunct('-')) {
      this.lexer.next();
      negated = true;
    }
    const name = this.lexer.peek();
    if (name.kind !== 'ident' && name.kind !== 'string') this.fail(name, 'a predicate name');
    this.lexer.next();
    const args: EngineTerm[] = [];
    if (this.isPunct('(')) {
      this.lexer.next();
      if (!this.isPunct(')')) args.push(...this.termList());
      this.expectPunct(')', "',' or ')'");
    }
    return { kind: 'atom', predicate: String(name.value), args, negated };
  }

  termList(): EngineTerm[] {
    const terms = [this.term()];
    while (this.isPunct(',')) {
      this.lexer.next();
      terms.push(this.term());
    }
    return terms;
  }

  comparison(): BodyLiteral {
    const left = this.term('a literal (atom, not, or comparison)');
    const op = this.lexer.peek();
    if (!isCompareOp(op)) this.fail(op, 'a comparison operator (= != < <= > >=)');
    this.lexer.next();
    const right = this.term();
    return { kind: 'compare', op: op.text as CompareOp, left, right };
  }

  term(expected = 'a term (variable, constant, string or number)'): EngineTerm {
    const token = this.lexer.peek();
    switch (token.kind) {
      case 'var':
        this.lexer.next();
        return { kind: 'var', name: String(token.value) };
      case 'string':
      case 'number':
        this.lexer.next();
        return { kind: 'const', value: token.value };
      case 'ident': {
        this.lexer.next();
        const keyword = KEYWORD_VALUES.get(token.text);
        return { kind: 'const', value: keyword === undefined ? token.text : keyword };
      }
      default:
        return this.fail(token, expected);
    }
  }
}

function isCompareOp(token: Token): boolean {
  return token.kind === 'punct' && (COMPARE_OPS as readonly string[]).includes(token.text);
}

/** Re-throws a syntax error with the index of the clause it happened in. */
function inClause(error: unknown, index: number): unknown {
  if (!(error instanceof ValidationError) || error.details === null) return error;
  return new ValidationError(error.message, { ...error.details, rule: index });
}

/** Parses many rules, one per `.`-terminated clause. */
export function parseRules(text: string): Rule[] {
  const parser = new Parser(text);
  const rules: Rule[] = [];
  try {
    while (parser.lexer.peek().kind !== 'eof') rules.push(parser.clause());
  } catch (error) {
    throw inClause(error, rules.length);
  }
  return rules;
}

/** Parses exactly one rule. */
export function parseRule(text: string): Rule {
  const rules = parseRules(text);
  if (rules.length !== 1) {
    throw new ValidationError(`expected exactly one rule but found ${rules.length}`, { problem: 'SYNTAX_ERROR', rules: rules.length });
  }
  return rules[0]!;
}

/** Parses a conjunctive query: `parent(alice, ?y), not dead(?y)` (an optional `?-` prefix and final `.`). */
export function parseQuery(text: string): Query {
  const parser = new Parser(text.replace(/^\s*\?-/, (prefix) => ' '.repeat(prefix.length)));
  const literals = parser.literals();
  if (parser.isPunct('.')) parser.lexer.next();
  const end = parser.lexer.peek();
  if (end.kind !== 'eof') parser.fail(end, "',' or end of query");
  return { literals };
}
