#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type Connection, request } from './client.js';
import { loadCliEnvironment as readEnvironment } from '../config.js';
import { CliError, EXIT, type ExitCode, usageError } from './errors.js';
import { type ChangeEvent, formatAsk, formatDiff, formatEvent, formatMerge, formatScopes, formatTold } from './format.js';
import { parseTerm } from './terms.js';
import { watch } from './watch.js';

const USAGE = `usage: vesper <command> [arguments] [options]

commands:
  tell <predicate> [args…] [--scope S] [--negated]   store a fact
  ask <predicate> [args…] [--scope S]                query (args like ?x are variables)
  scopes                                             list scopes
  fork <source> <target>                             fork a scope
  diff <source> <target>                             compare two scopes
  merge <source> <target> [--strategy S]             merge source into target
                                                     (REJECT | SOURCE_WINS | TARGET_WINS | KEEP_BOTH)
  watch [--since N] [--scope S] [--predicate P]      print changes as they happen

options:
  --url URL          server (env VESPER_URL, default http://127.0.0.1:9300)
  --database NAME    database (env VESPER_DATABASE, default "default")
  --tenant NAME      tenant (env VESPER_TENANT, default "default")
  --key KEY          API key (env VESPER_KEY)
  --json             print the server's JSON replies (one per line) instead of text

Arguments that look like numbers are numbers; quote them ('"42"') to keep a string.
Put -- before arguments that start with "-" (negative numbers).
Exit codes: 0 ok, 1 error reported by the server, 2 usage error, 3 cannot connect.`;

const OPTIONS = {
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
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** The options each command accepts besides the global ones; positional arguments it needs. */
const COMMANDS: Record<string, { options: readonly (keyof Values)[]; args: [min: number, max: number] }> = {
  tell: { options: ['scope', 'negated'], args: [1, 17] },
  ask: { options: ['scope'], args: [1, 17] },
  scopes: { options: [], args: [0, 0] },
  fork: { options: [], args: [2, 2] },
  diff: { options: [], args: [2, 2] },
  merge: { options: ['strategy'], args: [2, 2] },
  watch: { options: ['since', 'scope', 'predicate'], args: [0, 0] },
};
const GLOBAL: readonly (keyof Values)[] = ['url', 'database', 'tenant', 'key', 'json', 'help'];
const STRATEGIES = ['REJECT', 'SOURCE_WINS', 'TARGET_WINS', 'KEEP_BOTH'];

interface Invocation {
  readonly command: string;
  readonly args: string[];
  readonly values: Values;
  readonly connection: Connection;
}

function parse(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || command === undefined || command === 'help') return 'help';
  const spec = COMMANDS[command];
  if (!spec) throw usageError(`unknown command '${command}'`);
  const stray = (Object.keys(values) as (keyof Values)[]).filter((name) => values[name] !== undefined && !GLOBAL.includes(name) && !spec.options.includes(name));
  if (stray.length > 0) throw usageError(`${command} does not take --${stray.join(', --')}`);
  const [min, max] = spec.args;
  if (args.length < min || args.length > max) throw usageError(`${command} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`);
  const env = readEnvironment();
  const connection: Connection = {
    url: values.url ?? env.url ?? 'http://127.0.0.1:9300',
    database: values.database ?? env.database ?? 'default',
    tenant: values.tenant ?? env.tenant ?? 'default',
    key: values.key ?? env.key,
  };
  return { command, args, values, connection };
}

function print(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Run a request; print its JSON (--json) or its human form. */
async function show<T>(invocation: Invocation, reply: Promise<T>, human: (reply: T) => string[]): Promise<void> {
  const value = await reply;
  print(invocation.values.json ? [JSON.stringify(value)] : human(value));
}

async function run(invocation: Invocation, signal: AbortSignal): Promise<void> {
  const { command, args, values, connection } = invocation;
  const [first = '', second = ''] = args;
  const scope = values.scope ?? null;
  switch (command) {
    case 'tell':
      return show(invocation, request<Parameters<typeof formatTold>[0]>(connection, 'POST', '/tell', { predicate: first, args: args.slice(1).map(parseTerm), negated: values.negated ?? false, scope }), formatTold);
    case 'ask':
      return show(invocation, request<Parameters<typeof formatAsk>[0]>(connection, 'POST', '/ask', { predicate: first, args: args.slice(1).map(parseTerm), scope }), formatAsk);
    case 'scopes':
      return show(invocation, request<Parameters<typeof formatScopes>[0]>(connection, 'GET', '/scopes'), formatScopes);
    case 'fork':
      return show(invocation, request<{ scope: string; base: string }>(connection, 'POST', '/scope/fork', { source: first, target: second }), (r) => [`forked ${r.base} -> ${r.scope}`]);
    case 'diff':
      return show(invocation, request<Parameters<typeof formatDiff>[0]>(connection, 'POST', '/scope/diff', { source: first, target: second }), formatDiff);
    case 'merge': {
      const strategy = (values.strategy ?? 'REJECT').toUpperCase();
      if (!STRATEGIES.includes(strategy)) throw usageError(`--strategy must be one of ${STRATEGIES.join(', ')}`);
      return show(invocation, request<Parameters<typeof formatMerge>[0]>(connection, 'POST', '/scope/merge', { source: first, target: second, strategy }), formatMerge);
    }
    case 'watch': {
      if (values.since !== undefined && !/^\d+$/.test(values.since)) throw usageError('--since must be an event sequence number');
      return watch(connection, {
        since: values.since === undefined ? null : Number(values.since),
        scope: values.scope,
        predicate: values.predicate,
        signal,
        onChange: (json) => print([values.json ? json : formatEvent(JSON.parse(json) as ChangeEvent)]),
      });
    }
    default:
      throw usageError(`unknown command '${command}'`);
  }
}

async function main(argv: string[]): Promise<ExitCode> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const invocation = parse(argv);
    if (invocation === 'help') {
      print([USAGE]);
      return EXIT.ok;
    }
    await run(invocation, stop.signal);
    return EXIT.ok;
  } catch (error) {
    if (stop.signal.aborted) return EXIT.ok;
    const failure = error instanceof CliError ? error : new CliError(EXIT.server, (error as Error)?.message ?? String(error));
    process.stderr.write(`vesper: ${failure.message}\n`);
    if (failure.exitCode === EXIT.usage) process.stderr.write(`run "vesper --help" for usage\n`);
    return failure.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
