// abstract-level ships its conformance suite (abstract-level/test) without typings.
declare module 'abstract-level/test' {
  import type tape from 'tape';

  interface SuiteOptions {
    readonly test: typeof tape;
    readonly factory: (options?: object) => object;
  }
  function suite(options: SuiteOptions): void;
  export default suite;
}
