import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadCliEnvironment } from '../config.js';
import { callOperation } from './client.js';
import { CliError } from './errors.js';
import { rowOf } from './commands.js';

/**
 * `npm run rules:load -- --database X rules/saas.vr [more.vr…]`: loads rule packs into a
 * database of a running server as database rules (shared by its tenants), through the
 * `addDatabaseRules` operation. Rules are a set, so loading a pack again adds nothing.
 */
const USAGE = 'usage: npm run rules:load -- --database NAME [--url http://127.0.0.1:9300] [--key ADMIN_KEY] FILE.vr…';

async function main(argv: string[]): Promise<number> {
  const env = loadCliEnvironment();
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      database: { type: 'string', short: 'd', default: env.database ?? 'default' },
      url: { type: 'string', default: env.url ?? 'http://127.0.0.1:9300' },
      key: { type: 'string' },
    },
  });
  if (positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const connection = { url: values.url, database: values.database, tenant: 'default', key: values.key ?? env.key };
  for (const file of positionals) {
    const text = await readFile(file, 'utf8');
    try {
      const reply = await callOperation<{ rules: { created: boolean }[] }>(connection, rowOf('addDatabaseRules'), { db: values.database, text });
      const added = reply.rules.filter((r) => r.created).length;
      process.stdout.write(`${file}: ${reply.rules.length} rules loaded into database '${values.database}' (${added} new)\n`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      process.stderr.write(`${file}: ${error.message}\n`);
      return error.exitCode;
    }
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
