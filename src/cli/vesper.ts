#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Connection } from './client.js';
import { loadCliEnvironment as readEnvironment } from '../config.js';
import { COMMANDS, OPTIONS, type OptionName, type Values, WATCH, rowOf } from './commands.js';
import { CliError, EXIT, type ExitCode, usageError } from './errors.js';
import { type ChangeEvent, formatEvent } from './format.js';
import { watch } from './watch.js';
import { EXPORT, IMPORT, exportTenant, importTenant } from './portability.js';

/** The usage text: each command's syntax and, from the operation table, what it does. */
function usage(): string {
  const commands = [...Object.values(COMMANDS), { ...WATCH, args: [0, 0] }, EXPORT, IMPORT];
  const width = Math.max(...commands.map((c) => c.synopsis.length));
  const lines = commands.map((c) => `  ${c.synopsis.padEnd(width)}  ${rowOf(c.operation).summary}`);
  return `usage: vesper <command> [arguments] [options]

commands:
${lines.join('\n')}

options:
  --url URL          server (env VESPER_URL, default http://127.0.0.1:9300)
  --database NAME    database (env VESPER_DATABASE, default "default")
  --tenant NAME      tenant (env VESPER_TENANT, default "default")
  --key KEY          API key (env VESPER_KEY)
  --json             print the server's JSON replies (one per line) instead of text

Arguments that look like numbers are numbers; quote them ('"42"') to keep a string.
Put -- before arguments that start with "-" (negative numbers).
Exit codes: 0 ok, 1 error reported by the server, 2 usage error, 3 cannot connect.`;
}

const GLOBAL: readonly OptionName[] = ['url', 'database', 'tenant', 'key', 'json', 'help'];

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
  const spec =
    command === 'watch' ? { ...WATCH, args: [0, 0] as const } : command === 'export' ? { ...EXPORT, args: [0, 0] as const } : command === 'import' ? { ...IMPORT, args: [1, 1] as const } : COMMANDS[command];
  if (!spec) throw usageError(`unknown command '${command}'`);
  const options: readonly OptionName[] = spec.options;
  const stray = (Object.keys(values) as OptionName[]).filter((name) => values[name] !== undefined && !GLOBAL.includes(name) && !options.includes(name));
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

async function run(invocation: Invocation, signal: AbortSignal): Promise<void> {
  const { command, args, values, connection } = invocation;
  if (command === 'watch') {
    if (values.since !== undefined && !/^\d+$/.test(values.since)) throw usageError('--since must be an event sequence number');
    return watch(connection, {
      since: values.since === undefined ? null : Number(values.since),
      scope: values.scope,
      predicate: values.predicate,
      signal,
      onChange: (json) => print([values.json ? json : formatEvent(JSON.parse(json) as ChangeEvent)]),
    });
  }
  if (command === 'export') return exportTenant(connection, process.stdout);
  if (command === 'import') {
    const reply = (await importTenant(connection, args[0] as string)) as { imported: { layers: number; scopes: number; rules: number; facts: number } };
    return print([values.json ? JSON.stringify(reply) : `imported ${reply.imported.facts} facts, ${reply.imported.rules} rules, ${reply.imported.scopes} scopes, ${reply.imported.layers} layers`]);
  }
  const spec = COMMANDS[command];
  if (!spec) throw usageError(`unknown command '${command}'`);
  const reply = await spec.send(connection, spec.input(args, values));
  print(values.json ? [JSON.stringify(reply.json)] : reply.lines());
}

async function main(argv: string[]): Promise<ExitCode> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const invocation = parse(argv);
    if (invocation === 'help') {
      print([usage()]);
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
