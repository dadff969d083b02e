import type { z } from 'zod';
import { parseInput } from '../contract/parse.js';
import { ValidationError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import type { TenantAddress } from '../service/address.js';
import type { Operation as Permission } from '../service/authorization.js';
import type { Services } from '../service/services.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** POST, PUT and PATCH take a JSON body; GET and DELETE take the query string. */
export function takesBody(method: Method): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** What the server says about itself (health, readiness); not a service, so handed in by the composition root. */
export interface ServerInfo {
  readonly version: string;
  readonly auth: 'enabled' | 'open';
  ready(): boolean;
  /** Open database handles and whether a full disk stopped writes. */
  databases(): { open: number; maxOpen: number; leases: number; storageFull: boolean };
}

/**
 * Who may call an operation, and on what:
 * - tenant: a data operation on the tenant of the request (X-Tenant-ID or `/~t/`), rate limited;
 * - database: an admin operation on the `{db}` path parameter;
 * - service: an operation on the whole service (keys, databases, metrics);
 * - public: no key needed, and holds no tenant data;
 * - session: the MCP transports, which authorise the session themselves.
 */
export type Access =
  | { readonly on: 'tenant'; readonly permission: Permission }
  | { readonly on: 'database'; readonly permission: 'admin.database' }
  | { readonly on: 'service'; readonly permission: Permission }
  | { readonly on: 'public' }
  | { readonly on: 'session' };

/** What the operation does to the data, true to its effects (the MCP annotations come from here). */
export interface Effects {
  readonly readOnly: boolean;
  /** It may delete or overwrite what was there. */
  readonly destructive: boolean;
  /** Repeating it with the same input changes nothing more. */
  readonly idempotent: boolean;
}

export const READS: Effects = { readOnly: true, destructive: false, idempotent: true };

/** How an operation appears as an MCP tool (tenant operations only: a session is bound to one tenant). */
export interface ToolSpec {
  readonly name: string;
  readonly title: string;
  /** Written for a model: what it does, when to use it, an example call. */
  readonly description: string;
  /** Accepted but not advertised (aliases, fields a client may echo back from a reply). */
  readonly hide?: readonly string[];
  /** Per-property descriptions for the model. */
  readonly describe?: Readonly<Record<string, string>>;
  /** Other tool names for the same operation, kept for older clients. */
  readonly aliases?: readonly string[];
}

/** Everything a handler may use besides its input. */
export interface Call {
  readonly services: Services;
  readonly principal: Principal;
  readonly server: ServerInfo;
  /** Aborted when the caller goes away: long evaluations stop instead of computing an unread answer. */
  readonly signal?: AbortSignal;
  /** The open transaction the call belongs to (`X-Transaction-ID`, or the MCP `transactionId` argument); rows marked `transactional` only. */
  readonly transactionId?: string | undefined;
}

export interface StatusRule<T> {
  readonly codes: readonly number[];
  pick(output: T): number;
}

interface Common<I extends z.ZodType, O extends z.ZodType> {
  /** The operationId (camelCase). */
  readonly name: string;
  readonly method: Method;
  /** OpenAPI form: `/scope/{name}`. Path parameters are fields of the input. */
  readonly path: string;
  readonly summary: string;
  readonly access: Access;
  /** Every field the operation takes: path parameters, then the JSON body (POST) or the query string (GET, DELETE). */
  readonly input: I;
  readonly output: O;
  readonly effects: Effects;
  /** Success status (default 200), or the statuses it may answer and which one a reply gets (201 created, 200 existed). */
  readonly status?: number | StatusRule<Reply<z.input<O>>>;
  /** Failures of this operation are written to the tenant's audit trail under this label. */
  readonly audit?: string;
  readonly tool?: ToolSpec;
  /** Other paths serving the same operation (`/admin/databases` for `/databases`). */
  readonly aliases?: readonly string[];
}

/** A reply as handlers build it: from readonly service values, so readonly all the way down. */
export type Reply<T> = T extends readonly (infer U)[] ? readonly Reply<U>[] : T extends object ? { readonly [K in keyof T]: Reply<T[K]> } : T;

export interface TenantRow<I extends z.ZodType, O extends z.ZodType> extends Common<I, O> {
  readonly access: { readonly on: 'tenant'; readonly permission: Permission };
  /** Heavy work (a diff, a merge, a context pass): runs in one of the tenant's few concurrent slots (services.slots). */
  readonly heavy?: boolean;
  /** Takes part in a transaction when the call names one (writes are buffered, reads see them); other rows refuse a transaction id. */
  readonly transactional?: boolean;
  handler(input: z.output<I>, address: TenantAddress, call: Call): Promise<Reply<z.input<O>>>;
}

export interface ControlRow<I extends z.ZodType, O extends z.ZodType> extends Common<I, O> {
  readonly access: Exclude<Access, { on: 'tenant' } | { on: 'session' }>;
  handler(input: z.output<I>, call: Call): Promise<Reply<z.input<O>>>;
}

/** Served by a transport of its own (SSE streams, MCP, metrics text, this document): the row documents and admits it. */
export interface RawRow {
  readonly kind: 'raw';
  readonly name: string;
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly access: Access;
  /** Query parameters, when it takes any. */
  readonly input: z.ZodType | null;
  readonly produces: 'text/event-stream' | 'text/plain' | 'application/json' | 'application/x-ndjson';
  /** A body that is not one JSON document: read by the handler as a stream, never by the JSON body parser. */
  readonly consumes?: 'application/x-ndjson';
  /** Its success status when not 200 (the handler sets it; the document says it). */
  readonly status?: 201;
  readonly effects: Effects;
  readonly aliases?: readonly string[];
}

export interface Result {
  readonly status: number;
  readonly output: unknown;
}

/** One row of the table, its types erased; `invoke` parses the input with the row's own schema. */
export interface HandledOperation extends Omit<Common<z.ZodType, z.ZodType>, 'status'> {
  readonly kind: 'tenant' | 'control';
  readonly transactional?: boolean;
  /** The success statuses it may answer. */
  readonly statuses: readonly number[];
  /** `address` is the tenant the caller was authorised for (tenant rows); the handler never sees another. */
  invoke(raw: unknown, call: Call, address: TenantAddress | null, what?: string): Promise<Result>;
}

export type OperationDef = HandledOperation | RawRow;

function statusOf<O extends z.ZodType>(status: Common<z.ZodType, O>['status'], output: Reply<z.input<O>>): number {
  if (status === undefined) return 200;
  return typeof status === 'number' ? status : status.pick(output);
}

function statusesOf(status: number | StatusRule<never> | undefined): readonly number[] {
  return status === undefined ? [200] : typeof status === 'number' ? [status] : status.codes;
}

export function tenantOperation<I extends z.ZodType, O extends z.ZodType>(row: TenantRow<I, O>): HandledOperation {
  return {
    ...row,
    kind: 'tenant',
    statuses: statusesOf(row.status),
    async invoke(raw, call, address, what) {
      if (address === null) throw new TypeError(`${row.name} is a tenant operation: it needs the caller's tenant`);
      if (call.transactionId !== undefined && !row.transactional) throw new ValidationError(`${row.name} does not take part in transactions: send it without a transaction id`, { transactionId: call.transactionId });
      call.services.usage.request(address, row.name);
      // Replies are not re-parsed at run time (an ask can hold 10,000 facts): their types are checked here, their shapes by the tests.
      const input = parseInput(row.input, raw, what);
      using _slot = row.heavy ? await call.services.slots.acquire(address, call.signal) : null;
      const output = await row.handler(input, address, call);
      return { status: statusOf(row.status, output), output };
    },
  };
}

export function controlOperation<I extends z.ZodType, O extends z.ZodType>(row: ControlRow<I, O>): HandledOperation {
  return {
    ...row,
    kind: 'control',
    statuses: statusesOf(row.status),
    async invoke(raw, call, _address, what) {
      const output = await row.handler(parseInput(row.input, raw, what), call);
      return { status: statusOf(row.status, output), output };
    },
  };
}

export function rawOperation(row: Omit<RawRow, 'kind'>): RawRow {
  return { ...row, kind: 'raw' };
}
