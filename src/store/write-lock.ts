/**
 * Serialises the read-check-write cycles of one tenant (version bumps, contradiction checks,
 * merges) so two concurrent requests cannot both pass a check and then both write.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(work, work).finally(() => this.pending--);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Nothing holds or waits for the lock. */
  get idle(): boolean {
    return this.pending === 0;
  }
}
