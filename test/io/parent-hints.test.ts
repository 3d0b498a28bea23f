/** ParentHints: a parent manifest's file digests, looked up in manifest order with O(1) memory. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParentHints } from '../../src/io/parent-hints.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { tempDir } from '../helpers/tree.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

async function manifest(lines: string[]): Promise<string> {
  const path = join(await tempDir('snap-hints-'), 'manifest.jsonl');
  await fsp.writeFile(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

describe('ParentHints', () => {
  it("gives each file's digest when asked in manifest order, and nothing for paths it lacks or for links", async () => {
    const path = await manifest([
      serializeEntry({ path: 'a/1.txt', sha256: A, size: 1 }),
      serializeEntry({ path: 'a/link', target: '1.txt', type: 'symlink' }),
      serializeEntry({ path: 'b "quoted"\\back.txt', sha256: B, size: 2 }),
      serializeEntry({ path: 'ü/名.txt', sha256: C, size: 3 }),
    ]);
    const h = new ParentHints(path);
    expect(await h.get('a/0.txt')).toBeUndefined();
    expect(await h.get('a/1.txt')).toBe(A);
    expect(await h.get('a/link')).toBeUndefined();
    expect(await h.get('a/new.txt')).toBeUndefined();
    expect(await h.get('b "quoted"\\back.txt')).toBe(B); // an escaped path: read through JSON.parse
    expect(await h.get('ü/名.txt')).toBe(C);
    expect(await h.get('z')).toBeUndefined();
  });

  it('gives no hints, and no error, for a missing manifest or lines that are not entries', async () => {
    expect(await new ParentHints('/nonexistent/manifest.jsonl').get('a')).toBeUndefined();
    const h = new ParentHints(await manifest(['not json', '{"path":"a","sha256":"short","size":1}', serializeEntry({ path: 'b', sha256: B, size: 1 })]));
    expect(await h.get('a')).toBeUndefined();
    expect(await h.get('b')).toBe(B);
  });
});
