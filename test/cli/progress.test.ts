/** withProgress: a bar only on a terminal without --quiet or --json, always cleared, even on errors. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withProgress } from '../../src/cli/progress.js';
import type { CliIo } from '../../src/cli/common.js';

class Term extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
  cursorTo(): boolean {
    return true;
  }
  clearLine(): boolean {
    return true;
  }
  moveCursor(): boolean {
    return true;
  }
}

const ioWith = (stderr: Term): CliIo => ({ stdout: new Term(false), stderr, env: {}, cwd: '/' }) as unknown as CliIo;

describe('withProgress', () => {
  it('draws a bar on a terminal and hands the work a callback', async () => {
    const err = new Term(true);
    const r = await withProgress({}, ioWith(err), 'checking', async (onProgress) => {
      expect(onProgress).toBeTypeOf('function');
      onProgress?.({ files: 3, bytes: 1234, totalFiles: 3, totalBytes: 1234 });
      return 42;
    });
    expect(r).toBe(42);
    expect(err.text).toContain('checking');
  });

  it.each([
    ['not a terminal', false, {}],
    ['--quiet', true, { quiet: true }],
    ['--json', true, { json: true }],
  ])('shows nothing and passes no callback when %s', async (_why, tty, args) => {
    const err = new Term(tty);
    await withProgress(args, ioWith(err), 'checking', async (onProgress) => {
      expect(onProgress).toBeUndefined();
    });
    expect(err.text).toBe('');
  });

  it('starts a bar of its own, with its name and files done of the total, when the work reports a later phase', async () => {
    const err = new Term(true);
    await withProgress({}, ioWith(err), 'sealing', async (onProgress) => {
      onProgress?.({ files: 5, bytes: 5000 });
      onProgress?.({ phase: 'indexing records', files: 1, bytes: 2048, totalFiles: 3, totalBytes: 4096 });
    });
    const sealing = err.text.indexOf('sealing');
    const indexing = err.text.indexOf('indexing records');
    expect(sealing).toBeGreaterThanOrEqual(0);
    expect(indexing).toBeGreaterThan(sealing);
    expect(err.text.slice(indexing)).toContain('1/3 files');
    expect(err.text.slice(indexing)).toContain('50%');
  });

  it("passes the work's error on, after stopping the bar", async () => {
    const err = new Term(true);
    const boom = new Error('boom');
    await expect(
      withProgress({}, ioWith(err), 'sealing', async (onProgress) => {
        onProgress?.({ files: 1, bytes: 1 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(err.text).toContain('\x1b[?25h'); // the bar was stopped: the cursor it hid is shown again
  });
});
