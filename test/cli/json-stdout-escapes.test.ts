/**
 * A JSON document snap prints on stdout (every `--json` document, the error document, `bom`
 * without `-o`, `log --json` as it streams) writes the code points that reorder or control what a terminal shows — the
 * bidirectional controls, C1 controls and DEL, U+2028 and U+2029 — as `\uNNNN` escapes: the same
 * JSON value (`JSON.parse` reads the same names back), but a document paged or `cat`ed to a
 * terminal shows what it holds. Everything else (ASCII, é, 中, emoji) is written as before,
 * byte for byte.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, useStore } from '../helpers/store.js';
import { escapeJsonForTerminal, jsonDocument } from '../../src/cli/json-stdout.js';

const keys = useKeyPair();
const shared = useStore();

/** Every code point the documents escape, each as its own name's part. */
const DANGEROUS = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c', '\u0080', '\u0085', '\u009b', '\u009f', '\u007f', '\u2028', '\u2029'];
const RAW = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe('escapeJsonForTerminal and jsonDocument', () => {
  it('write each bidirectional control, C1 control, DEL, U+2028 and U+2029 as \\uNNNN (lowercase hex), the same JSON value', () => {
    for (const c of DANGEROUS) {
      const value = { name: `ev${c}il` };
      const text = jsonDocument(value);
      expect(text, c).toBe(`{\n  "name": "ev\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}il"\n}\n`);
      expect(JSON.parse(text), c).toEqual(value);
    }
  });

  it('leave plain ASCII and ordinary non-ASCII exactly as JSON.stringify writes them', () => {
    const value = { ok: true, path: 'data/café/中文/naïve 🙂.txt', n: 3, list: ['a\\b', 'quote "q"', 'tab\there', 'ﬁ', 'עברית', 'العربية', '\u200d'] };
    expect(jsonDocument(value)).toBe(JSON.stringify(value, null, 2) + '\n');
    const ascii = JSON.stringify({ a: 'plain ascii ~!@#$%^&*()' }, null, 2);
    expect(escapeJsonForTerminal(ascii)).toBe(ascii);
  });
});

describe('documents on stdout', () => {
  it('verify --json names changed files whose names hold bidirectional and C1 controls by \\u escapes; JSON.parse gives the names back', async () => {
    const names = [`d/ev\u202eil.txt`, `d/iso\u2066late\u2069.txt`, `d/c1\u0085\u009b.txt`, `d/line\u2028sep.txt`, `d/café中.txt`];
    const spec: Record<string, string> = {};
    for (const n of names) spec[n] = 'x';
    const { data, ref, store } = await sealTree(spec, keys, { store: shared.path });
    for (const n of names) await fsp.writeFile(join(data, n), 'changed');
    const r = await snapJson(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('ev\\u202eil.txt');
    expect(r.stdout).toContain('d/café中.txt');
    expect(r.json.problems.map((p: { path: string }) => p.path).sort()).toEqual([...names].sort());
  });

  it('bom without -o writes a record label holding U+202E as \\u202e, the same BOM as -o writes raw', async () => {
    const { ref, store } = await sealTree({ 'train.csv': 'id,label\n1,ev\u202eil\n2,ok\n' }, keys, { store: shared.path, extra: ['--records', 'train.csv key=id label=label'] });
    const r = await snap(['bom', ref, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('ev\\u202eil');
    const file = join(await tempDir('snap-bom-'), 'bom.json');
    expect((await snap(['bom', ref, '--store', store, '-o', file])).code).toBe(0);
    const written = await fsp.readFile(file, 'utf8');
    expect(written).toContain('ev\u202eil');
    // The same BOM but for what each run makes anew (its serial number and time).
    const fresh = (bom: any) => ({ ...bom, serialNumber: '', metadata: { ...bom.metadata, timestamp: '' } }); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(fresh(JSON.parse(r.stdout))).toEqual(fresh(JSON.parse(written)));
  });

  it('log --json (streamed) escapes them in the entries it lists: a verify of a folder named with U+202E', async () => {
    const { data, ref } = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    const dir = join(await tempDir('snap-bidi-dir-'), 'ev\u202eil');
    await fsp.rename(data, dir);
    expect((await snap(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', shared.path])).code).toBe(0);
    const r = await snapJson(['log', '--store', shared.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.json.entries.some((e: { details?: { dir?: string } }) => e.details?.dir === dir)).toBe(true);
  });

  it('the error document escapes them too (a ref holding U+202E, REF_MALFORMED)', async () => {
    const r = await snapJson(['show', `ev\u202eil@v1`, '--store', shared.path]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('REF_MALFORMED');
    expect(r.stdout).not.toMatch(RAW);
    expect(r.json.error.message).toContain('ev\u202eil');
  });
});
