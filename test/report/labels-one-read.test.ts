/**
 * The incident report counts the labels of a dataset labelled by folder from the diff's own read of
 * each manifest (`DiffOptions.onEntries`), which the diff judges against its statement before it
 * returns: each snapshot's manifest is opened and read once, not a second time after the diff for
 * the counts (a whole parse, SHA-256 and Merkle root of every line again).
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { resolveRef } from '../../src/io/store.js';
import { gatherIncident } from '../../src/report/gather-incident.js';
import { snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const opened: string[] = [];
vi.mock('../../src/io/small-file.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/io/small-file.js')>();
  return {
    ...m,
    openRegularFile: (path: string, ...rest: [string]) => (opened.push(path), m.openRegularFile(path, ...rest)),
    // A small manifest is opened synchronously (io/manifest-file.ts, SMALL_MANIFEST_BYTES).
    openRegularFileSync: (path: string, ...rest: [string]) => (opened.push(path), m.openRegularFileSync(path, ...rest)),
  };
});

const keys = useKeyPair('alice');

describe('the incident report of a dataset labelled by folder', () => {
  it('counts each side\'s labels from the diff\'s one read of its manifest: each manifest opened once', async () => {
    const store = await newStorePath();
    const v1 = await tempDir();
    await writeTree(v1, { 'ham/1.txt': 'a', 'ham/2.txt': 'b', 'spam/3.txt': 'c' });
    const v2 = await tempDir();
    await writeTree(v2, { 'ham/1.txt': 'a', 'spam/2.txt': 'b', 'spam/3.txt': 'c', 'spam/4.txt': 'd' });
    for (const [dir, as] of [[v1, 'mail@v1'], [v2, 'mail@v2']] as const) {
      const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store]);
      expect(r.code, r.stderr).toBe(0);
    }
    const a = await resolveRef('mail@v1', store);
    const b = await resolveRef('mail@v2', store);
    opened.length = 0;
    const { facts } = await gatherIncident({ kind: 'snapshot', location: a }, { kind: 'snapshot', location: b }, { store });
    expect(facts.labels?.source).toBe('folders');
    expect(facts.labels?.chart).toEqual([{ label: 'ham', a: 2, b: 1 }, { label: 'spam', a: 1, b: 3 }]);
    const manifests = opened.filter((p) => p.endsWith('manifest.jsonl'));
    expect(manifests.sort()).toEqual([join(a.dir, 'manifest.jsonl'), join(b.dir, 'manifest.jsonl')].sort());
  });
});
