/**
 * `snap log --json` stopped by Ctrl-C after its last row was written, just before the document's
 * end: the output is still one document — every row, then `"ok": false` and the `INTERRUPTED`
 * error — and the exit 130. (The check before the end was outside the code that ends a begun
 * document: the rows written so far were left cut off, runCli's error document run on after them.)
 * In a file of its own: the interruption is process-wide.
 */
import { Writable } from 'node:stream';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { runCli } from '../../src/cli/run.js';
import { jsonDocument } from '../../src/cli/json-stdout.js';
import { JSON_STREAM_CHUNK_CHARS } from '../../src/cli/json-stream.js';
import { interrupt } from '../../src/io/interrupt.js';

/** A stdout that takes a Ctrl-C at its first write (the process's SIGINT handler marks the process interrupted). */
class InterruptedAtFirstWrite extends Writable {
  text = '';
  writes = 0;
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.writes++ === 0) void interrupt('SIGINT');
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    cb();
  }
}

describe('snap log --json, Ctrl-C as its last row is written', () => {
  it('ends the document with every row, "ok": false and INTERRUPTED (exit 130), one document', async () => {
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    // Rows (malformed lines, listed with their text) just enough that the first write comes with the last row.
    const row = (line: number) => ({ line, malformed: true, complete: true, raw: 'x'.repeat(150) });
    const gathered = (n: number) => jsonDocument({ store, entries: Array.from({ length: n }, (_, i) => row(i + 1)) }).length - '\n  ]\n}\n'.length;
    let n = 1;
    while (gathered(n) < JSON_STREAM_CHUNK_CHARS) n++;
    await fsp.writeFile(join(store, 'log.jsonl'), `${'x'.repeat(150)}\n`.repeat(n));

    const stdout = new InterruptedAtFirstWrite();
    const stderr = new Writable({ write: (_c, _e, cb) => cb() });
    const code = await runCli(['log', '--json', '--store', store], { stdout, stderr, env: { ...process.env, SNAP_STATE_DIR: join(store, '..', 'state') }, cwd: process.cwd() });
    expect(stdout.writes).toBeGreaterThan(0);
    expect(code).toBe(130);
    const entries = Array.from({ length: n }, (_, i) => row(i + 1));
    expect(stdout.text).toBe(jsonDocument({ store, entries, ok: false, error: { code: 'INTERRUPTED', message: 'interrupted (SIGINT); its temporary files were removed and its lock released', details: { signal: 'SIGINT' } } }));
  });
});
