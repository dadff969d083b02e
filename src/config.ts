import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SandboxOptions } from './service/sandbox.js';
import type { VectorIndexOptions } from './store/vector-index.js';

/**
 * Approximate vector search defaults (bench/RESULTS.md "Approximate vector index"): connectivity
 * 16 and expansion 128 while inserting gave recall@10 1.0 against exact search on clustered 384-d
 * vectors (64 as well, 2.4× faster, but 0.89 instead of 0.98 on the hashed set's near-ties); at
 * least 256 candidates per search (80 gave 0.90 on the hashed set, 320 gave 0.98), 4× the results
 * wanted when more: room for hidden and retracted candidates; 8 ms slices keep requests flowing
 * while an index fills. Defined here (not imported with the index) so the CLI never loads the native library.
 */
const DEFAULT_VECTOR_INDEX_OPTIONS: VectorIndexOptions = {
  threshold: 20_000,
  maxTenants: 8,
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 256,
  overFetch: 4,
  sliceMs: 8,
};

/** The only reader of process.env: everything configurable, parsed and typed once at start. */
const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(9300),
  HOST: z.string().min(1).default('127.0.0.1'),
  VESPER_DATA: z.string().min(1).default('./data'),
  VESPER_ADMIN_KEY: z.string().min(16, 'VESPER_ADMIN_KEY must be at least 16 characters').optional(),
  VESPER_SYNC: z.enum(['0', '1']).default('0'),
  VESPER_GROUP_COMMIT_MS: z.coerce.number().int().min(1).max(10_000).default(100),
  VESPER_STRICT_DATABASES: z.enum(['0', '1']).default('0'),
  VESPER_MAX_BODY: z.string().regex(/^\d+(kb|mb)?$/i).default('32mb'),
  VESPER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  VESPER_RATE_LIMIT: z.coerce.number().int().min(0).default(2000),
  VESPER_TIERS: z.string().regex(/^\s*[A-Za-z0-9_.-]{1,64}=\d+\/\d+\s*(,\s*[A-Za-z0-9_.-]{1,64}=\d+\/\d+\s*)*$/, 'VESPER_TIERS is name=requests/seconds[,…]').optional(),
  VESPER_DEFAULT_TIER: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('default'),
  VESPER_RATE_QUEUE_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  VESPER_MAX_FACTS: z.coerce.number().int().min(0).default(0),
  VESPER_MAX_BYTES: z.coerce.number().int().min(0).default(0),
  VESPER_CONTEXT_MAX_FACTS: z.coerce.number().int().min(1).max(1000).default(25),
  VESPER_TRANSACTION_IDLE_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(300),
  VESPER_MAX_OPEN_TRANSACTIONS: z.coerce.number().int().min(1).max(10_000).default(100),
  VESPER_KEY_PEPPER: z.string().min(16).optional(),
  VESPER_EVENT_RETENTION_DAYS: z.coerce.number().min(0).default(30),
  VESPER_HISTORY_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(30),
  VESPER_MAX_OPEN_DATABASES: z.coerce.number().int().min(0).max(100_000).default(0),
  VESPER_ANN_THRESHOLD: z.coerce.number().int().min(0).default(DEFAULT_VECTOR_INDEX_OPTIONS.threshold),
  VESPER_ANN_MAX_TENANTS: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_VECTOR_INDEX_OPTIONS.maxTenants),
  VESPER_ANN_CONNECTIVITY: z.coerce.number().int().min(4).max(128).default(DEFAULT_VECTOR_INDEX_OPTIONS.connectivity),
  VESPER_ANN_EXPANSION_ADD: z.coerce.number().int().min(8).max(4096).default(DEFAULT_VECTOR_INDEX_OPTIONS.expansionAdd),
  VESPER_ANN_EXPANSION_SEARCH: z.coerce.number().int().min(8).max(4096).default(DEFAULT_VECTOR_INDEX_OPTIONS.expansionSearch),
  VESPER_ALLOWED_HOSTS: z.string().optional(),
  VESPER_HOOKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  VESPER_HOOKS_SECRET: z.string().min(16, 'VESPER_HOOKS_SECRET must be at least 16 characters').optional(),
  VESPER_HOOKS_RETRY_MS: z.coerce.number().int().min(10).max(3600_000).default(1000),
  VESPER_TRUST_PROXY: z.enum(['0', '1']).default('0'),
  VESPER_BASE_HOST: z.string().regex(/^[A-Za-z0-9.-]+$/, 'VESPER_BASE_HOST is a host name, e.g. example.com').optional(),
  VESPER_CORS_ORIGINS: z.string().optional(),
  VESPER_MCP_IDLE_MS: z.coerce.number().int().min(0).default(300_000),
  VESPER_MCP_MAX_SESSIONS_PER_KEY: z.coerce.number().int().min(0).default(100),
  VESPER_AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).default(60),
  VESPER_SESSION_IDLE_MS: z.coerce.number().int().min(1000).default(24 * 3600 * 1000),
  VESPER_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  VESPER_QUERY_MAX_TUPLES: z.coerce.number().int().min(0).default(2_000_000),
  VESPER_QUERY_MAX_ROWS: z.coerce.number().int().min(0).default(2_000_000),
  VESPER_HEAVY_SLOTS_PER_TENANT: z.coerce.number().int().min(0).default(2),
  VESPER_HEAVY_QUEUE_PER_TENANT: z.coerce.number().int().min(0).default(32),
  VESPER_ADMISSION_PER_TURN: z.coerce.number().int().min(0).default(8),
  VESPER_ADMISSION_QUEUE_PER_TENANT: z.coerce.number().int().min(1).default(256),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VESPER_BACKEND: z.enum(['leveldb', 'postgres']).default('leveldb'),
  VESPER_PG_URL: z.string().regex(/^postgres(ql)?:\/\//, 'VESPER_PG_URL must be a postgres:// URL').optional(),
  VESPER_PG_TABLE_PREFIX: z.string().regex(/^[a-z_][a-z0-9_]{0,15}$/, 'VESPER_PG_TABLE_PREFIX must be 1-16 of a-z, 0-9, _ (not starting with a digit)').default('vesper_'),
  VESPER_PG_POOL: z.coerce.number().int().min(1).max(1000).default(10),
  VESPER_PG_EVENT_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  VESPER_SANDBOX: z.enum(['0', '1']).default('0'),
  VESPER_SANDBOX_DEMO_TENANT: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'VESPER_SANDBOX_DEMO_TENANT is a tenant name').optional(),
  VESPER_SANDBOX_TTL_MS: z.coerce.number().int().min(1).default(24 * 3600 * 1000),
  VESPER_SANDBOX_TIER: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('free'),
  VESPER_SANDBOX_PER_HOUR: z.coerce.number().int().min(0).default(10),
  VESPER_SANDBOX_MAX_FACTS: z.coerce.number().int().min(0).default(10_000),
  VESPER_CLAIM_TTL_MS: z.coerce.number().int().min(1).default(24 * 3600 * 1000),
});

