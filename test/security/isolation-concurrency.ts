// Isolation under concurrency (issue 12): HTTP and MCP clients across databases × tenants ×
// scopes write and read at once while tenants are deleted and re-created and keys are revoked and
// re-issued. Every fact carries its owner and the generation of its tenant; a client that ever
// sees a fact of another tenant, or of another generation of its own tenant, counts a leak.
// Shared by the bounded test (npm test) and the torture run (test/torture).
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { call, connect } from '../mcp/client.js';
import { type Api, api } from '../helpers/server.js';
import { adminApi, bearer, createKey } from './support.js';

export interface IsolationOptions {
  readonly databases: number;
  readonly tenants: number;
  /** Admin actions to make, alternately a tenant deletion (then re-creation) and a key rotation. */
  readonly rounds: number;
  /** Time between two admin actions, while the clients work. */
  readonly chaosEveryMs: number;
}

export interface IsolationReport {
  readonly leaks: string[];
  readonly reads: number;
  readonly writes: number;
  readonly refused: number;
  readonly deletions: number;
  readonly rotations: number;
  readonly factsSeen: number;
}

interface Cell {
  readonly db: string;
  readonly tenant: string;
  /** Bumped by each deletion of the tenant: facts of another generation are another tenant's. */
  generation: number;
}

const SCOPES = ['main', 'branch'];
/** A closed legacy SSE session leaves a call unanswered: the client counts it as refused after this. */
const CALL_TIMEOUT_MS = 3000;

