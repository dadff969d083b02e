import { upperBound } from './fact-keys.js';
import { SEP, escapeText, unescapeText } from './term-codec.js';

/**
 * Keys of the context feature inside a tenant sublevel (kind letter 'Q', see control-keys.ts for
 * the letters in use):
 *
 *   Q SEP s SEP sessionId        → the window last sent to a session (JSON, store/session-records.ts)
 *   Q SEP a SEP factIdentity     → how many windows of the tenant included that fact (decimal)
 *
 * Living in the tenant sublevel, both disappear with the tenant (one clear over its prefix).
 */
export const CONTEXT_KIND = 'Q';
const SESSION = 's';
const ACCESS = 'a';

const sessionPrefix = CONTEXT_KIND + SEP + SESSION + SEP;
const accessPrefix = CONTEXT_KIND + SEP + ACCESS + SEP;

/** Session ids are validated to [A-Za-z0-9_.:-] before they get here, so they need no escaping. */
export function sessionKey(sessionId: string): string {
  return sessionPrefix + sessionId;
}

export function sessionRange(): { gte: string; lt: string } {
  return { gte: sessionPrefix, lt: upperBound(sessionPrefix) };
}

export function sessionIdOfKey(key: string): string {
  return key.slice(sessionPrefix.length);
}

/** `identity` is a fact's canonical text (domain/fact.ts factKeyId), without its scope. */
export function accessKey(identity: string): string {
  return accessPrefix + escapeText(identity);
}

export function accessRange(): { gte: string; lt: string } {
  return { gte: accessPrefix, lt: upperBound(accessPrefix) };
}

export function identityOfAccessKey(key: string): string {
  return unescapeText(key.slice(accessPrefix.length));
}

/** True for the key of an access count (written by every window; see service/context/window-cache.ts). */
export function isAccessKey(key: string): boolean {
  return key.startsWith(accessPrefix);
}

/** True for any key of the context feature (sessions and access counts). */
export function isContextKey(key: string): boolean {
  return key.startsWith(CONTEXT_KIND + SEP);
}
