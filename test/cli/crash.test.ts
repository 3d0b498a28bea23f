/**
 * A failure no command caught (an uncaught exception, an unhandled rejection — a library can leak
 * one) exits 3 with an internal error, and removes the locks and temporary files registered to be
 * removed, instead of Node's exit 1 (snap's code for a failed check) with them left behind.
 */
import { promises as fsp, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tree.js';

const dist = (p: string) => pathToFileURL(resolve(__dirname, '../../dist', p)).href;

/**
 * Run a script that installs the crash handlers, registers a file to remove, then fails by `how`;
 * with `json`, as `snap … --json` does (the handlers then owe stdout its one JSON document).
 */
async function crashWith(how: string, json = false): Promise<{ status: number | null; stdout: string; stderr: string; leftover: boolean }> {
  const dir = await tempDir('snap-crash-');
  const lock = join(dir, 'lock');
  await fsp.writeFile(lock, 'held');
  const script = [
    `import { rmSync } from 'node:fs';`,
    `import { handleCrashes } from ${JSON.stringify(dist('cli/crash.js'))};`,
    `import { leaveNothing } from ${JSON.stringify(dist('io/interrupt.js'))};`,
    `leaveNothing(() => rmSync(${JSON.stringify(lock)}, { force: true }));`,
    json ? `handleCrashes(process.stderr, 'snap', process.stdout);` : `handleCrashes(process.stderr, 'snap');`,
    how,
    `setTimeout(() => {}, 5000);`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, leftover: existsSync(lock) };
}

describe('a failure no command caught', () => {
  it('a promise rejected that nothing handles: internal error, exit 3, the registered lock removed', async () => {
    const r = await crashWith(`Promise.reject(new Error('leaked by a library'));`);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^snap: internal error: Error: leaked by a library\n/);
    expect(r.stderr).toMatch(/\[INTERNAL\]\n$/);
    expect(r.leftover).toBe(false);
  });

  it('an exception thrown outside every promise chain: the same, once, even if a second one follows', async () => {
    const r = await crashWith(`setTimeout(() => { throw new Error('thrown from a timer\\u001b[31m'); }, 10); setTimeout(() => { throw new Error('second'); }, 10);`);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^snap: internal error: Error: thrown from a timer\\x1b\[31m\n/);
    expect(r.stderr).not.toContain('second');
    expect(r.leftover).toBe(false);
  });

  it('with --json, stdout holds one error document (INTERNAL, its message escaped on stderr only), as for every other error', async () => {
    const r = await crashWith(`Promise.reject(new Error('leaked by a library\\u001b[31m'));`, true);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'unexpected error: leaked by a library\u001b[31m (please report this)' } });
    expect(r.stderr).toMatch(/^snap: internal error: Error: leaked by a library\\x1b\[31m\n/);
    expect(r.leftover).toBe(false);
  });

  it('with --json, after the command wrote its output, stdout gets no second document', async () => {
    const r = await crashWith(`process.stdout.write(JSON.stringify({ ok: true }) + '\\n'); setTimeout(() => { throw new Error('after the output'); }, 10);`, true);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true });
    expect(r.stderr).toMatch(/after the output/);
  });

  it('a command whose awaited promise never settles, so that the event loop runs dry: internal error, exit 3, not the 0 Node exits with', async () => {
    // What check against an archive did when a member left unread stopped the tar reader: exit 0, no output.
    const run = (settle: boolean, json = false) => {
      const script = [
        `import { handleCrashes } from ${JSON.stringify(dist('cli/crash.js'))};`,
        `const settled = handleCrashes(process.stderr, 'snap'${json ? ', process.stdout' : ''});`,
        settle ? `Promise.resolve().then(() => { settled(); process.stdout.write('done\\n'); });` : `new Promise(() => {}).then(() => settled());`,
      ].join('\n');
      return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    };
    const stalled = run(false);
    expect(stalled.status).toBe(3);
    expect(stalled.stderr).toMatch(/^snap: internal error: Error: the command stopped before it finished: .* \[INTERNAL\]\n$/s);
    const json = run(false, true);
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    const finished = run(true);
    expect([finished.status, finished.stdout, finished.stderr]).toEqual([0, 'done\n', '']);
  });
});
