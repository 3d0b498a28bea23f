/**
 * A verify worker's bulk runs (hash-worker.ts, kind 4): a folder's listed files paired with raw
 * manifest lines. A line is confirmed only when it is exactly the canonical line (SPEC §2) of the
 * file it is paired with; anything else — another path, a symbolic link's line, a line that is not
 * canonical, a count that does not pair — is a mismatch, on which verify joins line by line
 * instead. The leaves are those of the very lines sent.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashPool, type CheckReply } from '../../src/io/hash-pool.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { makeTree } from '../helpers/tree.js';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const leaf = (line: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(line)])).digest('hex');
const fileLine = (path: string, content: string) => serializeEntry({ path, sha256: sha256(content), size: Buffer.byteLength(content) });

/** Send one bulk run: `names` in folder `dir` paired with `lines` (each given a `\n`, unless `raw`). */
async function bulk(pool: HashPool, dir: string, names: string[], lines: string[], raw?: string): Promise<CheckReply & { leaves?: Uint8Array }> {
  const data = new Uint8Array(Buffer.from(raw ?? lines.map((l) => `${l}\n`).join('')));
  return pool.submit({ kinds: [4], lines: [''], rels: [dir], names: [names.join('\n')], data: [data] }, [data.buffer as ArrayBuffer]);
}

const FILES = { 'd/a': 'alpha', 'd/q"uote': 'quoted', 'd/back\\slash': 'slashed', 'd/sp ace': 'spaced', 'd/z': 'zed' };
const NAMES = ['a', 'back\\slash', 'q"uote', 'sp ace', 'z'];
const LINES = NAMES.map((n) => fileLine(`d/${n}`, FILES[`d/${n}` as keyof typeof FILES]));

describe('a verify worker’s bulk run', () => {
  it('confirms the canonical lines of its files, quotes and backslashes escaped, with the leaves of those lines and the sizes they declare', async () => {
    const root = await makeTree(FILES);
    const pool = new HashPool({ jobs: 1, mode: 'verify', root });
    try {
      const r = await bulk(pool, 'd', NAMES, LINES);
      expect(r.mismatch).toBeUndefined();
      expect(r.problems).toEqual([]);
      expect(r.lineBytes).toBe(Object.values(FILES).reduce((n, c) => n + c.length, 0));
      expect(r.bytes).toBe(r.lineBytes);
      const leaves = Buffer.from(r.leaves as Uint8Array);
      expect(LINES.map((_, i) => leaves.subarray(32 * i, 32 * i + 32).toString('hex'))).toEqual(LINES.map(leaf));
    } finally {
      await pool.close();
    }
  });

  it('names a changed, a removed and a swapped-in file with the path and what its line expected', async () => {
    const root = await makeTree({ ...FILES, 'd/a': 'poisoned', 'd/z': { symlink: 'a' } });
    const pool = new HashPool({ jobs: 1, mode: 'verify', root });
    try {
      const r = await bulk(pool, 'd', NAMES, LINES);
      expect(r.mismatch).toBeUndefined();
      expect(r.problems).toEqual([
        { index: 0, sub: 0, path: 'd/a', expSha: sha256('alpha'), expSize: 5, kind: 'modified', sha256: sha256('poisoned'), size: 8 },
        { index: 0, sub: 4, path: 'd/z', expSha: sha256('zed'), expSize: 3, kind: 'type-changed', reason: 'ELOOP' },
      ]);
    } finally {
      await pool.close();
    }
  });

  const wrong: [string, (line: string) => string][] = [
    ['another path', (l) => l.replace('"d/a"', '"d/b"')],
    ['a symbolic link’s line', () => '{"path":"d/a","target":"z","type":"symlink"}'],
    ['an upper-case digest', (l) => l.replace(/"sha256":"([0-9a-f]{64})"/, (_, h: string) => `"sha256":"${h.toUpperCase()}"`)],
    ['a size with a leading zero', (l) => l.replace('"size":5}', '"size":05}')],
    ['a size beyond 2^53 - 1', (l) => l.replace('"size":5}', '"size":9007199254740993}')],
    ['a space after a colon', (l) => l.replace('"path":', '"path": ')],
    ['an unknown member', (l) => l.replace('}', ',"x":1}')],
    ['members out of order', () => `{"sha256":"${sha256('alpha')}","path":"d/a","size":5}`],
    ['an escaped letter', (l) => l.replace('"d/a"', '"d/\\u0061"')],
  ];
  for (const [what, change] of wrong) {
    it(`does not confirm a line with ${what}: mismatch`, async () => {
      const root = await makeTree(FILES);
      const pool = new HashPool({ jobs: 1, mode: 'verify', root });
      try {
        const r = await bulk(pool, 'd', NAMES, [change(LINES[0] as string), ...LINES.slice(1)]);
        expect(r).toMatchObject({ mismatch: true });
      } finally {
        await pool.close();
      }
    });
  }

  it('does not pair fewer lines than files, more lines than files, or lines without their last newline: mismatch', async () => {
    const root = await makeTree(FILES);
    const pool = new HashPool({ jobs: 1, mode: 'verify', root });
    try {
      expect(await bulk(pool, 'd', NAMES, LINES.slice(0, 4))).toMatchObject({ mismatch: true });
      expect(await bulk(pool, 'd', NAMES.slice(0, 4), LINES)).toMatchObject({ mismatch: true });
      expect(await bulk(pool, 'd', NAMES, LINES, LINES.join('\n'))).toMatchObject({ mismatch: true });
      expect((await bulk(pool, 'd', NAMES, LINES)).mismatch).toBeUndefined(); // and the worker goes on
    } finally {
      await pool.close();
    }
  });
});
