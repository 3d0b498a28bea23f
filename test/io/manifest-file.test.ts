/**
 * Reading a manifest file as runs of lines (src/io/manifest-file.ts): whatever the line lengths and
 * wherever the 1 MiB read chunks cut them, the runs hold exactly the file's lines, and the digest
 * is the SHA-256 of its bytes.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFEST_LINE, SMALL_MANIFEST_BYTES, manifestLineRuns } from '../../src/io/manifest-file.js';
import { readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { SnapError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tree.js';

async function readRuns(path: string): Promise<{ lines: string[]; digest: { sha256?: string; bytes: number } }> {
  const digest: { sha256?: string; bytes: number } = { bytes: 0 };
  const lines: string[] = [];
  for await (const run of manifestLineRuns(path, digest)) lines.push(...run);
  return { lines, digest };
}

describe('a manifest read as runs of lines', () => {
  it('gives back every line, across chunk boundaries, with multi-byte characters, a line of exactly the longest length and a chunk with one newline', async () => {
    const lines: string[] = [];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 40_000; i++) lines.push(`{"path":"d/${'é日x'.repeat(rnd(40))}${i}"}`);
    lines.splice(20_000, 0, `{"path":"${'y'.repeat(MAX_MANIFEST_LINE - 11)}"}`); // exactly MAX_MANIFEST_LINE bytes, across two chunks
    lines.splice(30_000, 0, `{"path":"${'z'.repeat((1 << 20) - 40)}"}`); // about a chunk: one newline in a chunk
    expect(Buffer.byteLength(lines[20_000] as string)).toBe(MAX_MANIFEST_LINE);
    const text = lines.join('\n') + '\n';
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, text);
    const got = await readRuns(path);
    expect(got.lines.length).toBe(lines.length);
    expect(got.lines).toEqual(lines);
    expect(got.digest.bytes).toBe(Buffer.byteLength(text));
    expect(got.digest.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('refuses a last line without its newline with MANIFEST_NO_TRAILING_NEWLINE', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, '{"a":1}\n{"b":2}');
    await expect(readRuns(path)).rejects.toSatisfy((e: unknown) => e instanceof SnapError && e.code === 'MANIFEST_NO_TRAILING_NEWLINE');
  });

  it('refuses a line one byte over MAX_MANIFEST_LINE with MANIFEST_LINE_MALFORMED and its line number, wherever the chunks cut it', async () => {
    for (const before of [0, 1, 1000, (1 << 20) - 20]) {
      const path = join(await tempDir(), 'manifest.jsonl');
      const head = before === 0 ? '' : `{"p":"${'a'.repeat(before)}"}\n{"b":1}\n`;
      await fsp.writeFile(path, `${head}{"path":"${'y'.repeat(MAX_MANIFEST_LINE - 10)}"}\n{"c":3}\n`);
      const want = before === 0 ? 1 : 3;
      await expect(readRuns(path)).rejects.toSatisfy((e: unknown) => e instanceof SnapError && e.code === 'MANIFEST_LINE_MALFORMED' && e.details?.line === want);
    }
  });

  it('gives the same lines and digest whether a file is read whole at once (at most SMALL_MANIFEST_BYTES) or streamed', async () => {
    for (const size of [0, 1, SMALL_MANIFEST_BYTES - 1, SMALL_MANIFEST_BYTES, SMALL_MANIFEST_BYTES + 1, 3 * (1 << 20) + 5]) {
      const lines: string[] = [];
      let left = size;
      for (let i = 0; left > 200; i++) {
        const line = `{"path":"f${i}","x":"${'é'.repeat(i % 40)}"}`;
        lines.push(line);
        left -= Buffer.byteLength(line) + 1;
      }
      if (left > 0) lines.push('z'.repeat(left - 1)); // the file exactly `size` bytes
      const text = lines.join('\n') + (lines.length > 0 ? '\n' : '');
      expect(Buffer.byteLength(text)).toBe(size);
      const path = join(await tempDir(), 'manifest.jsonl');
      await fsp.writeFile(path, text);
      const got = await readRuns(path);
      expect(got.lines).toEqual(lines);
      expect(got.digest).toEqual({ bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') });
    }
  });

  it('leaves no descriptor open when its reader stops after the first run, for a small file and a streamed one', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    for (const size of [100, SMALL_MANIFEST_BYTES * 40]) {
      const path = join(await tempDir(), 'manifest.jsonl');
      await fsp.writeFile(path, '{"a":1}\n'.repeat(Math.ceil(size / 8)));
      const before = openFds();
      const runs = manifestLineRuns(path, { bytes: 0 });
      expect((await runs.next()).done).toBe(false);
      await runs.return(undefined);
      await new Promise((r) => setTimeout(r, 50)); // a stream closes its descriptor on the next turns
      expect(openFds()).toBe(before);
    }
  });

  it('refuses a FIFO planted in place of the manifest at once (IO_ERROR), unread', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    execFileSync('mkfifo', [path]);
    await expect(readRuns(path)).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('stops reading a file with no newline at all after about MAX_MANIFEST_LINE bytes, in linear time', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, Buffer.alloc(64 << 20, 0x61)); // 64 MiB, one "line"
    const digest = { bytes: 0 };
    const runs = manifestLineRuns(path, digest);
    await expect(runs.next()).rejects.toSatisfy((e: unknown) => e instanceof SnapError && e.code === 'MANIFEST_LINE_MALFORMED' && e.details?.line === 1);
    expect(digest.bytes).toBeLessThanOrEqual(MAX_MANIFEST_LINE + (1 << 20));
  });
});