/**
 * Where the databases live: one LevelDB directory each under VESPER_DATA (the default), or one table
 * each in a PostgreSQL database (or CockroachDB / YugabyteDB, same protocol).
 */
export type BackendConfig =
  | { readonly kind: 'leveldb' }
  | {
      readonly kind: 'postgres';
      /** postgres://user:password@host1:port1,host2:port2/database: with several hosts the primary is found. Never logged (a password may be in it). */
      readonly url: string;
      /** Every table name starts with it: several deployments (or test servers) can share one database. */
      readonly tablePrefix: string;
      /** Connections for reads and writes (explicit snapshots have a pool of their own). */
      readonly poolSize: number;
      /** How often an open change stream reads the event log for what other processes wrote (and checks its tenant, database and key). */
      readonly eventPollMs: number;
    };

/** A rate-limit tier: this many requests per window, per tenant (0 = unlimited). */
export interface Tier {
  readonly requests: number;
  readonly windowSeconds: number;
}

/** The built-in tiers; VESPER_TIERS adds to them or changes them, `default` is VESPER_RATE_LIMIT per second. */
const BUILT_IN_TIERS: Readonly<Record<string, Tier>> = {
  free: { requests: 20, windowSeconds: 60 },
  pro: { requests: 200, windowSeconds: 60 },
  enterprise: { requests: 2000, windowSeconds: 60 },
};

