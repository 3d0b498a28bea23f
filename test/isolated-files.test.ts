/**
 * The files of the suite that would change what a later file sharing their process sees are the
 * ones that run alone (test/setup/isolated-files.ts, vitest.config.ts): a file that replaces a
 * module of snap with vi.mock, or that interrupts the process, is listed; every listed file exists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/tree.js';
import { ISOLATED_FILES } from './setup/isolated-files.js';

/** Every `*.test.ts` under `dir`, relative to the repository, `/`-separated. */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts')) out.push(relative(REPO, p).split('\\').join('/'));
  }
  return out;
}

/** Why `text` (a test file) must run alone, or undefined. */
function mustRunAlone(text: string): string | undefined {
  if (/\bvi\.(do)?[mM]ock\(/.test(text)) return 'it replaces a module with vi.mock';
  if (/import\s*\{[^}]*\binterrupt\b[^}]*\}\s*from\s*'[^']*\/io\/interrupt\.js'/.test(text)) return 'it interrupts the process (io/interrupt.ts)';
  return undefined;
}

describe('the files that run alone', () => {
  const files = testFiles(join(REPO, 'test'));
  const SELF = 'test/isolated-files.test.ts'; // its own examples below mention both

  it('include every file that mocks a module of snap or interrupts the process', () => {
    const missing = files.filter((f) => f !== SELF && mustRunAlone(readFileSync(join(REPO, f), 'utf8')) !== undefined && !ISOLATED_FILES.includes(f));
    expect(missing.map((f) => `${f}: ${mustRunAlone(readFileSync(join(REPO, f), 'utf8'))}`)).toEqual([]);
  });

  it('are all test files of the suite', () => {
    expect(ISOLATED_FILES.filter((f) => !files.includes(f))).toEqual([]);
  });

  it('are told apart by the check: a mock and an interrupt are found, a file doing neither is not', () => {
    expect(mustRunAlone("vi.mock('../../src/io/store.js', async () => ({}));")).toBeDefined();
    expect(mustRunAlone("import { checkInterrupted, interrupt } from '../../src/io/interrupt.js';")).toBeDefined();
    expect(mustRunAlone("import { leftoverCount, removeLeftovers } from '../../src/io/interrupt.js';")).toBeUndefined();
    expect(mustRunAlone(readFileSync(join(REPO, 'test', 'keyfile.test.ts'), 'utf8'))).toBeUndefined();
  });
});
