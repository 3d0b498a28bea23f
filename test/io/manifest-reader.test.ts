/**
 * The manifest read forward in two ways mixed at will (src/io/manifest-reader.ts): lines parsed one
 * by one, or many taken raw for the workers. Whatever the mix and wherever the 1 MiB read chunks cut
 * the lines, every byte is given back exactly once, in order, and the digest is the file's SHA-256.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestReader } from '../../src/io/manifest-reader.js';
import { MAX_MANIFEST_LINE } from '../../src/io/manifest-file.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { compareUtf8 } from '../../src/core/paths.js';
import { SnapError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/tree.js';

async function manifestOf(lines: string[]): Promise<string> {
  const path = join(await tempDir(), 'manifest.jsonl');
  await fsp.writeFile(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SnapError) return e.code;
    throw e;
  }
  return 'no error';
}

/** 40,000 canonical file lines, sorted, with multi-byte paths of random lengths (some about a chunk's worth together). */
function sortedLines(): { lines: string[]; paths: string[]; sizes: number[] } {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const paths = Array.from({ length: 40_000 }, (_, i) => `d${rnd(30)}/${'é日x'.repeat(rnd(60))}${i}`).sort(compareUtf8);
  const sizes = paths.map(() => rnd(5000));
  const lines = paths.map((path, i) => serializeEntry({ path, sha256: 'ab'.repeat(32), size: sizes[i] as number }));
  return { lines, paths, sizes };
}

