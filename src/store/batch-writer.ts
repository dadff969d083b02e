import { StorageFullError } from '../domain/errors.js';
import { SYNC_MARKER_KEY } from '../encoding/control-keys.js';
import { type BatchOp, type LevelDb, type LevelSublevel, SYNC } from './level-types.js';
import { isStorageFull } from './storage-errors.js';

export interface Durability {
  /** fsync every batch before acknowledging it. */
  readonly syncEveryWrite: boolean;
  /** Otherwise: batches reach the write-ahead log at once (safe from a process crash) and are fsynced within this interval. */
  readonly groupCommitMs: number;
}

interface QueuedWrite {
  readonly ops: BatchOp[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The ops of a group, in order. A loop, not flatMap: that defines each element through V8's runtime (a microsecond a tell). */
function concatOps(group: readonly QueuedWrite[]): BatchOp[] {
  const combined: BatchOp[] = [];
  for (const queued of group) for (const op of queued.ops) combined.push(op);
  return combined;
}

/**
 * The writes of one database's LevelDB: atomic batches, grouped while one is being written, the
 * group-commit fsync, and the full-disk state (after a write failed on a full disk, nothing is
 * tried again until the database is reopened: LevelDB may hold a sticky error or a torn log tail).
 */
export class BatchWriter {
  private readonly queue: QueuedWrite[] = [];
  private writing = false;
  private failed = false;
  /** Batches were written since the last fsync. */
  private dirty = false;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly database: string,
    private readonly db: LevelDb,
    private readonly meta: LevelSublevel,
    private readonly durability: Durability,
  ) {}

  /**
   * One atomic batch. Acknowledged means in the write-ahead log; fsync per VESPER_SYNC. Batches
   * that arrive while another is being written go together in the next one (each still atomic:
   * the combined batch is): a batch handed to LevelDB costs a round trip through libuv's thread
   * pool, two wake-ups on this VM, which was a large part of a single tell. The first batch is not
   * delayed; the others would have queued behind it in LevelDB anyway.
   */
  write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    if (this.failed) return Promise.reject(new StorageFullError(this.database));
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0);
        const combined = group.length === 1 ? (group[0] as QueuedWrite).ops : concatOps(group);
        const error = await this.writeNow(combined);
        if (error === null) for (const queued of group) queued.resolve();
        else if (group.length === 1 || this.failed) for (const queued of group) queued.reject(error);
        // A failed batch wrote nothing: each one is tried alone, so that each gets its own outcome.
        else for (const queued of group) await this.writeNow(queued.ops).then((own) => (own === null ? queued.resolve() : queued.reject(own)));
      }
    } finally {
      this.writing = false;
    }
  }

  /** The error of the write (null: written). */
  private async writeNow(ops: BatchOp[]): Promise<unknown> {
    if (this.failed) return new StorageFullError(this.database);
    try {
      // Options only when needed: abstract-level copies them into every op, a third of bulk-tell CPU.
      if (this.durability.syncEveryWrite) await this.db.batch(ops, SYNC);
      else await this.db.batch(ops);
    } catch (error) {
      return this.storageError(error) ?? new Error('write failed');
    }
    if (!this.durability.syncEveryWrite) this.dirty = true;
    return null;
  }

  /** A full disk becomes STORAGE_FULL, and no write is tried again until the database is reopened. */
  storageError(error: unknown): unknown {
    if (!isStorageFull(error)) return error;
    this.failed = true;
    return new StorageFullError(this.database, { cause: error });
  }

  /** True after a write failed on a full disk, until `reopened`. */
  get needsReopen(): boolean {
    return this.failed;
  }

  /** The database was closed and opened again: LevelDB's sticky error is gone. */
  reopened(): void {
    this.failed = false;
  }

  /** Group commit: one fsync covers every batch written since the last one. */
  async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.syncing || this.db.status !== 'open') return;
    this.dirty = false;
    this.syncing = this.meta
      .put(SYNC_MARKER_KEY, String(Date.now()), SYNC)
      .catch((error: unknown) => {
        this.dirty = true; // the next tick tries again; the runner logs this one
        throw this.storageError(error);
      })
      .finally(() => {
        this.syncing = null;
      });
    await this.syncing;
  }

  /** Before the LevelDB closes: the fsync under way, then one for what was written since (a full disk cannot take it: nothing is lost that was not already). */
  async flushBeforeClose(): Promise<void> {
    await this.syncing?.catch(() => undefined);
    if (this.dirty && this.db.status === 'open') {
      await this.meta.put(SYNC_MARKER_KEY, String(Date.now()), SYNC).catch((error: unknown) => {
        if (!isStorageFull(error)) throw error;
      });
    }
    this.dirty = false;
  }
}
