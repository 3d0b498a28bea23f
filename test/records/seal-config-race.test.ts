/**
 * A dataset's `snap.json` that changes while it is sealed (docs/FORMAT.md §19): the record rules a
 * seal applies, the `snap.json` it signs in the manifest and the copy it keeps as an object must be
 * the same bytes, or the seal stops with `FILE_CHANGED` and commits nothing. Here the file is
 * rewritten just after the seal read its rules (before it was hashed): a hook on readRecordConfigSource.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { seal } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { isSnapError } from '../../src/core/errors.js';
import { makeTree, useKeyPair } from '../helpers/tree.js';
import { filesUnder, newStorePath } from '../helpers/store.js';

/** What the hook writes into snap.json once its rules were read (null: removes it); undefined: nothing. */
let rewriteTo: string | null | undefined;

vi.mock('../../src/records/seal-records.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/records/seal-records.js')>();
  return {
    ...real,
    readRecordConfigSource: async (dir: string) => {
      const config = await real.readRecordConfigSource(dir);
      if (rewriteTo === null) await fsp.rm(join(dir, 'snap.json'));
      else if (rewriteTo !== undefined) await fsp.writeFile(join(dir, 'snap.json'), rewriteTo);
      return config;
    },
  };
});

/** What the hook writes into snap.json once seal looked for its manifest entry, to keep it (manifest-only, no record sets). */
let rewriteBeforeKeep: string | undefined;

vi.mock('../../src/records/keep-config.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/records/keep-config.js')>();
  return {
    ...real,
    configEntryOf: async (manifestPath: string) => {
      const entry = await real.configEntryOf(manifestPath);
      if (rewriteBeforeKeep !== undefined) await fsp.writeFile(join(keepDir as string, 'snap.json'), rewriteBeforeKeep);
      return entry;
    },
  };
});
let keepDir: string | undefined;

const keys = useKeyPair();
const RULES_A = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'y' }] });
/** Other rules: train.csv indexed by another key and label, and thresholds that let anything through. */
const RULES_B = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['y'], label: 'id' }], check: { maxLabelChanges: 1000000 } });

async function sealWith(now: string | null | undefined) {
  const data = await makeTree({ 'train.csv': 'id,y\n1,a\n2,b\n', 'snap.json': RULES_A });
  const store = await newStorePath();
  rewriteTo = now;
  try {
    await seal({ dir: data, as: 'race@v1', key: await readPrivateKey(keys.key), store });
    return { code: 'none', store };
  } catch (e) {
    return { code: isSnapError(e) ? e.code : String(e), store };
  } finally {
    rewriteTo = undefined;
  }
}

describe('seal, when snap.json changes after its rules were read', () => {
  it('stops with FILE_CHANGED when snap.json got other bytes before it was hashed: the rules applied would not be the snap.json signed', async () => {
    const r = await sealWith(RULES_B);
    expect(r.code).toBe('FILE_CHANGED');
    expect(await filesUnder(join(r.store, 'snapshots'))).toEqual([]);
  });

  it('stops with FILE_CHANGED when snap.json was removed before it was hashed: the rules applied would be of no snap.json the snapshot holds', async () => {
    const r = await sealWith(null);
    expect(r.code).toBe('FILE_CHANGED');
    expect(await filesUnder(join(r.store, 'snapshots'))).toEqual([]);
  });

  it('seals when snap.json did not change', async () => {
    const r = await sealWith(undefined);
    expect(r.code).toBe('none');
  });
});

describe('seal --manifest-only --no-records, when snap.json changes after it was hashed', () => {
  async function sealKeeping(now: string | undefined) {
    const data = await makeTree({ 'train.csv': 'id,y\n1,a\n2,b\n', 'snap.json': RULES_A });
    const store = await newStorePath();
    [keepDir, rewriteBeforeKeep] = [data, now];
    try {
      await seal({ dir: data, as: 'race@v1', key: await readPrivateKey(keys.key), store, manifestOnly: true, recordRules: [] });
      return { code: 'none', store };
    } catch (e) {
      return { code: isSnapError(e) ? e.code : String(e), store };
    } finally {
      [keepDir, rewriteBeforeKeep] = [undefined, undefined];
    }
  }

  it('stops with FILE_CHANGED and commits nothing: the copy kept must be the snap.json signed', async () => {
    const r = await sealKeeping(RULES_B);
    expect(r.code).toBe('FILE_CHANGED');
    expect(await filesUnder(join(r.store, 'snapshots'))).toEqual([]);
  });

  it('keeps snap.json when it did not change', async () => {
    const r = await sealKeeping(undefined);
    expect(r.code).toBe('none');
    expect((await filesUnder(join(r.store, 'objects'))).length).toBe(1);
  });
});
