/** Exit codes of the CLI: what a script can branch on. */
export const EXIT = { ok: 0, server: 1, usage: 2, connect: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure that ends the CLI with its exit code; the message goes to stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(EXIT.usage, message);
