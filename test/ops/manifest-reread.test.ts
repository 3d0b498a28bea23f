/**
 * A snapshot's manifest swapped in the store between diff's judged read and its later reads.
 * diff reads a snapshot side's manifest once in full and judges it against the statement; the
 * record diff (which files a side has, and their digests) reads it again (the report's label
 * counts no longer do: they are counted in the diff's own read). Someone who can write to the store could swap the file in between — e.g. give a tabular
 * file the digest of the poisoned folder's copy, so that the snapshot's signed index is taken to
 * describe the poisoned file and its flipped labels vanish. Every second read must be of the signed
 * bytes, or the command fails with `INTEGRITY_FAILURE` before using anything it read.
 * The swap is made deterministic here by the `onManifests` hook, which runs exactly between the
 * judged read and the others.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diff } from '../../src/ops/diff.js';
import { rereadEntryRuns } from '../../src/io/manifest-file.js';
import { resolveRef } from '../../src/io/store.js';
import { copyTree, REPO, snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { newStorePath, snapshotFolder } from '../helpers/store.js';

const keys = useKeyPair('alice');
const TABULAR = join(REPO, 'examples', 'tabular');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function seal(dir: string, store: string, as: string): Promise<void> {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
}

/** The example sealed as tab@v1, and a copy of it with the label of breast-cancer id 10 flipped. */
async function sealedAndPoisoned(): Promise<{ store: string; poisoned: string; csv: string }> {
  const store = await newStorePath();
  await seal(TABULAR, store, 'tab@v1');
  const poisoned = await copyTree(TABULAR);
  const csv = join(poisoned, 'breast_cancer.csv');
  const lines = (await fsp.readFile(csv, 'utf8')).split('\n');
  const i = lines.findIndex((l) => l.startsWith('10,'));
  lines[i] = lines[i]!.endsWith(',malignant') ? lines[i]!.replace(/,malignant$/, ',benign') : lines[i]!.replace(/,benign$/, ',malignant');
  await fsp.writeFile(csv, lines.join('\n'));
  return { store, poisoned, csv };
}

/** tab@v1's manifest with breast_cancer.csv's line given the digest and size of `csv`. */
async function manifestClaiming(store: string, csv: string): Promise<string> {
  const path = join(snapshotFolder(store, 'tab', 'v1'), 'manifest.jsonl');
  const bytes = await fsp.readFile(csv);
  const text = await fsp.readFile(path, 'utf8');
  const swapped = text
    .split('\n')
    .map((l) => (l.startsWith('{"path":"breast_cancer.csv"') ? l.replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${sha256(bytes)}"`).replace(/"size":\d+/, `"size":${bytes.length}`) : l))
    .join('\n');
  expect(swapped).not.toBe(text);
  return swapped;
}

describe('a manifest swapped in the store after diff judged it', () => {
  it('the record diff names the flipped label when the manifest stays as signed', async () => {
    const { store, poisoned } = await sealedAndPoisoned();
    const r = await diff({ kind: 'snapshot', location: await resolveRef('tab@v1', store) }, { kind: 'folder', path: poisoned }, { store });
    expect(r.modified.map((m) => m.path)).toEqual(['breast_cancer.csv']);
    expect(r.records?.summary.flipped).toBe(1);
  });

  it('fails with INTEGRITY_FAILURE instead of taking the signed index for the poisoned file', async () => {
    const { store, poisoned, csv } = await sealedAndPoisoned();
    const manifest = join(snapshotFolder(store, 'tab', 'v1'), 'manifest.jsonl');
    const swapped = await manifestClaiming(store, csv);
    const run = diff({ kind: 'snapshot', location: await resolveRef('tab@v1', store) }, { kind: 'folder', path: poisoned }, {
      store,
      onManifests: async () => {
        await fsp.chmod(manifest, 0o644);
        await fsp.writeFile(manifest, swapped);
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE', details: { path: manifest } });
  });

  it('gives onManifests the signed digest of each snapshot side (the report counts its labels from the judged read itself: test/report/labels-one-read.test.ts)', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'ham/1.txt': 'a', 'ham/2.txt': 'b', 'spam/3.txt': 'c' });
    const store = await newStorePath();
    await seal(dir, store, 'mail@v1');
    const manifest = join(snapshotFolder(store, 'mail', 'v1'), 'manifest.jsonl');
    const text = await fsp.readFile(manifest, 'utf8');
    let seen: { a?: string; b?: string } | undefined;
    await diff({ kind: 'snapshot', location: await resolveRef('mail@v1', store) }, { kind: 'folder', path: dir }, {
      store,
      records: false,
      onManifests: async (_pa, _pb, signed) => {
        seen = signed;
      },
    });
    expect(seen).toEqual({ a: sha256(text) }); // a folder side's manifest is this process's own
  });
});

describe('rereadEntryRuns', () => {
  const line = (p: string, c: string) => `{"path":"${p}","sha256":"${sha256(c)}","size":${c.length}}`;
  async function manifestFile(text: string): Promise<string> {
    const p = join(await tempDir(), 'manifest.jsonl');
    await fsp.writeFile(p, text);
    return p;
  }
  async function readAll(path: string, signed: string | undefined): Promise<string[]> {
    const out: string[] = [];
    for await (const run of rereadEntryRuns(path, signed)) for (const e of run) out.push(e.path);
    return out;
  }
  const text = `${line('a.txt', 'a')}\n${line('b.txt', 'b')}\n`;

  it('gives every entry of the signed bytes', async () => {
    expect(await readAll(await manifestFile(text), sha256(text))).toEqual(['a.txt', 'b.txt']);
  });

  it('fails at its end with INTEGRITY_FAILURE when the bytes are not the signed ones', async () => {
    const other = `${line('a.txt', 'a')}\n${line('c.txt', 'c')}\n`;
    await expect(readAll(await manifestFile(other), sha256(text))).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
  });

  it('calls a line that no longer parses a change (INTEGRITY_FAILURE), not a malformed manifest', async () => {
    await expect(readAll(await manifestFile(`garbage\n${text}`), sha256(text))).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    await expect(readAll(await manifestFile(text.slice(0, -1)), sha256(text))).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
  });

  it('without a signed digest (a folder side) reads as manifestEntryRuns does, errors included', async () => {
    expect(await readAll(await manifestFile(text), undefined)).toEqual(['a.txt', 'b.txt']);
    await expect(readAll(await manifestFile(`garbage\n${text}`), undefined)).rejects.toMatchObject({ code: expect.stringMatching(/^MANIFEST_/) });
  });

  it('keeps a missing file NOT_FOUND (not a change)', async () => {
    await expect(readAll(join(await tempDir(), 'none.jsonl'), sha256(text))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
