/**
 * ParentHints: a parent manifest's digests of its large files, and what a seal into a store does
 * with them: an unchanged large file is hashed first and never copied, whichever walk lists it.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LARGE_FILE_BYTES, MAX_HINT_PATH_BYTES, ParentHints } from '../../src/io/parent-hints.js';
import { MAX_PATH_BYTES } from '../../src/core/paths.js';
import { WHOLE_FILE_MAX } from '../../src/io/read-pool.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { scanDataset } from '../../src/ops/seal.js';
import { openStore } from '../../src/io/store.js';
import { makeTree, tempDir } from '../helpers/tree.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const BIG = LARGE_FILE_BYTES;

async function manifest(lines: string[]): Promise<string> {
  const path = join(await tempDir('snap-hints-'), 'manifest.jsonl');
  await fsp.writeFile(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

/** Bytes this process has written so far, through any file descriptor (Linux /proc/self/io `wchar`). */
function bytesWritten(): number {
  const m = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number((m as RegExpExecArray)[1]);
}

describe('ParentHints', () => {
  it('uses the size the hashing workers read whole files below', () => {
    expect(LARGE_FILE_BYTES).toBe(WHOLE_FILE_MAX);
  });

  it("keeps each large file's digest, and nothing for small files, links or paths the parent lacks", async () => {
    const path = await manifest([
      serializeEntry({ path: 'a/1.bin', sha256: A, size: BIG }),
      serializeEntry({ path: 'a/link', target: '1.bin', type: 'symlink' }),
      serializeEntry({ path: 'a/small.txt', sha256: C, size: BIG - 1 }),
      serializeEntry({ path: 'b "quoted"\\back.bin', sha256: B, size: 10 * BIG }),
      serializeEntry({ path: 'ü/名.bin', sha256: C, size: BIG + 1 }),
    ]);
    const h = await ParentHints.read(path);
    expect(h.size).toBe(3);
    expect(h.get('a/1.bin')).toBe(A);
    expect(h.get('a/link')).toBeUndefined();
    expect(h.get('a/small.txt')).toBeUndefined();
    expect(h.get('a/new.bin')).toBeUndefined();
    expect(h.get('b "quoted"\\back.bin')).toBe(B); // an escaped path: read through JSON.parse
    expect(h.get('ü/名.bin')).toBe(C);
  });

  it("gives a folder's hints for a range of names, by dataset path", async () => {
    const h = await ParentHints.read(await manifest(['a', 'b', 'c', 'd'].map((n, i) => serializeEntry({ path: `dir/${n}`, sha256: [A, B, C, A][i] as string, size: BIG }))));
    const got = new Map<string, string>();
    h.addRange(got, 'dir', 'b', 'c');
    expect([...got]).toEqual([
      ['dir/b', B],
      ['dir/c', C],
    ]);
    h.addRange(got, 'other', 'a', 'z');
    expect(got.size).toBe(2);
  });

  it('gives no hints, and no error, for a missing manifest or lines that are not entries, and keeps at most the maximum', async () => {
    expect((await ParentHints.read('/nonexistent/manifest.jsonl')).size).toBe(0);
    const h = await ParentHints.read(await manifest(['not json', `{"path":"a","sha256":"short","size":${BIG}}`, serializeEntry({ path: 'b', sha256: B, size: BIG }), serializeEntry({ path: 'c', sha256: C, size: BIG })]), BIG, 1);
    expect(h.get('a')).toBeUndefined();
    expect(h.get('b')).toBe(B);
    expect(h.get('c')).toBeUndefined(); // beyond the maximum: no hint, only a copy while hashing
  });

  it('reads a manifest of many read buffers: each large file of 30,000 lines, those across a buffer boundary too, and a line past a long one', async () => {
    // 30,000 lines of about 140 bytes: several of the 1 MiB reads; every seventh a large file.
    const lines: string[] = [];
    const want = new Map<string, string>();
    for (let i = 0; i < 30_000; i++) {
      const path = `d${i % 97}/file-${String(i).padStart(6, '0')}.bin`;
      const sha = createHash('sha256').update(String(i)).digest('hex');
      const size = i % 7 === 0 ? BIG + i : i;
      lines.push(serializeEntry({ path, sha256: sha, size }));
      if (size >= BIG) want.set(path, sha);
    }
    // A line of 2 MiB that is no entry (longer than a read), then a large file: still kept.
    lines.push(`{"junk":"${'x'.repeat(2 << 20)}"}`);
    lines.push(serializeEntry({ path: 'after/long.bin', sha256: A, size: BIG }));
    want.set('after/long.bin', A);
    const h = await ParentHints.read(await manifest(lines));
    expect(h.size).toBe(want.size);
    for (const [path, sha] of want) expect(h.get(path), path).toBe(sha);
    expect(h.get('d1/file-000001.bin')).toBeUndefined(); // a small file: no hint
  });

  it('keeps no hint for a path longer than a manifest path may be (a planted parent manifest of 15 MB paths held them all)', async () => {
    // Before: 40 such lines of 15 MB each (a 629 MB manifest a store writer put in the parent's
    // place) took a second seal from 76 MB to 754 MB of memory; a hint's path is at most MAX_PATH_BYTES.
    const long = (c: string, bytes: number) => `${c}/${'x'.repeat(bytes - 2)}`;
    const h = await ParentHints.read(
      await manifest([
        serializeEntry({ path: long('a', MAX_PATH_BYTES + 1), sha256: A, size: BIG }),
        `{"path":"${long('b', 1 << 20)}","sha256":"${B}","size":${BIG}}`,
        `{"path":"${long('c', 3 << 20)}","sha256":"${C}","size":${BIG}}`,
        serializeEntry({ path: long('d', MAX_PATH_BYTES), sha256: A, size: BIG }),
        `{"junk":"${'z'.repeat(17 << 20)}"}`, // longer than any line: skipped, not held, and the reading goes on
        serializeEntry({ path: 'e.bin', sha256: B, size: BIG }),
      ]),
    );
    expect(h.size).toBe(2);
    expect(h.get(long('d', MAX_PATH_BYTES))).toBe(A);
    expect(h.get('e.bin')).toBe(B);
  });

  it('keeps hints only up to MAX_HINT_PATH_BYTES of paths in all, whatever their number', async () => {
    const n = Math.floor(MAX_HINT_PATH_BYTES / MAX_PATH_BYTES) + 10;
    const path = (i: number) => `${String(i).padStart(6, '0')}/${'y'.repeat(MAX_PATH_BYTES - 7)}`;
    const h = await ParentHints.read(await manifest(Array.from({ length: n }, (_, i) => serializeEntry({ path: path(i), sha256: A, size: BIG }))));
    expect(h.size).toBe(Math.floor(MAX_HINT_PATH_BYTES / MAX_PATH_BYTES));
    expect(h.get(path(0))).toBe(A);
    expect(h.get(path(n - 1))).toBeUndefined(); // past the bound: a copy while hashing, nothing else
  });

  it('keeps the last line of a manifest that does not end in a newline', async () => {
    const path = join(await tempDir('snap-hints-'), 'manifest.jsonl');
    await fsp.writeFile(path, `${serializeEntry({ path: 'a', sha256: A, size: 1 })}\n${serializeEntry({ path: 'b', sha256: B, size: BIG })}`);
    const h = await ParentHints.read(path);
    expect([h.size, h.get('b')]).toEqual([1, B]);
  });
});

