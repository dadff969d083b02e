import { readFileSync } from 'node:fs';

/** Used when the limit cannot be read (not Linux, /proc not mounted): the most common soft limit. */
export const FALLBACK_FILE_LIMIT = 1024;

/**
 * The process's soft RLIMIT_NOFILE, read once at start. Node has no getrlimit without a native
 * addon; on Linux /proc/self/limits carries it ("Max open files  1024  1048576  files").
 */
export function readOpenFileLimit(path = '/proc/self/limits'): { limit: number; source: 'proc' | 'fallback' } {
  try {
    const line = readFileSync(path, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return { limit: Number.MAX_SAFE_INTEGER, source: 'proc' };
    const limit = Number(soft);
    if (Number.isInteger(limit) && limit > 0) return { limit, source: 'proc' };
  } catch {
    // not Linux, or /proc unavailable: the fallback below
  }
  return { limit: FALLBACK_FILE_LIMIT, source: 'fallback' };
}

/**
 * Descriptors an open LevelDB holds whatever its size: LOCK, LOG, MANIFEST and the write-ahead
 * log, plus one more while a memtable flush or compaction writes a new table.
 */
export const FDS_PER_DATABASE = 5;
/** Left to everything else: sockets of clients, the system database, stdio, node's own. */
const RESERVED_FDS = 128;
/** LevelDB's own limiter keeps at most a fifth of the process limit for table files it cannot mmap. */
const LEVELDB_TABLE_SHARE = 0.2;
/** LevelDB raises any smaller max_open_files to this (64 table-cache entries + 10 of its own). */
export const LEVELDB_MIN_OPEN_FILES = 74;
/** With no setting, never keep more open than this: each open database may hold ~12 MB of caches and buffers. */
const AUTO_MAX_DATABASES = 200;

export interface FileBudget {
  /** The process's file limit the budget was made from. */
  readonly fileLimit: number;
  /** How many databases may be open at once (the rest are closed, least recently used first). */
  readonly maxOpenDatabases: number;
  /** LevelDB's `max_open_files` (table-cache size) for each database. */
  readonly maxOpenFiles: number;
}

/**
 * Split the file limit between open databases. `requested` (VESPER_MAX_OPEN_DATABASES, 0 = auto)
 * is honoured but capped at what the limit can carry, so a bad setting gives 503s, not EMFILE.
 */
export function fileBudget(fileLimit: number, requested: number): FileBudget {
  const tableShare = Math.floor(fileLimit * LEVELDB_TABLE_SHARE);
  const usable = Math.max(0, fileLimit - RESERVED_FDS - tableShare);
  const carried = Math.max(1, Math.floor(usable / FDS_PER_DATABASE));
  const maxOpenDatabases = requested > 0 ? Math.min(requested, carried) : Math.min(carried, AUTO_MAX_DATABASES);
  const perDatabase = Math.floor(tableShare / maxOpenDatabases) + 10;
  const maxOpenFiles = Math.min(1000, Math.max(LEVELDB_MIN_OPEN_FILES, perDatabase));
  return { fileLimit, maxOpenDatabases, maxOpenFiles };
}
