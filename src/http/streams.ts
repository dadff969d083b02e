/**
 * Long-lived responses (the change stream, MCP sessions) never end by themselves, so a graceful
 * shutdown would wait for its timeout on them. Each registers how to close itself; shutdown calls
 * them all once ordinary requests have been given the chance to finish.
 */
export class OpenStreams {
  private readonly closers = new Set<() => unknown>();

  /** Register a closer; the returned function unregisters it (when the stream ended by itself). */
  add(close: () => unknown): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  async closeAll(): Promise<void> {
    const closers = [...this.closers];
    this.closers.clear();
    await Promise.allSettled(closers.map(async (close) => close()));
  }
}
