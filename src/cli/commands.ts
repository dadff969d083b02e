import { type OperationDef, OPERATIONS } from '../operations/index.js';
import { type Connection, callOperation } from './client.js';
import { usageError } from './errors.js';
import { formatAsk, formatDiff, formatFacts, formatMerge, formatPredicates, formatScopes, formatTold } from './format.js';
import { parseTerm } from './terms.js';

/** The options of the command line (global ones, then per command). */
export const OPTIONS = {
  url: { type: 'string' },
  database: { type: 'string' },
  tenant: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  scope: { type: 'string' },
  negated: { type: 'boolean' },
  strategy: { type: 'string' },
  since: { type: 'string' },
  predicate: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export type Values = { readonly [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/**
 * A command is an operation of the table (its method, path and summary come from the row) with
 * a command-line syntax: positional arguments, options, how they become the operation's input,
 * and how its reply is printed.
 */
interface CommandSpec<R> {
  readonly operation: string;
  readonly synopsis: string;
  readonly args: readonly [min: number, max: number];
  readonly options: readonly OptionName[];
  input(args: readonly string[], values: Values): Record<string, unknown>;
  format(reply: R): string[];
}

export interface Command extends Omit<CommandSpec<unknown>, 'format'> {
  /** Call the operation; the reply as JSON, and its human form. */
  send(connection: Connection, input: Record<string, unknown>): Promise<{ json: unknown; lines(): string[] }>;
}

function command<R>(spec: CommandSpec<R>): Command {
  return {
    ...spec,
    send: async (connection, input) => {
      const reply = await callOperation<R>(connection, rowOf(spec.operation), input);
      return { json: reply, lines: () => spec.format(reply) };
    },
  };
}

const STRATEGIES = ['REJECT', 'SOURCE_WINS', 'TARGET_WINS', 'KEEP_BOTH'];

function limitOf(values: Values): number | undefined {
  if (values.limit === undefined) return undefined;
  if (!/^\d+$/.test(values.limit)) throw usageError('--limit must be a positive integer');
  return Number(values.limit);
}

/** Drop absent options, so the operation's defaults apply. */
const defined = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));

export const COMMANDS: Readonly<Record<string, Command>> = {
  tell: command({
    operation: 'tell',
    synopsis: 'tell <predicate> [args…] [--scope S] [--negated]',
    args: [1, 17],
    options: ['scope', 'negated'],
    input: ([predicate, ...args], values) => ({ predicate, args: args.map(parseTerm), negated: values.negated ?? false, scope: values.scope ?? null }),
    format: formatTold,
  }),
  ask: command({
    operation: 'ask',
    synopsis: 'ask <predicate> [args…] [--scope S]   (args like ?x are variables)',
    args: [1, 17],
    options: ['scope'],
    input: ([predicate, ...args], values) => ({ predicate, args: args.map(parseTerm), scope: values.scope ?? null }),
    format: formatAsk,
  }),
  facts: command({
    operation: 'listFacts',
    synopsis: 'facts [--predicate P] [--scope S] [--negated] [--limit N] [--cursor C]',
    args: [0, 0],
    options: ['predicate', 'scope', 'negated', 'limit', 'cursor'],
    input: (_args, values) => defined({ predicate: values.predicate, scope: values.scope, negated: values.negated, limit: limitOf(values), cursor: values.cursor }),
    format: formatFacts,
  }),
  predicates: command({
    operation: 'listPredicates',
    synopsis: 'predicates [--scope S]',
    args: [0, 0],
    options: ['scope'],
    input: (_args, values) => defined({ scope: values.scope }),
    format: formatPredicates,
  }),
  scopes: command({ operation: 'listScopes', synopsis: 'scopes', args: [0, 0], options: [], input: () => ({}), format: formatScopes }),
  fork: command({
    operation: 'forkScope',
    synopsis: 'fork <source> <target>',
    args: [2, 2],
    options: [],
    input: ([source, target]) => ({ source, target }),
    format: (reply: { scope: string; base: string }) => [`forked ${reply.base} -> ${reply.scope}`],
  }),
  diff: command({ operation: 'diffScopes', synopsis: 'diff <source> <target>', args: [2, 2], options: [], input: ([source, target]) => ({ source, target }), format: formatDiff }),
  merge: command({
    operation: 'mergeScopes',
    synopsis: `merge <source> <target> [--strategy ${STRATEGIES.join('|')}]`,
    args: [2, 2],
    options: ['strategy'],
    input: ([source, target], values) => {
      const strategy = (values.strategy ?? 'REJECT').toUpperCase();
      if (!STRATEGIES.includes(strategy)) throw usageError(`--strategy must be one of ${STRATEGIES.join(', ')}`);
      return { source, target, strategy };
    },
    format: formatMerge,
  }),
};

/** `watch` follows the change stream (a raw row: Server-Sent Events), so it is not a request/reply command. */
export const WATCH = { operation: 'events', synopsis: 'watch [--since N] [--scope S] [--predicate P]', options: ['since', 'scope', 'predicate'] as const };

export function rowOf(name: string): OperationDef {
  const row = OPERATIONS.find((op) => op.name === name);
  if (!row) throw new TypeError(`the CLI names an operation that does not exist: ${name}`);
  return row;
}
