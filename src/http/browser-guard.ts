import { isIP } from 'node:net';
import type { Context } from 'koa';
import type { RequestCheck } from './request-checks.js';
import { ForbiddenError } from '../domain/errors.js';

export interface BrowserGuardOptions {
  /** Host names (optionally `name:port`) the server answers to besides loopback names and IP literals; '*' = any. */
  readonly allowedHosts: readonly string[] | '*';
  /** Origins (`scheme://host[:port]`) whose browser pages may call the server; '*' = any. */
  readonly corsOrigins: readonly string[] | '*';
  /** VESPER_BASE_HOST: it and every `{tenant}.<it>` are allowed hosts. */
  readonly baseHost?: string | null;
}

/** Loopback names; IP literals are always accepted (a DNS-rebinding page cannot make its Host an IP literal). */
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-API-Key, X-Tenant-ID, X-Database, X-Request-ID, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID';
const EXPOSED_HEADERS = 'X-Request-ID, Mcp-Session-Id, Retry-After, WWW-Authenticate, RateLimit, RateLimit-Policy';
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';

/** `Host` without its port, lower-cased; IPv6 literals keep their brackets off. */
function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(1, lower.indexOf(']') > 0 ? lower.indexOf(']') : undefined);
  const colon = lower.lastIndexOf(':');
  return colon >= 0 ? lower.slice(0, colon) : lower;
}

/** The tenant a `{tenant}.<baseHost>` Host names (undefined: it names none). */
export function tenantOfHost(host: string, baseHost: string | null | undefined): string | undefined {
  if (!baseHost || host === '') return undefined;
  const name = hostName(host).replace(/\.$/, '');
  return name.endsWith(`.${baseHost}`) ? name.slice(0, -baseHost.length - 1) : undefined;
}

export function hostAllowed(host: string, allowed: BrowserGuardOptions['allowedHosts'], baseHost?: string | null): boolean {
  if (allowed === '*') return true;
  const name = hostName(host);
  if (LOOPBACK_NAMES.has(name) || isIP(name) !== 0) return true;
  if (baseHost && (name.replace(/\.$/, '') === baseHost || tenantOfHost(host, baseHost) !== undefined)) return true;
  const lower = host.trim().toLowerCase();
  return allowed.some((entry) => entry === name || entry === lower);
}

function originAllowed(ctx: Context, origin: string, allowed: BrowserGuardOptions['corsOrigins']): boolean {
  if (allowed === '*') return true;
  const normalised = origin.trim().toLowerCase().replace(/\/+$/, '');
  // A page served from this very host and port is same-origin (the Host header was checked first).
  if (normalised === `${ctx.protocol}://${ctx.host}`.toLowerCase()) return true;
  return allowed.includes(normalised);
}

/**
 * Requests a browser was made to send: refused before anything else runs. The Host header must
 * name this server (DNS rebinding points a foreign name at 127.0.0.1), and a request carrying an
 * `Origin` (browsers send one on every cross-origin POST, even a CORS "simple request" that needs
 * no preflight) must come from an allowed origin. curl and SDKs send no Origin and are unaffected.
 * Allowed origins get the CORS headers and their preflights answered.
 */
export function browserGuard(options: BrowserGuardOptions): RequestCheck {
  // Host values already found allowed (a pure function of the value and the options): clients send the same few.
  const allowedSeen = new Set<string>();
  const allowed = (host: string): boolean => {
    if (allowedSeen.has(host)) return true;
    if (!hostAllowed(host, options.allowedHosts, options.baseHost)) return false;
    if (allowedSeen.size >= 1024) allowedSeen.clear();
    allowedSeen.add(host);
    return true;
  };
  return (ctx) => {
    const host = ctx.get('host');
    // Refused here, these are not credential guesses: they do not spend the client address's
    // refusal allowance (else any web page could get the local user's own address throttled).
    if (host !== '' && !allowed(host)) {
      ctx.state.browserRefused = true;
      throw new ForbiddenError('this server does not answer to that Host name: add it to VESPER_ALLOWED_HOSTS', { host: host.slice(0, 100) });
    }
    const origin = ctx.get('origin');
    if (origin === '') return undefined;
    if (!originAllowed(ctx, origin, options.corsOrigins)) {
      ctx.state.browserRefused = true;
      throw new ForbiddenError('requests from this origin are not allowed: add it to VESPER_CORS_ORIGINS', { origin: origin.slice(0, 100) });
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    ctx.vary('Origin');
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '') {
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return 'answered';
    }
    return undefined;
  };
}

