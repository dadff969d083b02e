import { factKeyId } from '../../domain/fact.js';
import type { SessionEntry, SessionRecord } from '../../store/session-records.js';
import type { WindowEntry } from './selection.js';
import { type ContextWindow, entryDigest } from './window.js';

/**
 * A full refresh is recommended when the change (added + removed) exceeds this share of both
 * windows together: past it, re-sending the window is about as cheap as patching it.
 */
export const FULL_REFRESH_RATIO = 0.5;

export const NO_PREVIOUS_SESSION = 'no previous session found';

export interface WindowDiff {
  readonly previousWindowId: string | null;
  readonly currentWindowId: string;
  /** New entries, and entries whose content (scope, confidence, createdAt, provenance) changed. */
  readonly added: readonly WindowEntry[];
  /** Entries of the previous window that the new one no longer has. */
  readonly removed: readonly SessionEntry[];
  readonly unchanged: number;
  readonly fullRefreshRecommended: boolean;
  readonly reason: string | null;
}

/** The new window relative to the one the session was last sent (null: none, or expired). */
export function diffWindows(previous: SessionRecord | null, current: ContextWindow): WindowDiff {
  const currentWindowId = current.windowId;
  if (previous === null) {
    return { previousWindowId: null, currentWindowId, added: current.entries, removed: [], unchanged: 0, fullRefreshRecommended: true, reason: NO_PREVIOUS_SESSION };
  }
  const before = new Map(previous.entries.map((e) => [factKeyId(e), e.digest]));
  const now = new Set(current.entries.map((e) => e.identity));
  const added = current.entries.filter((e) => before.get(e.identity) !== entryDigest(e));
  const removed = previous.entries.filter((e) => !now.has(factKeyId(e)));
  const unchanged = current.entries.length - added.length;
  const changed = added.length + removed.length;
  const total = previous.entries.length + current.entries.length;
  const refresh = changed > FULL_REFRESH_RATIO * total;
  const reason = refresh ? `${changed} entries changed of ${total} in the previous and current windows together (more than half)` : null;
  return { previousWindowId: previous.windowId, currentWindowId, added, removed, unchanged, fullRefreshRecommended: refresh, reason };
}
