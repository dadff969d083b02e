// Torture part: PostgreSQL failover under acknowledged writes. A throwaway primary and streaming
// replica (scripts/pg-up.sh in a directory and on ports of their own, so a developer's `pg:up`
// cluster is untouched); Vesper on the two-host URL; writers tell unique facts while the primary is
// killed (immediate shutdown: no checkpoint, as a crash) and the replica promoted (`pg_ctl
// promote`). Then every acknowledged fact is looked up through Vesper, which found the new primary
// by itself (target_session_attrs). Once with synchronous replication (a commit waits for the
// replica: nothing acknowledged may be lost) and once asynchronous (what survives is reported; a
// loss there is what that setting allows, not a failure).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnServer } from '../helpers/child.js';

export interface FailoverReport {
  readonly replication: 'synchronous' | 'asynchronous';
  readonly acknowledgedBeforeKill: number;
  readonly acknowledgedAfterPromotion: number;
  readonly lost: number;
  /** From the promotion to the first write acknowledged by the new primary. */
  readonly recoveryMs: number;
  readonly refusedMeanwhile: Record<string, number>;
}

const run = promisify(execFile);
const SCRIPTS = join(process.cwd(), 'scripts');

function pgBin(): string {
  const dirs = execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1']).toString().trim();
  if (!dirs) throw new Error('PostgreSQL is not installed (npm run pg:up installs it)');
  return dirs;
}

/** As pg-env.sh: as root, server commands run as the postgres user. Asynchronous: the writers keep writing meanwhile. */
async function asOwner(command: string, args: string[]): Promise<void> {
  const [cmd, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  await run(cmd, argv, { timeout: 120_000 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function failoverRound(synchronous: boolean, writeMs = 3000): Promise<FailoverReport> {
  const dir = mkdtempSync(join(tmpdir(), 'vesper-failover-'));
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const env = { ...process.env, VESPER_PG_DIR: join(dir, 'pg'), VESPER_PG_PORT: String(primaryPort), VESPER_PG_REPLICA_PORT: String(replicaPort), VESPER_PG_SYNC: synchronous ? '1' : '0' };
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  execFileSync('sh', [join(SCRIPTS, 'pg-up.sh')], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  const url = `postgres://vesper@127.0.0.1:${primaryPort},127.0.0.1:${replicaPort}/vesper`;
  const server = await spawnServer(join(dir, 'data'), { VESPER_BACKEND: 'postgres', VESPER_PG_URL: url, VESPER_PG_TABLE_PREFIX: 'fo_', VESPER_SYNC: '1', VESPER_RATE_LIMIT: '0' }, 60_000);
  const acknowledged: { n: number; after: boolean }[] = [];
  const refused: Record<string, number> = {};
  let phase: 'before' | 'killed' | 'promoted' = 'before';
  let promotedAt = 0;
  let firstAfter = 0;
  let next = 0;
  let stop = false;
  const tell = async (n: number) => {
    const reply = await fetch(`${server.url}/tell`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'fo' }, body: JSON.stringify({ predicate: 'acked', args: [n] }) }).catch(() => null);
    const status = reply?.status ?? 0;
    await reply?.arrayBuffer();
    if (status === 200) {
      acknowledged.push({ n, after: phase === 'promoted' });
      if (phase === 'promoted' && firstAfter === 0) firstAfter = Date.now();
    } else refused[String(status)] = (refused[String(status)] ?? 0) + 1;
  };
  const writer = async () => {
    while (!stop) {
      await tell(next++);
      if (phase !== 'before') await sleep(20); // not a busy loop of refusals while no primary is up
    }
  };
  // Readers (FAILOVER_READERS, default 4): each ask reads through an explicit snapshot, held on a session of its own.
  const reader = async () => {
    while (!stop) {
      const reply = await fetch(`${server.url}/ask`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'fo' }, body: JSON.stringify({ predicate: 'acked', args: ['?n'], limit: 5 }) }).catch(() => null);
      await reply?.arrayBuffer();
      await sleep(5);
    }
  };
  try {
    const writers = [...Array.from({ length: 4 }, writer), ...Array.from({ length: Number(process.env.FAILOVER_READERS ?? 4) }, reader)];
    await sleep(writeMs);
    const bin = pgBin();
    phase = 'killed';
    const before = acknowledged.length;
    await asOwner(join(bin, 'pg_ctl'), ['-D', join(dir, 'pg', 'primary'), '-m', 'immediate', 'stop']);
    await asOwner(join(bin, 'pg_ctl'), ['-D', join(dir, 'pg', 'replica'), '-w', 'promote']);
    promotedAt = Date.now();
    phase = 'promoted';
    const deadline = Date.now() + 30_000;
    while (firstAfter === 0 && Date.now() < deadline) await sleep(50);
    await sleep(1000);
    stop = true;
    await Promise.all(writers);
    const missing: number[] = [];
    for (const { n } of acknowledged) {
      const reply = await fetch(`${server.url}/ask`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tenant-id': 'fo' }, body: JSON.stringify({ predicate: 'acked', args: [n] }) }).catch((error: unknown) => {
        throw new Error(`ask ${n} after the failover: ${String(error)}; the server said:\n${server.output().slice(-3000)}`);
      });
      const body = (await reply.json()) as { results?: unknown[] };
      if (reply.status !== 200) throw new Error(`ask ${n} after the failover: ${reply.status} ${JSON.stringify(body)}`);
      if ((body.results ?? []).length !== 1) missing.push(n);
    }
    return {
      replication: synchronous ? 'synchronous' : 'asynchronous',
      acknowledgedBeforeKill: before,
      acknowledgedAfterPromotion: acknowledged.filter((a) => a.after).length,
      lost: missing.length,
      recoveryMs: firstAfter === 0 ? -1 : firstAfter - promotedAt,
      refusedMeanwhile: refused,
    };
  } finally {
    stop = true;
    server.kill('SIGTERM');
    await server.exited;
    spawnSync('sh', [join(SCRIPTS, 'pg-down.sh'), '--purge'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both settings; fails if the synchronous round lost an acknowledged write or Vesper never wrote to the new primary. */
export async function failoverPart(): Promise<{ ok: boolean; summary: Record<string, unknown> }> {
  const sync = await failoverRound(true);
  const async_ = await failoverRound(false);
  const ok = sync.lost === 0 && sync.recoveryMs >= 0 && async_.recoveryMs >= 0;
  return { ok, summary: { synchronous: sync, asynchronous: async_ } };
}
