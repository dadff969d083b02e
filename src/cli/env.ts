/**
 * The CLI is a separate program from the server: this file is its only reader of process.env
 * (src/config.ts stays the server's only one). Flags override these.
 */
export interface CliEnvironment {
  readonly url: string | undefined;
  readonly database: string | undefined;
  readonly tenant: string | undefined;
  readonly key: string | undefined;
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return {
    url: nonEmpty(env.VESPER_URL),
    database: nonEmpty(env.VESPER_DATABASE),
    tenant: nonEmpty(env.VESPER_TENANT),
    key: nonEmpty(env.VESPER_KEY),
  };
}
