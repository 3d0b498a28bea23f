/**
 * What the test helpers keep per test file and per test, with the hooks that renew and remove it.
 * The hooks are registered by test/setup/per-file.ts (vitest.config.ts `setupFiles`), which vitest
 * runs again before every test file — also where several files share one process and this module
 * (vitest.config.ts, the project with `isolate: false`): hooks registered when this module is
 * first imported would belong to the first file alone.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** Remove a folder even when a test left parts of it read-only or unreadable. */
export async function removeTree(path: string): Promise<void> {
  try {
    await fsp.rm(path, { recursive: true, force: true });
  } catch {
    await makeAccessible(path);
    await fsp.rm(path, { recursive: true, force: true });
  }
}

async function makeAccessible(path: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  await fsp.chmod(path, 0o755).catch(() => {});
  const names = await fsp.readdir(path).catch(() => [] as string[]);
  await Promise.all(names.map((n) => makeAccessible(join(path, n))));
}

/** Folders made outside a test (in a `beforeAll`): removed when the file is done. */
const fileLevel: string[] = [];

/** Remove `dir` once the current test file is done. */
export function removeAfterFile(dir: string): void {
  fileLevel.push(dir);
}

/**
 * The trusted state folder of runs that do not name their own (SNAP_STATE_DIR): one per test (and
 * one for each file's `beforeAll` runs), so that tests never read or write the state of the user
 * running them, nor one another's — the state keeps revocations by snapshot id, and two tests that
 * seal the same files under the same name in the same second make the same snapshot.
 */
const TEST_STATE_ROOT = join(tmpdir(), `snap-test-state-${process.pid}-${Math.random().toString(36).slice(2)}`);
let stateDir = join(TEST_STATE_ROOT, '0');
let states = 0;

/** The state folder of the current test (or of the current file, outside a test). */
export function testStateDir(): string {
  return stateDir;
}

/**
 * Point `SNAP_STATE_DIR` of this process at `dir`: a run that takes `process.env` as it is (in
 * process, or a child given `{ ...process.env }`) and names no state folder of its own uses the
 * test's, never the state of the user running the tests (test/cli/escape.test.ts once wrote there).
 * A test that means the default folder removes the variable from the environment it passes.
 */
function useStateDir(dir: string): void {
  stateDir = dir;
  process.env.SNAP_STATE_DIR = dir;
}

/** Register this file's hooks: a new state folder per file and per test; the file's folders removed after it. */
export function registerPerFileHooks(): void {
  const before = process.env.SNAP_STATE_DIR;
  beforeAll(() => {
    useStateDir(join(TEST_STATE_ROOT, String(++states)));
  });
  beforeEach(() => {
    useStateDir(join(TEST_STATE_ROOT, String(++states)));
  });
  afterAll(async () => {
    if (before === undefined) delete process.env.SNAP_STATE_DIR;
    else process.env.SNAP_STATE_DIR = before;
    await Promise.all(fileLevel.splice(0).map(removeTree));
    await removeTree(TEST_STATE_ROOT);
  });
}
