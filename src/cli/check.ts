import { ClassicLevel } from 'classic-level';
import { checkDataDir } from '../store/check.js';

/**
 * `npm run check -- DATA_DIR`: the offline consistency check of a Vesper data directory (see
 * store/check.ts). Run it while no server uses the directory. Exit 0 when clean, 1 with a report
 * of the problems, 2 on bad usage. Nothing is created: a missing database directory is a problem.
 */
async function main(argv: readonly string[]): Promise<number> {
  const [dataDir] = argv;
  if (dataDir === undefined || argv.length !== 1) {
    process.stderr.write('usage: npm run check -- DATA_DIR\n');
    return 2;
  }
  const report = await checkDataDir(dataDir, (location) => new ClassicLevel<string, string>(location, { createIfMissing: false }));
  const summary = `${report.databases} databases, ${report.tenants} tenants, ${report.entries} fact versions`;
  if (report.problems.length === 0) {
    process.stdout.write(`clean: ${summary}\n`);
    return 0;
  }
  process.stdout.write(`${report.problems.length} problems in ${summary}:\n`);
  for (const p of report.problems) process.stdout.write(`  ${p.database}${p.tenant === null ? '' : `/${p.tenant}`}: ${p.kind}: ${p.detail}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