/** Wall time, tuples produced and stored facts read by one query (0 in the environment = no limit). */
export interface QueryBudget {
  readonly timeMs?: number;
  readonly maxTuples?: number;
  readonly maxRows?: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly backend: BackendConfig;
  /** Unset: open development mode, every request is admin. */
  readonly adminKey: string | null;
  readonly syncEveryWrite: boolean;
  readonly groupCommitMs: number;
  readonly strictDatabases: boolean;
  readonly maxBody: string;
  /** The same in bytes (the server default of the maxBodyBytes setting). */
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  /** Requests per second per tenant (burst of the same size); 0 = unlimited: the `default` tier. */
  readonly rateLimit: number;
  /** Rate-limit tiers by name (tenants pick one through their settings). */
  readonly tiers: Readonly<Record<string, Tier>>;
  /** The tier of a tenant whose database and own settings name none. */
  readonly defaultTier: string;
  /** Longest wait of a request queued by a tenant whose overflow setting is `queue`. */
  readonly rateQueueMs: number;
  /** Default quotas per tenant (0 = none): facts, and bytes of facts. */
  readonly maxFacts: number;
  readonly maxBytes: number;
  /** maxFacts of a context window that asks for no number. */
  readonly contextMaxFacts: number;
  /** Open transactions (in memory) idle longer than this are rolled back; and how many a tenant may hold open. */
  readonly transactionIdleSeconds: number;
  readonly maxOpenTransactions: number;
  /** HMAC pepper for API key hashes; unset = one generated once and kept in the system database. */
  readonly keyPepper: string | null;
  /** Events (audit trail, change stream) older than this are pruned hourly; 0 = kept forever. */
  readonly eventRetentionMs: number;
  /** Versions of facts older than this are pruned hourly (a database or tenant may set its own); 0 = kept forever. */
  readonly historyRetentionDays: number;
  /** Databases open at once (least recently used idle ones are closed beyond it); 0 = derived from the file limit. */
  readonly maxOpenDatabases: number;
  /**
   * Approximate vector search (store/vector-index.ts): a layer of at least `threshold` embedded
   * facts gets an in-memory HNSW index (VESPER_ANN_THRESHOLD, 0 = never: always exact), the indexes
   * of at most `maxTenants` tenants are kept (VESPER_ANN_MAX_TENANTS), and the graph's parameters.
   */
  readonly vectorIndex: VectorIndexOptions | null;
  /** Context sessions idle for longer than this are forgotten and swept in the background. */
  readonly sessionIdleMs: number;
  /** Per-request evaluation budget of rule and join queries (absent field = unlimited). */
  readonly queryBudget: QueryBudget;
  /** Heavy requests (rule evaluations, joins, diffs, merges, context passes) per tenant: running at once, and waiting; 0 slots = no limit. */
  readonly heavySlots: { readonly perTenant: number; readonly queuePerTenant: number };
  /** Fair admission (http/admission.ts): requests admitted per event-loop turn before the rest queue per tenant (0 = off), and how many may wait per tenant. */
  readonly admission: { readonly perTurn: number; readonly queuePerTenant: number };
  readonly logLevel: z.output<typeof EnvSchema>['LOG_LEVEL'];
  /** Host names the server answers to besides loopback names and IP literals (DNS rebinding); '*' = any. */
  readonly allowedHosts: readonly string[] | '*';
  /** `{tenant}.<baseHost>` names the tenant of a request that names none otherwise; those hosts are allowed. */
  readonly baseHost: string | null;
  /** Lifecycle webhooks: where they go, the HMAC key of their signature, the first retry delay. */
  readonly hooks: { readonly url: string | null; readonly secret: string; readonly retryMs: number };
  /** Browser origins allowed to call the server (CORS); none by default. */
  readonly corsOrigins: readonly string[] | '*';
  /** MCP sessions with no request for this long are closed; 0 = never. */
  /** Behind a reverse proxy (VESPER_TRUST_PROXY=1): the client address is the last X-Forwarded-For hop, the host X-Forwarded-Host. */
  readonly trustProxy: boolean;
  readonly mcpIdleMs: number;
  /** Open MCP sessions one key may hold; 0 = no cap. */
  readonly mcpMaxSessionsPerKey: number;
  /** 401/403 replies per minute per key and per client address before they become 429s; 0 = no limit. */
  readonly authFailureLimit: number;
  /** Progressive access (VESPER_SANDBOX=1): anonymous reads of a demo tenant, sandboxes made by a first tell, claims. */
  readonly sandbox: SandboxConfig;
}

