/**
 * `npm run torture [-- part…]`: the long runs that do not fit in npm test, one part after another
 * (all parts when none is named). Add a part by adding an entry to PARTS. TORTURE_SECONDS sets the
 * duration of the timed parts (default 60). Exit code 1 if any part fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fuzzPart } from './fuzz.js';
import { runCrashRounds } from './crash.js';
import { isolationPart } from './isolation.js';
import { failoverPart } from './failover.js';

const seconds = Number(process.env.TORTURE_SECONDS ?? '60');
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();

/** A part in its own process (its output goes straight to ours). */
function command(argv: readonly string[]): () => Promise<boolean> {
  return async () => spawnSync(argv[0] as string, argv.slice(1), { stdio: 'inherit' }).status === 0;
}

const PARTS: Readonly<Record<string, () => Promise<boolean>>> = {
  // The differential run against SWI-Prolog, at the size the oracle issue asks for (≥ 2,000 programs).
  oracle: command(['node', '--import', 'tsx', 'test/oracle/run.ts', '--programs', '2000', '--seed', '1']),
  // HTTP and MCP clients across databases × tenants × scopes, with deletions and key changes meanwhile.
  isolation: async () => {
    const result = await isolationPart(seconds);
    console.log(JSON.stringify({ part: 'isolation', commit, ok: result.ok, ...result.summary }));
    return result.ok;
  },
  // The OpenAPI fuzzer: 20,000 cases per operation, or TORTURE_SECONDS shared out between them.
  fuzz: async () => {
    const result = await fuzzPart(process.env.TORTURE_SECONDS === undefined ? null : seconds);
    console.log(JSON.stringify({ part: 'fuzz', commit, ok: result.ok, ...result.summary }));
    return result.ok;
  },
  // kill -9 under concurrent writes, offline check, restart, every acknowledged write verified (CRASH_ROUNDS, default 50).
  crash: async () => {
    const report = await runCrashRounds({ rounds: Number(process.env.CRASH_ROUNDS ?? '50'), seed: Number(process.env.CRASH_SEED ?? '1'), loadMs: [200, 2500] });
    console.log(JSON.stringify({ part: 'crash', commit, ...report, problems: report.problems.length, firstProblems: report.problems.slice(0, 20) }));
    return report.problems.length === 0;
  },
  // The model tests at full size: 400 random scope sequences against the model, 8 incremental-context seeds (npm test runs 100 and 2).
  models: async () => spawnSync('npx', ['ava', 'test/scopes/model.test.ts', 'test/context/incremental.test.ts'], { stdio: 'inherit', env: { ...process.env, VESPER_TEST_LONG: '1' } }).status === 0,
  // PostgreSQL: kill the primary under acknowledged writes, promote the replica, every acknowledged write checked (sync and async replication).
  failover: async () => {
    const result = await failoverPart();
    console.log(JSON.stringify({ part: 'failover', commit, ok: result.ok, ...result.summary }));
    return result.ok;
  },
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in PARTS));
if (unknown.length > 0) {
  console.error(`unknown torture part(s): ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
const failed: string[] = [];
for (const [name, run] of Object.entries(PARTS).filter(([n]) => wanted.length === 0 || wanted.includes(n))) {
  console.log(`== torture: ${name} (commit ${commit})`);
  const started = Date.now();
  const ok = await run();
  console.log(`== torture: ${name} ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (!ok) failed.push(name);
}
process.exit(failed.length > 0 ? 1 : 0);
