import type { AbstractBatchOptions, AbstractDelOptions, AbstractLevel, AbstractPutOptions, AbstractSnapshot, AbstractSublevel } from 'abstract-level';

/**
 * The store speaks abstract-level only (classic-level on disk, memory-level in unit tests), so a
 * second backend is another abstract-level class. Keys and values are strings built by encoding/.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LevelDb = AbstractLevel<any, string, string>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LevelSublevel = AbstractSublevel<any, any, string, string>;

export type BatchOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly sublevel: LevelSublevel }
  | { readonly type: 'del'; readonly key: string; readonly sublevel: LevelSublevel };

/**
 * Write options asking for an fsync before the write is acknowledged. `sync` is a classic-level
 * (LevelDB) option that abstract-level's types do not name; backends without it ignore it.
 */
export const SYNC: AbstractPutOptions<string, string> & AbstractDelOptions<string> & AbstractBatchOptions<string, string> & { readonly sync: true } = {
  sync: true,
};

export interface KeyRange {
  readonly gte?: string;
  readonly gt?: string;
  readonly lt: string;
}

/**
 * Every read of a keyspace (a tenant's sublevel, a database's META) goes through one of these:
 * either the current state, or one explicit snapshot (abstract-level 3; classic-level and
 * memory-level support them) so that a request reading many times sees one state.
 */
export class KeyspaceReader {
  constructor(
    private readonly level: LevelSublevel,
    private readonly snapshot: AbstractSnapshot | null = null,
  ) {}

  /** `highWaterMarkBytes`: classic-level's byte budget of one round trip (others ignore it). */
  iterator(range: KeyRange & { readonly reverse?: boolean; readonly limit?: number; readonly highWaterMarkBytes?: number }) {
    return this.level.iterator(this.snapshot ? { ...range, snapshot: this.snapshot } : { ...range });
  }

  keys(range: KeyRange & { readonly reverse?: boolean; readonly limit?: number }) {
    return this.level.keys(this.snapshot ? { ...range, snapshot: this.snapshot } : { ...range });
  }

  get(key: string): Promise<string | undefined> {
    return this.snapshot ? this.level.get(key, { snapshot: this.snapshot }) : this.level.get(key);
  }

  getMany(keys: string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.snapshot ? this.level.getMany(keys, { snapshot: this.snapshot }) : this.level.getMany(keys);
  }
}

/** Read a key range in chunks (classic-level answers the call after the end without a round trip); the iterator is closed whatever happens (the peer quadstore leaks one per query). */
export async function* scanRange(level: KeyspaceReader, range: KeyRange, chunk = 256, read?: (entries: number) => void): AsyncGenerator<[string, string]> {
  const iterator = level.iterator(range);
  try {
    for (;;) {
      const entries = await iterator.nextv(chunk);
      if (entries.length === 0) return;
      read?.(entries.length);
      for (const entry of entries) yield entry as [string, string];
      chunk = Math.min(chunk * 2, 4096);
    }
  } finally {
    await iterator.close();
  }
}

/** Count keys in a range, stopping at `cap`: a cheap estimate for planners. */
export async function countRange(level: KeyspaceReader, range: KeyRange, cap: number): Promise<number> {
  const keys = await level.keys({ ...range, limit: cap }).all();
  return keys.length;
}
