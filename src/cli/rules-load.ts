import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

/**
 * `npm run rules:load -- --database X rules/saas.vr [more.vr…]`: loads rule packs into a
 * database of a running server as database rules (shared by its tenants), through the admin API.
 */
const USAGE = 'usage: npm run rules:load -- --database NAME [--url http://127.0.0.1:9300] [--key ADMIN_KEY] FILE.vr…';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      database: { type: 'string', short: 'd', default: 'default' },
      url: { type: 'string', default: 'http://127.0.0.1:9300' },
      key: { type: 'string' },
    },
  });
  if (positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (values.key) headers.Authorization = `Bearer ${values.key}`;
  for (const file of positionals) {
    const text = await readFile(file, 'utf8');
    const url = `${values.url}/admin/databases/${encodeURIComponent(values.database)}/rules`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ text }) });
    const reply = (await response.json()) as { rules?: unknown[]; message?: string; code?: string };
    if (!response.ok) {
      process.stderr.write(`${file}: ${response.status} ${reply.code ?? ''} ${reply.message ?? ''}\n`);
      return 1;
    }
    process.stdout.write(`${file}: ${reply.rules?.length ?? 0} rules loaded into database '${values.database}'\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
