/** Where a background task ran, for its log line. */
export interface TaskPlace {
  readonly database?: string;
  readonly tenant?: string;
}

export interface TaskFailure extends TaskPlace {
  readonly task: string;
  readonly error: unknown;
}

/**
 * Every piece of background work (flattening, collecting retired layers, pruning events, the
 * group-commit fsync, sweeping sessions) is started here: a failure is reported with its task and
 * tenant (never swallowed), counted per task, and shutdown awaits whatever is still running.
 */
export class BackgroundRunner {
  private readonly running = new Set<Promise<void>>();
  private readonly counts = new Map<string, { started: number; failed: number }>();
  private stopped = false;

  constructor(private readonly onFailure: (failure: TaskFailure) => void = () => undefined) {}

  /** Start a task now; false when the runner was stopped (shutdown). */
  run(task: string, place: TaskPlace, work: () => Promise<unknown>): boolean {
    if (this.stopped) return false;
    const count = this.countOf(task);
    count.started++;
    const done: Promise<void> = Promise.resolve()
      .then(work)
      .then(
        () => undefined,
        (error: unknown) => {
          count.failed++;
          this.report({ ...place, task, error });
        },
      )
      .finally(() => this.running.delete(done));
    this.running.add(done);
    return true;
  }

  private report(failure: TaskFailure): void {
    try {
      this.onFailure(failure);
    } catch {
      // a failing reporter must not turn a logged failure into an unhandled rejection
    }
  }

  private countOf(task: string): { started: number; failed: number } {
    let count = this.counts.get(task);
    if (!count) this.counts.set(task, (count = { started: 0, failed: 0 }));
    return count;
  }

  /** Tasks started and failed so far, per task (for /metrics). */
  stats(): Map<string, { readonly started: number; readonly failed: number }> {
    return new Map([...this.counts].map(([task, c]) => [task, { ...c }]));
  }

  /** Tasks running now. */
  get active(): number {
    return this.running.size;
  }

  /** Resolves when nothing is running (tasks started meanwhile included). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Shutdown: refuse new tasks and wait for the running ones. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }
}
