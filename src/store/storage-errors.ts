import { statfs } from 'node:fs/promises';

/**
 * LevelDB reports a full disk as an IO error whose message carries strerror(ENOSPC) (classic-level
 * gives no errno); node's fs gives code ENOSPC. EDQUOT (quota exceeded) is the same for a writer.
 */
export function isStorageFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (/No space left on device|Disk quota exceeded/i.test(e.message)) return true;
  }
  return false;
}

/** LevelDB (EMFILE in its message) or node (code EMFILE/ENFILE) out of file descriptors. */
export function isOutOfDescriptors(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EMFILE' || code === 'ENFILE') return true;
    if (/Too many open files/i.test(e.message)) return true;
  }
  return false;
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}
