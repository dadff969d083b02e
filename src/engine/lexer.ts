/**
 * Tokens of the rules text form. Kept apart from the grammar so that positions (line:column) are
 * computed in one place and every syntax error can name where it happened.
 */
import { ValidationError } from '../domain/errors.js';

export type TokenKind = 'ident' | 'var' | 'string' | 'number' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Source text of the token (for punctuation: the symbol itself). */
  readonly text: string;
  /** Decoded value: the name of a variable, the string of a quoted string, the number. */
  readonly value: string | number;
  readonly line: number;
  readonly column: number;
}

// Sticky regexes: each one is tried exactly at the current offset.
const IDENT = /[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*/y;
const VAR = /\?[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const PUNCT = /:-|!=|<=|>=|[(),.=<>-]/y;
const SPACE_OR_COMMENT = /(?:\s+|%[^\n]*|#[^\n]*|\/\/[^\n]*)+/y;
const WORD_CHAR = /[A-Za-z0-9_]/;

export function syntaxError(line: number, column: number, message: string): ValidationError {
  return new ValidationError(`line ${line}, column ${column}: ${message}`, { problem: 'SYNTAX_ERROR', line, column });
}

export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of input';
    case 'ident':
      return `identifier ${token.text}`;
    case 'var':
      return `variable ${token.text}`;
    case 'string':
      return `string ${token.text}`;
    case 'number':
      return `number ${token.text}`;
    case 'punct':
      return `'${token.text}'`;
  }
}

export class Lexer {
  private offset = 0;
  private line = 1;
  private lineStart = 0;
  private readonly lookahead: Token[] = [];

  constructor(private readonly text: string) {}

  /** The token `ahead` positions from the current one, without consuming anything. */
  peek(ahead = 0): Token {
    while (this.lookahead.length <= ahead) this.lookahead.push(this.scan());
    return this.lookahead[ahead]!;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead.shift();
    return token;
  }

  private scan(): Token {
    this.skipSpace();
    const line = this.line;
    const column = this.offset - this.lineStart + 1;
    if (this.offset >= this.text.length) return { kind: 'eof', text: '', value: '', line, column };
    const at = (kind: TokenKind, value: string | number, text: string): Token => {
      this.offset += text.length;
      return { kind, text, value, line, column };
    };
    const str = this.match(STRING);
    if (str !== null) return at('string', JSON.parse(str) as string, str);
    if (this.text[this.offset] === '"') throw syntaxError(line, column, 'unterminated or invalid string');
    const num = this.match(NUMBER);
    if (num !== null) return at('number', this.numberValue(num, line, column), num);
    const variable = this.match(VAR);
    if (variable !== null) return at('var', variable.slice(1), variable);
    const ident = this.match(IDENT);
    if (ident !== null) return at('ident', ident, ident);
    const punct = this.match(PUNCT);
    if (punct !== null) return at('punct', punct, punct);
    const found = this.text[this.offset] === '?' ? "'?' not followed by a variable name" : `character ${JSON.stringify(this.text[this.offset])}`;
    throw syntaxError(line, column, `unexpected ${found}`);
  }

  private numberValue(text: string, line: number, column: number): number {
    const value = Number(text);
    const following = this.text[this.offset + text.length] ?? '';
    if (!Number.isFinite(value) || WORD_CHAR.test(following)) {
      throw syntaxError(line, column, `invalid number ${JSON.stringify(text + following)}`);
    }
    return value;
  }

  private match(pattern: RegExp): string | null {
    pattern.lastIndex = this.offset;
    const found = pattern.exec(this.text);
    return found === null ? null : found[0];
  }

  /** Skips blanks and `%`, `#`, `//` line comments, keeping line numbers right. */
  private skipSpace(): void {
    const skipped = this.match(SPACE_OR_COMMENT);
    if (skipped === null) return;
    for (let i = 0; i < skipped.length; i++) {
      if (skipped.charCodeAt(i) === 10) {
        this.line += 1;
        this.lineStart = this.offset + i + 1;
      }
    }
    this.offset += skipped.length;
  }
}
