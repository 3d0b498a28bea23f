/**
 * A reader that closes its end of the pipe early (`snap list --json | head -c 0`): the built CLI
 * takes EPIPE quietly — no 'error' event crash, no stack trace on stderr — and exits with the
 * command's own exit code (see src/cli/broken-pipe.ts), on stdout and on stderr.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapBin, spawnSnap, tempDir, useKeyPair, type BinResult } from '../helpers/tree.js';
import { newStorePath, sealTree, useStore } from '../helpers/store.js';

const keys = useKeyPair('pipe');
const shared = useStore();

/** Run the built CLI with its stdout (and optionally stderr) pipe closed by the reader before it writes. */
function runClosed(args: string[], close: { stdout?: boolean; stderr?: boolean } = { stdout: true }): Promise<BinResult> {
  const { child, done } = spawnSnap(args);
  if (close.stdout) child.stdout?.destroy();
  if (close.stderr) child.stderr?.destroy();
  return done;
}

/** No trace of a crash: Node's unhandled 'error' report, a stack frame, or snap's internal-error line. */
function expectNoCrash(r: BinResult): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(/EPIPE|Unhandled 'error'|^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error|node:events/);
}

describe('a closed stdout or stderr', () => {
  it('list --json and --help exit 0 without a stack trace when stdout is closed', async () => {
    await sealTree({ 'a.txt': 'a\n' }, keys, { store: shared.path });
    for (const args of [['list', '--json', '--store', shared.path], ['list', '--store', shared.path], ['--help']]) {
      const r = await runClosed(args);
      expectNoCrash(r);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });

  it('verify --json keeps its verdict: 0 when the data matches, 1 when it does not', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, keys, { store: shared.path });
    const ok = await runClosed(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json']);
    expectNoCrash(ok);
    expect(ok.code).toBe(0);
    await fsp.writeFile(join(s.data, 'a.txt'), 'changed\n');
    const bad = await runClosed(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json']);
    expectNoCrash(bad);
    expect(bad.code).toBe(1);
  });

  it('an error reported on a closed stdout and stderr keeps its exit code', async () => {
    const missing = ['show', 'nope@v1', '--store', shared.path];
    const onStderr = await runClosed(missing, { stderr: true });
    expect(onStderr.signal).toBeNull();
    expect(onStderr.code).toBe(3);
    const both = await runClosed([...missing, '--json'], { stdout: true, stderr: true });
    expect(both.signal).toBeNull();
    expect(both.code).toBe(3);
    const usage = await runClosed(['no-such-command'], { stdout: true, stderr: true });
    expect(usage.code).toBe(2);
    const json = await runClosed([...missing, '--json']);
    expectNoCrash(json);
    expect(json.code).toBe(3);
  });
});

describe('a stdout or stderr that cannot be written (a full disk: > /dev/full)', () => {
  it('stdout on a full disk: one line on stderr saying so, no stack trace, exit 3 instead of 0', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys, { store: shared.path });
    for (const args of [['list', '--store', s.store], ['list', '--json', '--store', s.store], ['--help'], ['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json']]) {
      const r = await snapBin(args, { stdoutFile: '/dev/full' });
      expectNoCrash(r);
      expect(r.stderr, args.join(' ')).not.toMatch(/INTERNAL|please report/);
      expect(r.stderr, args.join(' ')).toMatch(/^snap: could not write the output to standard output: no space left on the device \(ENOSPC\)/m);
      expect(r.code, args.join(' ')).toBe(3);
    }
  });

  it('stdout on a full disk keeps the exit code of a failed check (1) or an error (2, 3)', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'a.txt'), 'changed\n');
    const cases: [string[], number][] = [
      [['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json'], 1],
      [['show', 'nope@v1', '--store', s.store, '--json'], 3],
      [['no-such-command', '--json'], 2],
    ];
    for (const [args, code] of cases) {
      const r = await snapBin(args, { stdoutFile: '/dev/full' });
      expectNoCrash(r);
      expect(r.stderr, args.join(' ')).not.toMatch(/INTERNAL|please report/);
      expect(r.code, args.join(' ')).toBe(code);
    }
  });

  it('stderr on a full disk changes nothing: verify keeps 0 or 1, and its --json on stdout', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys, { store: shared.path });
    const ok = await snapBin(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json'], { stderrFile: '/dev/full' });
    expect(ok.signal).toBeNull();
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).ok).toBe(true);
    await fsp.writeFile(join(s.data, 'a.txt'), 'changed\n');
    const bad = await snapBin(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json'], { stderrFile: '/dev/full' });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).ok).toBe(false);
  });

  it('a seal whose notes go to a full stderr seals, and says so on stdout', async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const store = join(await tempDir('snap-full-stderr-'), 'store'); // a new store: seal writes a note on stderr first
    const r = await snapBin(['seal', data, '--as', 'full@v1', '--key', keys.key, '--store', store, '--json'], { stderrFile: '/dev/full' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, storeCreated: true });
  });

  it('log --json of a log longer than one write (64 KiB of output) on a full disk: the message and exit 3, not exit 0 waiting for a drain that never comes', async () => {
    const s = await sealTree({ 'a.txt': 'a\n' }, keys, { store: await newStorePath() });
    // 2,000 lines the log cannot parse (listed as malformed rows): about 400 KiB of --json output.
    const log = join(s.store, 'log.jsonl');
    await fsp.chmod(log, 0o644);
    await fsp.appendFile(log, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ junk: i, pad: 'x'.repeat(80) }) + '\n').join(''));
    for (const args of [['log', '--json', '--store', s.store], ['log', '--store', s.store]]) {
      const r = await snapBin(args, { stdoutFile: '/dev/full' });
      expectNoCrash(r);
      expect(r.stderr, args.join(' ')).toMatch(/^snap: could not write the output to standard output: no space left on the device \(ENOSPC\)/m);
      expect(r.code, args.join(' ')).toBe(3);
    }
  });
});