/** The sandbox settings come from the environment; the database they live in is the default one. */
export type SandboxConfig = Omit<SandboxOptions, 'database'>;

/** A comma-separated setting: unset or '' = none, '*' = any; entries trimmed and lower-cased. */
function parseList(value: string | undefined): readonly string[] | '*' {
  const entries = (value ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase().replace(/\/+$/, ''))
    .filter((e) => e !== '');
  return entries.includes('*') ? '*' : entries;
}

/** The configured host names, plus HOST itself when it is a name (an address or a wildcard needs nothing). */
function allowedHostsOf(listed: string | undefined, host: string): readonly string[] | '*' {
  const hosts = parseList(listed);
  if (hosts === '*' || isIP(host) !== 0) return hosts;
  return [...hosts, host.toLowerCase()];
}

/** '32mb' → bytes (k and m are 1024-based, as the body parser reads them). */
function bytesOf(size: string): number {
  const [, digits = '0', unit = ''] = /^(\d+)(kb|mb)?$/i.exec(size) ?? [];
  return Number(digits) * ({ kb: 1024, mb: 1024 ** 2 }[unit.toLowerCase()] ?? 1);
}

function tiersOf(listed: string | undefined, ratePerSecond: number): Record<string, Tier> {
  const tiers: Record<string, Tier> = { ...BUILT_IN_TIERS, default: { requests: ratePerSecond, windowSeconds: 1 } };
  for (const entry of (listed ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [, name = '', requests = '0', seconds = '1'] = /^([^=]+)=(\d+)\/(\d+)$/.exec(entry) ?? [];
    if (Number(seconds) < 1) throw new Error(`invalid configuration: VESPER_TIERS: the window of tier '${name}' must be at least 1 second`);
    tiers[name] = { requests: Number(requests), windowSeconds: Number(seconds) };
  }
  return tiers;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const tiers = tiersOf(e.VESPER_TIERS, e.VESPER_RATE_LIMIT);
  if (e.VESPER_HOOKS_URL && !e.VESPER_HOOKS_SECRET) throw new Error('invalid configuration: VESPER_HOOKS_URL needs VESPER_HOOKS_SECRET (the key of the deliveries\' signatures)');
  if (!(e.VESPER_SANDBOX_TIER in tiers)) throw new Error(`invalid configuration: VESPER_SANDBOX_TIER: no tier '${e.VESPER_SANDBOX_TIER}' (tiers: ${Object.keys(tiers).join(', ')})`);
  if (!(e.VESPER_DEFAULT_TIER in tiers)) throw new Error(`invalid configuration: VESPER_DEFAULT_TIER: no tier '${e.VESPER_DEFAULT_TIER}' (tiers: ${Object.keys(tiers).join(', ')})`);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.VESPER_DATA),
    backend: backendOf(e),
    adminKey: e.VESPER_ADMIN_KEY ?? null,
    syncEveryWrite: e.VESPER_SYNC === '1',
    groupCommitMs: e.VESPER_GROUP_COMMIT_MS,
    strictDatabases: e.VESPER_STRICT_DATABASES === '1',
    maxBody: e.VESPER_MAX_BODY,
    maxBodyBytes: bytesOf(e.VESPER_MAX_BODY),
    shutdownTimeoutMs: e.VESPER_SHUTDOWN_TIMEOUT_MS,
    rateLimit: e.VESPER_RATE_LIMIT,
    tiers,
    defaultTier: e.VESPER_DEFAULT_TIER,
    rateQueueMs: e.VESPER_RATE_QUEUE_MS,
    maxFacts: e.VESPER_MAX_FACTS,
    maxBytes: e.VESPER_MAX_BYTES,
    contextMaxFacts: e.VESPER_CONTEXT_MAX_FACTS,
    transactionIdleSeconds: e.VESPER_TRANSACTION_IDLE_SECONDS,
    maxOpenTransactions: e.VESPER_MAX_OPEN_TRANSACTIONS,
    keyPepper: e.VESPER_KEY_PEPPER ?? null,
    eventRetentionMs: e.VESPER_EVENT_RETENTION_DAYS * 24 * 3600 * 1000,
    historyRetentionDays: e.VESPER_HISTORY_RETENTION_DAYS,
    maxOpenDatabases: e.VESPER_MAX_OPEN_DATABASES,
    vectorIndex:
      e.VESPER_ANN_THRESHOLD === 0
        ? null
        : {
            ...DEFAULT_VECTOR_INDEX_OPTIONS,
            threshold: e.VESPER_ANN_THRESHOLD,
            maxTenants: e.VESPER_ANN_MAX_TENANTS,
            connectivity: e.VESPER_ANN_CONNECTIVITY,
            expansionAdd: e.VESPER_ANN_EXPANSION_ADD,
            expansionSearch: e.VESPER_ANN_EXPANSION_SEARCH,
          },
    sessionIdleMs: e.VESPER_SESSION_IDLE_MS,
    queryBudget: {
      ...(e.VESPER_QUERY_TIMEOUT_MS > 0 ? { timeMs: e.VESPER_QUERY_TIMEOUT_MS } : {}),
      ...(e.VESPER_QUERY_MAX_TUPLES > 0 ? { maxTuples: e.VESPER_QUERY_MAX_TUPLES } : {}),
      ...(e.VESPER_QUERY_MAX_ROWS > 0 ? { maxRows: e.VESPER_QUERY_MAX_ROWS } : {}),
    },
    heavySlots: { perTenant: e.VESPER_HEAVY_SLOTS_PER_TENANT, queuePerTenant: e.VESPER_HEAVY_QUEUE_PER_TENANT },
    admission: { perTurn: e.VESPER_ADMISSION_PER_TURN, queuePerTenant: e.VESPER_ADMISSION_QUEUE_PER_TENANT },
    logLevel: e.LOG_LEVEL,
    allowedHosts: allowedHostsOf(e.VESPER_ALLOWED_HOSTS, e.HOST),
    corsOrigins: parseList(e.VESPER_CORS_ORIGINS),
    hooks: { url: e.VESPER_HOOKS_URL ?? null, secret: e.VESPER_HOOKS_SECRET ?? '', retryMs: e.VESPER_HOOKS_RETRY_MS },
    baseHost: e.VESPER_BASE_HOST?.toLowerCase().replace(/\.$/, '') ?? null,
    trustProxy: e.VESPER_TRUST_PROXY === '1',
    mcpIdleMs: e.VESPER_MCP_IDLE_MS,
    mcpMaxSessionsPerKey: e.VESPER_MCP_MAX_SESSIONS_PER_KEY,
    authFailureLimit: e.VESPER_AUTH_FAILURE_LIMIT,
    sandbox: {
      enabled: e.VESPER_SANDBOX === '1',
      demoTenant: e.VESPER_SANDBOX_DEMO_TENANT ?? null,
      ttlMs: e.VESPER_SANDBOX_TTL_MS,
      tier: e.VESPER_SANDBOX_TIER,
      claimTtlMs: e.VESPER_CLAIM_TTL_MS,
      perAddressPerHour: e.VESPER_SANDBOX_PER_HOUR,
      maxFacts: e.VESPER_SANDBOX_MAX_FACTS,
    },
  };
}

function backendOf(e: z.output<typeof EnvSchema>): BackendConfig {
  if (e.VESPER_BACKEND === 'leveldb') return { kind: 'leveldb' };
  if (e.VESPER_PG_URL === undefined) throw new Error('invalid configuration: VESPER_BACKEND=postgres needs VESPER_PG_URL (postgres://user@host:port/database)');
  return { kind: 'postgres', url: e.VESPER_PG_URL, tablePrefix: e.VESPER_PG_TABLE_PREFIX, poolSize: e.VESPER_PG_POOL, eventPollMs: e.VESPER_PG_EVENT_POLL_MS };
}

/** The `vesper` CLI's settings from the environment (its flags override them). */
export interface CliEnvironment {
  readonly url: string | undefined;
  readonly database: string | undefined;
  readonly tenant: string | undefined;
  readonly key: string | undefined;
}

export function loadCliEnvironment(env: Record<string, string | undefined> = process.env): CliEnvironment {
  const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);
  return { url: nonEmpty(env.VESPER_URL), database: nonEmpty(env.VESPER_DATABASE), tenant: nonEmpty(env.VESPER_TENANT), key: nonEmpty(env.VESPER_KEY) };
}