describe('a manifest read line by line and in raw runs', () => {
  it('gives back every line exactly once, in order, for any mix of the two, with the file’s SHA-256', async () => {
    const { lines, paths } = sortedLines();
    const path = await manifestOf(lines);
    const text = lines.map((l) => `${l}\n`).join('');
    const r = new ManifestReader(path);
    const got: string[] = [];
    let at = 0;
    let step = 0;
    while (at < lines.length) {
      step++;
      if (step % 3 === 0) {
        const p = await r.peek();
        expect(p?.entry.path).toBe(paths[at]);
        expect(await r.peek()).toBe(p); // stays the next line until taken
        r.advance();
        got.push(p?.line as string);
        at++;
      } else {
        const n = Math.min(lines.length - at, 1 + ((step * 7919) % 3000));
        const raw = await r.take(n, Number.MAX_SAFE_INTEGER);
        expect(raw.lines).toBe(n);
        expect(raw.data.byteOffset).toBe(0);
        expect(raw.data.buffer.byteLength).toBe(raw.data.byteLength); // its own ArrayBuffer: transferable
        const taken = Buffer.from(raw.data).toString('utf8');
        expect(taken.endsWith('\n')).toBe(true);
        got.push(...taken.slice(0, -1).split('\n'));
        expect(r.acceptRun(paths[at] as string, paths[at + n - 1] as string, n)).toBe(true);
        at += n;
      }
    }
    expect(await r.peek()).toBeUndefined();
    expect((await r.take(10, 10)).lines).toBe(0);
    await r.close();
    expect(got).toEqual(lines);
    expect(r.order.count).toBe(lines.length);
    expect(r.bytes).toBe(Buffer.byteLength(text));
    expect(r.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('stops a raw run after the line whose size brings the sizes to the byte budget', async () => {
    const sizes = [3, 4, 5, 6, 7];
    const path = await manifestOf(sizes.map((size, i) => serializeEntry({ path: `f${i}`, sha256: '0'.repeat(64), size })));
    const r = new ManifestReader(path);
    expect(await r.take(100, 7)).toMatchObject({ lines: 2, sizes: 7 }); // 3 < 7: one more line, then 7 reached
    expect(await r.take(100, 5)).toMatchObject({ lines: 1, sizes: 5 });
    expect(await r.take(1, 1000)).toMatchObject({ lines: 1, sizes: 6 });
    expect(await r.take(100, 1000)).toMatchObject({ lines: 1, sizes: 7 }); // the end of the file
    await r.close();
  });

  it('counts taken lines in the line numbers of later errors, and keeps the order across a raw run', async () => {
    const path = await manifestOf([serializeEntry({ path: 'a', sha256: '0'.repeat(64), size: 1 }), serializeEntry({ path: 'b', sha256: '0'.repeat(64), size: 1 }), serializeEntry({ path: 'a0', sha256: '0'.repeat(64), size: 1 })]);
    const r = new ManifestReader(path);
    await r.take(2, 100);
    expect(r.acceptRun('a', 'b', 2)).toBe(true);
    const e = await r.peek().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SnapError);
    expect((e as SnapError).code).toBe('MANIFEST_UNSORTED');
    expect((e as SnapError).details?.line).toBe(3);
    await r.close();
  });

  it('accepts a raw run only after the previous path and in order', async () => {
    const path = await manifestOf([serializeEntry({ path: 'm', sha256: '0'.repeat(64), size: 1 })]);
    const r = new ManifestReader(path);
    await r.peek();
    r.advance();
    expect(r.acceptRun('m', 'z', 2)).toBe(false); // not after "m"
    expect(r.acceptRun('a', 'z', 2)).toBe(false);
    expect(r.acceptRun('n', 'n', 2)).toBe(false); // two paths cannot be one
    expect(r.acceptRun('n', 'o', 1)).toBe(false); // one path cannot be two
    expect(r.order.count).toBe(1);
    expect(r.acceptRun('n', 'o', 2)).toBe(true);
    expect(r.order.count).toBe(3);
    await r.close();
  });

  it('gives back taken lines, across chunks, as the next ones again, the digest unchanged', async () => {
    const { lines, paths } = sortedLines();
    const path = await manifestOf(lines);
    const text = lines.map((l) => `${l}\n`).join('');
    const r = new ManifestReader(path);
    const first = await r.take(15_000, Number.MAX_SAFE_INTEGER); // more than a chunk
    r.untake(first);
    const again = await r.take(15_000, Number.MAX_SAFE_INTEGER);
    expect(Buffer.from(again.data).equals(Buffer.from(first.data))).toBe(true);
    expect(r.acceptRun(paths[0] as string, paths[14_999] as string, 15_000)).toBe(true);
    const one = await r.take(1, 1);
    r.untake(one);
    expect((await r.peek())?.entry.path).toBe(paths[15_000]); // parsed as the next line
    r.advance();
    const rest = await r.take(lines.length, Number.MAX_SAFE_INTEGER);
    expect(rest.lines).toBe(lines.length - 15_001);
    await r.close();
    expect(r.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('refuses to take raw lines while a parsed line is pending (INTERNAL)', async () => {
    const r = new ManifestReader(await manifestOf([serializeEntry({ path: 'a', sha256: '0'.repeat(64), size: 1 })]));
    await r.peek();
    expect(await codeOf(r.take(1, 1))).toBe('INTERNAL');
    await r.close();
  });

  it('refuses a last line without its newline (MANIFEST_NO_TRAILING_NEWLINE), read either way', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, `${serializeEntry({ path: 'a', sha256: '0'.repeat(64), size: 1 })}\n{"path":"b"`);
    const byLine = new ManifestReader(path);
    await byLine.peek();
    byLine.advance();
    expect(await codeOf(byLine.peek())).toBe('MANIFEST_NO_TRAILING_NEWLINE');
    await byLine.close();
    const raw = new ManifestReader(path);
    expect(await codeOf(raw.take(5, 1000))).toBe('MANIFEST_NO_TRAILING_NEWLINE');
    await raw.close();
  });

  it('refuses a line longer than 1 MiB without holding the rest of the file (MANIFEST_LINE_MALFORMED, with its line number)', async () => {
    const path = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(path, `${serializeEntry({ path: 'a', sha256: '0'.repeat(64), size: 1 })}\n{"path":"${'y'.repeat(MAX_MANIFEST_LINE + 10)}"}\n`);
    for (const read of [(r: ManifestReader) => r.take(5, 1000), (r: ManifestReader) => r.peek().then(() => (r.advance(), r.peek()))]) {
      const r = new ManifestReader(path);
      const e = await read(r).catch((x: unknown) => x);
      expect((e as SnapError).code).toBe('MANIFEST_LINE_MALFORMED');
      expect((e as SnapError).details?.line).toBe(2);
      await r.close();
    }
  });

  it('says NOT_FOUND for a manifest that is not there', async () => {
    const r = new ManifestReader(join(await tempDir(), 'absent.jsonl'));
    expect(await codeOf(r.peek())).toBe('NOT_FOUND');
    await r.close();
  });
});
