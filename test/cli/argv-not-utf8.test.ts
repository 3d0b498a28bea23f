/**
 * A command-line argument that is not UTF-8 (`$'data\xff'`, a Latin-1 file name). Node decodes
 * the process's arguments as UTF-8, each bad byte becoming U+FFFD, so snap was handed another name
 * than the one typed: `export -o $'out\xff.snap.tar'` wrote `out\uFFFD.snap.tar` (bytes EF BF BD),
 * and `verify $'data\xff'` named a folder that does not exist, as `data\uFFFD`. Now such an
 * argument is a usage error (exit 2) that shows it as given (`\xff`), in human form and in --json.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, makeTree, tempDir } from '../helpers/tree.js';
import { unsafeIn } from '../helpers/terminal.js';

/** Run the binary through sh, so that an argument can hold any byte (printf's octal escapes). */
function run(script: string, cwd: string): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('sh', ['-c', script, 'sh', process.execPath, BIN], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('an argument that is not UTF-8', () => {
  it('is a usage error naming it as given, not another name with U+FFFD in it: nothing is written under that other name', async () => {
    const cwd = await tempDir('snap-argv-');
    const r = run(`"$1" "$2" keygen k --out-dir "$(printf 'keys\\377')"`, cwd);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('keys\\xff');
    expect(r.stderr).toContain('[USAGE]');
    expect(unsafeIn(r.stderr, { replacement: true })).toBeUndefined();
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('gives the error document with --json, and shows which argument (a flag value or a positional)', async () => {
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const r = run(`"$1" "$2" verify "$(printf 'data\\377\\376')" --against ds@v1 --json`, data);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('USAGE');
    expect(doc.error.message).toContain('data\\xff\\xfe');
    expect(doc.error.details).toEqual({ argument: 2, argumentHex: '64617461fffe' });
  });

  it('leaves valid UTF-8 arguments as they are, U+FFFD itself included', async () => {
    const cwd = await tempDir('snap-argv-');
    const r = run(`"$1" "$2" keygen k --out-dir "$(printf 'keys\\357\\277\\275')"`, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual(['keys\ufffd']);
  });
});

describe('an environment variable naming a path that is not UTF-8', () => {
  it('SNAP_STORE: a usage error naming the variable, its bytes in details; the store of the other name (with U+FFFD) is never checked', async () => {
    const cwd = await tempDir('snap-env-');
    // A real store under the name Node would read instead: fsck must not check it.
    expect(run(`"$1" "$2" init --store "$(printf 'st\\357\\277\\275')"`, cwd).code).toBe(0);
    const r = run(`SNAP_STORE="$(printf 'st\\377')" "$1" "$2" fsck --json`, cwd);
    expect(r.code, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('USAGE');
    expect(doc.error.message).toContain('SNAP_STORE');
    expect(doc.error.message).toContain('st\\xff');
    expect(doc.error.details).toEqual({ variable: 'SNAP_STORE', valueHex: '7374ff' });
    const h = run(`SNAP_STORE="$(printf 'st\\377')" "$1" "$2" fsck`, cwd);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('SNAP_STORE');
    expect(h.stderr).toContain('[USAGE]');
    expect(unsafeIn(h.stderr, { replacement: true })).toBeUndefined();
  });

  it('SNAP_STORE is not read when --store names the store, and a value that is valid UTF-8 (U+FFFD itself included) is read as it is', async () => {
    const cwd = await tempDir('snap-env-');
    expect(run(`"$1" "$2" init --store st`, cwd).code).toBe(0);
    expect(run(`SNAP_STORE="$(printf 'st\\377')" "$1" "$2" fsck --store st`, cwd).code).toBe(0);
    expect(run(`"$1" "$2" init --store "$(printf 'st\\357\\277\\275')"`, cwd).code).toBe(0);
    expect(run(`SNAP_STORE="$(printf 'st\\357\\277\\275')" "$1" "$2" fsck`, cwd).code).toBe(0);
  });

  it.each([
    ['SNAP_STATE_DIR', ''],
    ['XDG_STATE_HOME', 'SNAP_STATE_DIR= '],
    ['HOME', 'SNAP_STATE_DIR= XDG_STATE_HOME= '],
    ['TMPDIR', ''],
  ])('%s, where it names the folder snap would use, is refused the same way', async (variable, unset) => {
    const cwd = await tempDir('snap-env-');
    expect(run(`"$1" "$2" init --store st`, cwd).code).toBe(0);
    const r = run(`${unset}${variable}="$(printf '/tmp/x\\377')" "$1" "$2" log --verify --store st --json`, cwd);
    expect(r.code, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('USAGE');
    expect(doc.error.details).toEqual({ variable, valueHex: '2f746d702f78ff' });
  });

  it('a state folder variable that another setting overrides is not read, nor refused', async () => {
    const cwd = await tempDir('snap-env-');
    expect(run(`"$1" "$2" init --store st`, cwd).code).toBe(0);
    const state = `${cwd}/state`;
    expect(run(`SNAP_STATE_DIR="$(printf 'x\\377')" "$1" "$2" log --verify --store st --state-dir "${state}"`, cwd).code).toBe(0);
    expect(run(`HOME="$(printf 'x\\377')" XDG_STATE_HOME="${state}" "$1" "$2" log --verify --store st`, cwd).code).toBe(0);
  });
});