describe('a seal into a store with its parent snapshot', () => {
  for (const walkInWorkers of [true, false]) {
    it(`hashes an unchanged large file without copying it (folders listed ${walkInWorkers ? 'by the workers' : 'on the main thread'}), and still stores a changed one`, async () => {
      const big = Buffer.alloc(BIG + 4096, 7);
      const spec: Record<string, string | Buffer> = { 'shards/big.bin': big, 'top.bin': Buffer.concat([big, Buffer.from('top')]) };
      for (let i = 0; i < 40; i++) spec[`shards/small-${i}.txt`] = `small ${i}`;
      const data = await makeTree(spec);
      const store = await openStore(join(await tempDir('snap-hints-store-'), 'store'), { create: true });
      const manifestPath = join(await tempDir('snap-hints-m-'), 'manifest.jsonl');
      let text = '';
      const first = await scanDataset({ dir: data, jobs: 2, store, walkInWorkers }, (t) => {
        text += typeof t === 'string' ? t : Buffer.from(t).toString('utf8');
      });
      expect(first.newObjects).toBe(42);
      await fsp.writeFile(manifestPath, text);
      const hints = await ParentHints.read(manifestPath);
      expect(hints.size).toBe(2);

      // Unchanged: both large files are read, hashed, and found in the store; nothing is written.
      let before = bytesWritten();
      const again = await scanDataset({ dir: data, jobs: 2, store, walkInWorkers, hints }, () => {});
      expect(again.newObjects).toBe(0);
      expect(bytesWritten() - before).toBeLessThan(BIG / 4);

      // The same seal without hints copies each large file while hashing it, then drops the copy.
      before = bytesWritten();
      await scanDataset({ dir: data, jobs: 2, store, walkInWorkers }, () => {});
      expect(bytesWritten() - before).toBeGreaterThan(2 * BIG);

      // A large file changed since the parent: its hint is wrong, and it is stored all the same.
      const changed = Buffer.concat([big, Buffer.from('changed')]);
      await fsp.writeFile(join(data, 'shards/big.bin'), changed);
      const third = await scanDataset({ dir: data, jobs: 2, store, walkInWorkers, hints }, () => {});
      expect(third.newObjects).toBe(1);
      const hex = createHash('sha256').update(changed).digest('hex');
      expect(createHash('sha256').update(await fsp.readFile(join(store.objectsDir, hex.slice(0, 2), hex.slice(2)))).digest('hex')).toBe(hex);
    });
  }
});
