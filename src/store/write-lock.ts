/**
 * Serialises the read-check-write cycles of one tenant (version bumps, contradiction checks,
 * merges) so two concurrent requests cannot both pass a check and then both write.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
