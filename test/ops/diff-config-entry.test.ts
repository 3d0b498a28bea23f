/**
 * `snap diff` learns each snapshot side's signed `snap.json` entry (its record rules, FORMAT §19.5)
 * from its own read of the manifests, once both were judged against their statements: the CLI no
 * longer reads and judges each manifest once more beforehand only to find that entry (half the CPU
 * of a diff of 1,000,000 files, docs/PERFORMANCE.md).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diff, type DiffOptions } from '../../src/ops/diff.js';
import { resolveRef } from '../../src/io/store.js';
import { isSnapError } from '../../src/core/errors.js';
import { copyTree, REPO, snapJson, useKeyPair } from '../helpers/tree.js';
import { alterLastEntrySize, newStorePath, snapshotFolder } from '../helpers/store.js';

const keys = useKeyPair('alice');
const TABULAR = join(REPO, 'examples', 'tabular');

async function seal(dir: string, store: string, as: string): Promise<void> {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
}

describe('diff hands each snapshot side its snap.json entry once both manifests are judged', () => {
  it('with the entry of each side and the predicate it was judged against, and compares records with what comes back', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    const copy = await copyTree(TABULAR);
    await fsp.appendFile(join(copy, 'snap.json'), '\n');
    await seal(copy, store, 'tab@v2');
    const calls: Parameters<NonNullable<DiffOptions['recordConfigsOf']>>[] = [];
    const r = await diff({ kind: 'snapshot', location: await resolveRef('tab@v1', store) }, { kind: 'snapshot', location: await resolveRef('tab@v2', store) }, {
      store,
      recordConfigsOf: async (...args) => {
        calls.push(args);
        return {};
      },
    });
    const entryOf = async (dir: string) => {
      const bytes = await fsp.readFile(join(dir, 'snap.json'));
      return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    };
    expect(calls).toHaveLength(1);
    const [found, predicates] = calls[0]!;
    expect(found).toEqual({ a: await entryOf(TABULAR), b: await entryOf(copy) });
    const signed = async (v: string) => JSON.parse(await fsp.readFile(join(snapshotFolder(store, 'tab', v), 'statement.json'), 'utf8')).predicate.manifestSha256;
    expect([predicates.a?.manifestSha256, predicates.b?.manifestSha256]).toEqual([await signed('v1'), await signed('v2')]);
    expect(r.modified.map((m) => m.path)).toEqual(['snap.json']);
    expect(r.records).toBeDefined();
  });

  it('never asks for a side whose manifest does not match its statement: INTEGRITY_FAILURE first, naming the side', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    await seal(TABULAR, store, 'tab@v2');
    await alterLastEntrySize(store, 'tab', 'v2');
    let asked = false;
    const run = diff({ kind: 'snapshot', location: await resolveRef('tab@v1', store) }, { kind: 'snapshot', location: await resolveRef('tab@v2', store) }, {
      store,
      recordConfigsOf: async () => {
        asked = true;
        return {};
      },
    });
    const e = await run.then(() => undefined, (x: unknown) => x);
    expect(isSnapError(e) && e.code).toBe('INTEGRITY_FAILURE');
    expect(String((e as Error).message)).toMatch(/^B \(tab@v2\): /);
    expect(asked).toBe(false);
  });

  it('is not asked with --no-records (records: false)', async () => {
    const store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
    let asked = false;
    const loc = await resolveRef('tab@v1', store);
    await diff({ kind: 'snapshot', location: loc }, { kind: 'snapshot', location: loc }, { store, records: false, recordConfigsOf: async () => ((asked = true), {}) });
    expect(asked).toBe(false);
  });
});
