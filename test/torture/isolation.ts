// Torture part: isolation under concurrency, larger than the bounded test in npm test.
import { runIsolation } from '../security/isolation-concurrency.js';
import { startSecureServer } from '../security/support.js';

export interface PartResult {
  readonly name: string;
  readonly ok: boolean;
  readonly summary: Record<string, unknown>;
}

/** About three admin actions a second for `seconds`. */
export async function isolationPart(seconds = 60): Promise<PartResult> {
  const server = await startSecureServer();
  try {
    const report = await runIsolation(server.url, { databases: 3, tenants: 4, rounds: seconds * 3, chaosEveryMs: 300 });
    const summary = { ...report, leaks: report.leaks.length, firstLeaks: report.leaks.slice(0, 5) };
    return { name: 'isolation under concurrency', ok: report.leaks.length === 0, summary };
  } finally {
    await server.close();
  }
}
