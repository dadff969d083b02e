import type { AbstractLevel, AbstractSublevel } from 'abstract-level';

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

/** Read a key range in chunks (classic-level answers the call after the end without a round trip); the iterator is closed whatever happens (the peer quadstore leaks one per query). */
export async function* scanRange(
  level: LevelSublevel,
  range: { gte: string; lt: string },
  chunk = 256,
): AsyncGenerator<[string, string]> {
  const iterator = level.iterator({ gte: range.gte, lt: range.lt });
  try {
    for (;;) {
      const entries = await iterator.nextv(chunk);
      if (entries.length === 0) return;
      for (const entry of entries) yield entry as [string, string];
      chunk = Math.min(chunk * 2, 4096);
    }
  } finally {
    await iterator.close();
  }
}

/** Count keys in a range, stopping at `cap`: a cheap estimate for planners. */
export async function countRange(level: LevelSublevel, range: { gte: string; lt: string }, cap: number): Promise<number> {
  const keys = await level.keys({ gte: range.gte, lt: range.lt, limit: cap }).all();
  return keys.length;
}
