/**
 * Golden errors: each golden/*.vr is an invalid program; its .json holds the exact error a client
 * gets (code, problem, message). A changed message is a changed contract: update both on purpose.
 */
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import { VesperError } from '../../src/domain/errors.js';
import { compileProgram, parseRules } from '../../src/engine/index.js';

const dir = new URL('./golden/', import.meta.url);
const programs = readdirSync(dir).filter((file) => file.endsWith('.vr')).sort();

test('golden › every invalid program has its expected error file', (t) => {
  t.true(programs.length >= 10);
  for (const file of programs) t.notThrows(() => readFileSync(new URL(file.replace(/\.vr$/, '.json'), dir)), file);
});

for (const file of programs) {
  test(`compileProgram › ${file} › fails with the golden error`, (t) => {
    const expected: unknown = JSON.parse(readFileSync(new URL(file.replace(/\.vr$/, '.json'), dir), 'utf8'));
    const error = t.throws(() => compileProgram(parseRules(readFileSync(new URL(file, dir), 'utf8'))), { instanceOf: VesperError });
    t.deepEqual({ code: error.code, problem: error.details?.['problem'] ?? null, message: error.message }, expected);
  });
}
