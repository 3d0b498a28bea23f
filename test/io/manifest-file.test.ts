/**
 * Reading a manifest file as runs of lines (src/io/manifest-file.ts): whatever the line lengths and
 * wherever the 1 MiB read chunks cut them, the runs hold exactly the file's lines, and the digest
 * is the SHA-256 of its bytes.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFEST_LINE, manifestLineRuns } from '../../src/io/manifest-file.js';
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

  it('stops reading a file with no newline at all after about MAX_MANIFEST_LINE bytes, in linear time', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, Buffer.alloc(64 << 20, 0x61)); // 64 MiB, one "line"
    const digest = { bytes: 0 };
    const runs = manifestLineRuns(path, digest);
    await expect(runs.next()).rejects.toSatisfy((e: unknown) => e instanceof SnapError && e.code === 'MANIFEST_LINE_MALFORMED' && e.details?.line === 1);
    expect(digest.bytes).toBeLessThanOrEqual(MAX_MANIFEST_LINE + (1 << 20));
  });
});