async function callBounded(client: Client, tool: string, args: Record<string, unknown>): Promise<{ isError: boolean; json: any }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ isError: boolean; json: any }>((resolve) => {
    timer = setTimeout(() => resolve({ isError: true, json: { code: 'NO_ANSWER' } }), CALL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([call(client, tool, args).catch(() => ({ isError: true, json: { code: 'CLOSED' } })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
const owner = (cell: Cell, generation = cell.generation) => `${cell.db}/${cell.tenant}#${generation}`;

/** One client (HTTP or MCP) of one cell and one generation, working until told to stop. */
class Worker {
  private mcp: Client | null = null;
  private http: Api | null = null;
  stopped = false;

  constructor(
    private readonly url: string,
    private readonly cell: Cell,
    private readonly generation: number,
    private readonly key: string,
    private readonly kind: 'http' | 'streamable' | 'sse',
    private readonly report: MutableReport,
  ) {}

  async run(): Promise<void> {
    const headers = { ...bearer(this.key), 'X-Database': this.cell.db, 'X-Tenant-ID': this.cell.tenant };
    try {
      if (this.kind === 'http') this.http = api(this.url, headers);
      else this.mcp = await connect(this.url, this.kind, headers);
    } catch {
      this.report.refused++;
      return;
    }
    for (let i = 0; !this.stopped; i++) {
      const alive = await this.step(i).catch(() => false);
      if (!alive) break;
    }
    await this.mcp?.close().catch(() => undefined);
  }

  /** One write and one read; false once this client lost access (its tenant or key is gone). */
  private async step(i: number): Promise<boolean> {
    const mine = owner(this.cell, this.generation);
    const scope = SCOPES[i % SCOPES.length] as string;
    const fact = { predicate: 'owned', args: [mine, `${this.kind}-${i}`], scope };
    const told = await this.tell(fact);
    if (!told) return false;
    this.report.writes++;
    const seen = await this.ask();
    if (seen === null) return false;
    this.report.reads++;
    this.report.factsSeen += seen.length;
    for (const who of seen) if (who !== mine) this.report.leaks.push(`${this.kind} client of ${mine} saw a fact of ${who}`);
    return true;
  }

  private async tell(fact: Record<string, unknown>): Promise<boolean> {
    if (this.http) {
      const reply = await this.http.post('/tell', fact);
      return this.accepted(reply.status);
    }
    const reply = await callBounded(this.mcp as Client, 'tell', fact);
    if (reply.isError) this.report.refused++;
    return !reply.isError;
  }

  /** The owners of every `owned` fact this client can see, in every scope. */
  private async ask(): Promise<string[] | null> {
    const pattern = { predicate: 'owned', args: ['?o', '?n'], limit: 10_000 };
    if (this.http) {
      const reply = await this.http.post('/ask', pattern);
      if (!this.accepted(reply.status)) return null;
      return (reply.json.results as { bindings: { o: string } }[]).map((r) => r.bindings.o);
    }
    const reply = await callBounded(this.mcp as Client, 'ask', pattern);
    if (reply.isError) {
      this.report.refused++;
      return null;
    }
    return (reply.json.results as { bindings: { o: string } }[]).map((r) => r.bindings.o);
  }

  private accepted(status: number): boolean {
    if (status === 200) return true;
    if (status === 401 || status === 403) {
      this.report.refused++;
      return false;
    }
    throw new Error(`unexpected status ${status}`);
  }
}

type MutableReport = { -readonly [K in keyof IsolationReport]: IsolationReport[K] };

const KINDS = ['http', 'streamable', 'sse'] as const;

export async function runIsolation(url: string, options: IsolationOptions): Promise<IsolationReport> {
  const report: MutableReport = { leaks: [], reads: 0, writes: 0, refused: 0, deletions: 0, rotations: 0, factsSeen: 0 };
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const cells: Cell[] = [];
  for (let d = 0; d < options.databases; d++) for (let t = 0; t < options.tenants; t++) cells.push({ db: `iso${run}d${d}`, tenant: `t${t}`, generation: 0 });
  const running = new Set<Promise<void>>();
  const workersOf = new Map<Cell, Worker[]>();

  /** Clients of every kind for the cell's current generation, with a key of their own. */
  const staff = async (cell: Cell) => {
    const generation = cell.generation;
    // The tenant exists before its clients start: a deletion that raced their first write would be a
    // 404 that deletes nothing, and the next "generation" would share the tenant with the old one.
    for (const [what, reply] of [
      ['database', await adminApi(url).post('/databases', { name: cell.db })],
      ['tenant', await adminApi(url).post(`/admin/databases/${cell.db}/tenants`, { name: cell.tenant })],
    ] as const) {
      if (reply.status !== 200 && reply.status !== 201) throw new Error(`creating the ${what} failed: ${reply.status} ${reply.text}`);
    }
    const { key } = await createKey(url, { role: 'writer', databases: [cell.db], tenants: [cell.tenant] });
    const workers = KINDS.map((kind) => new Worker(url, cell, generation, key, kind, report));
    workersOf.set(cell, [...(workersOf.get(cell) ?? []), ...workers]);
    for (const worker of workers) {
      const done = worker.run().finally(() => running.delete(done));
      running.add(done);
    }
  };
  for (const cell of cells) await staff(cell);

  for (let round = 0; round < options.rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, options.chaosEveryMs));
    const cell = cells[round % cells.length] as Cell;
    // The old clients keep going: they must be refused, never answered with the new tenant's facts.
    if (round % 2 === 0) {
      // Delete the tenant under its clients, then let it live again as a new generation.
      const reply = await adminApi(url).request('DELETE', `/admin/databases/${cell.db}/tenants/${cell.tenant}`);
      if (reply.status !== 200) throw new Error(`tenant deletion failed: ${reply.status} ${reply.text}`);
      report.deletions++;
      cell.generation++;
    } else {
      // Rotate: a fresh key for the same cell; the old one is revoked under its clients.
      const keys = (await adminApi(url).get('/auth/keys')).json.keys as { id: string; tenants: string[] | '*'; databases: string[] | '*' }[];
      for (const key of keys) {
        if (Array.isArray(key.databases) && key.databases.includes(cell.db) && Array.isArray(key.tenants) && key.tenants.includes(cell.tenant)) {
          await adminApi(url).request('DELETE', `/auth/keys/${key.id}`);
        }
      }
      report.rotations++;
    }
    await staff(cell);
  }
  for (const workers of workersOf.values()) for (const worker of workers) worker.stopped = true;
  await Promise.all([...running]);
  return report;
}
