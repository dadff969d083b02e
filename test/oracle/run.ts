/**
 * `npm run test:oracle [-- --programs N --seed S]`: the differential run against SWI-Prolog.
 * Random programs (seeds S … S+N-1) are checked against one real server; every mismatch is
 * printed with its seed (rerun one with `--programs 1 --seed <seed>`), and the exit code is 1
 * when there is any. Every 7th program also gets a deliberately invalid rule, which must be a
 * 400 naming its problem; every 5th puts its rules in the database, shared by two tenants.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type Api, type TestServer, api, startTestServer, tenantApi } from '../helpers/server.js';
import { type CheckResult, type Mismatch, ProgramCheck } from './check.js';
import { ensureSwipl } from './prolog.js';
import { generateProgram } from './program.js';

const { values } = parseArgs({
  options: {
    programs: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '2' },
    /** Write every mismatch (JSON) here, not just the first 30 printed. */
    report: { type: 'string' },
  },
});
const programs = Number(values.programs);
const firstSeed = Number(values.seed);
const concurrency = Number(values.concurrency);

/** Invalid rules and the problem each must be refused with. */
const INVALID: readonly [string, string][] = [
  ['bad_head(?x, ?free) :- e0(?x, ?y).', 'UNSAFE_HEAD_VARIABLE'],
  ['bad_not(?x) :- e0(?x, ?y), not e0(?y, ?loose).', 'UNSAFE_NEGATED_VARIABLE'],
  ['bad_cmp(?x) :- e0(?x, ?y), ?loose < 3.', 'UNSAFE_COMPARISON_VARIABLE'],
  ['bad_cycle(?x) :- e0(?x, ?y), not bad_cycle(?y).', 'NOT_STRATIFIABLE'],
];

async function checkInvalid(client: Api, seed: number, rulesPath: string): Promise<Mismatch[]> {
  const [text, problem] = INVALID[seed % INVALID.length]!;
  const reply = await client.post(rulesPath, { text });
  if (reply.status === 400 && reply.json?.details?.problem === problem) return [];
  return [{ seed, phase: 'invalid', ask: text, detail: `expected 400 ${problem}, got ${reply.status} ${reply.text}` }];
}

async function checkProgram(server: TestServer, seed: number): Promise<CheckResult> {
  const program = generateProgram(seed);
  const shared = seed % 5 === 0;
  const database = shared ? `oracle_db_${seed}` : 'default';
  const client = tenantApi(server.url, `oracle_${seed}`, database);
  const rulesPath = shared ? `/admin/databases/${database}/rules` : '/rules';
  if (shared) {
    const created = await api(server.url).post('/databases', { name: database });
    if (created.status !== 201 && created.status !== 200) throw new Error(`database create answered ${created.status}: ${created.text}`);
  }
  const check = new ProgramCheck(program, client, rulesPath);
  let result = await check.run();
  if (shared) result = await check.otherTenant(tenantApi(server.url, `oracle_${seed}_b`, database));
  const invalid = seed % 7 === 0 ? await checkInvalid(client, seed, rulesPath) : [];
  return { checks: result.checks + (seed % 7 === 0 ? 1 : 0), requests: result.requests + invalid.length, mismatches: [...result.mismatches, ...invalid] };
}

async function main(): Promise<void> {
  ensureSwipl();
  const server = await startTestServer({ VESPER_RATE_LIMIT: '0' });
  const started = Date.now();
  let checks = 0;
  let requests = 0;
  const mismatches: Mismatch[] = [];
  const failed: number[] = [];
  let next = firstSeed;
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < firstSeed + programs) {
      const seed = next++;
      try {
        const result = await checkProgram(server, seed);
        checks += result.checks;
        requests += result.requests;
        mismatches.push(...result.mismatches);
        if (result.mismatches.length > 0) failed.push(seed);
        if (++finished % 100 === 0) console.log(`oracle: ${finished}/${programs} programs, ${mismatches.length} mismatches so far`);
      } catch (error) {
        failed.push(seed);
        mismatches.push({ seed, phase: 'error', ask: '', detail: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await server.close();
  }
  if (values.report !== undefined) await writeFile(values.report, JSON.stringify(mismatches, null, 1));
  for (const m of mismatches.slice(0, 30)) console.log(`MISMATCH seed ${m.seed} [${m.phase}] ${m.ask}\n  ${m.detail.slice(0, 2000)}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `oracle: ${programs} programs (seeds ${firstSeed}–${firstSeed + programs - 1}), ${checks} answer-set checks, ${requests} requests, ` +
      `${mismatches.length} mismatches in ${failed.length} programs, ${seconds} s`,
  );
  if (failed.length > 0) console.log(`failing seeds: ${[...new Set(failed)].sort((a, b) => a - b).join(' ')}`);
  process.exitCode = mismatches.length > 0 ? 1 : 0;
}

await main();
