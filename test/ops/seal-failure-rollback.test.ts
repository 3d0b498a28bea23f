/**
 * A seal that fails after its objects were moved into `objects/` — a record file changed before it
 * was indexed, the statement not written, SIGINT while the records are indexed — takes out the
 * objects it put there, and only those: the store's objects are as before the seal, fsck passes.
 * (The moments are reached through mocks of the record indexer and of the statement's write.)
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { seal } from '../../src/ops/seal.js';
import { interrupt } from '../../src/io/interrupt.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { isSnapError } from '../../src/core/errors.js';
import { ioError } from '../../src/io/errors.js';
import { parseRuleFlag } from '../../src/records/config.js';
import { makeTree, snapBin, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles } from '../helpers/store.js';

/** What the mocked indexer does first (then it indexes as it would). */
let beforeIndexing: ((dir: string) => Promise<void>) | undefined;

vi.mock('../../src/records/seal-records.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/records/seal-records.js')>();
  return {
    ...real,
    indexForSeal: async (o: Parameters<typeof real.indexForSeal>[0]) => {
      await beforeIndexing?.(o.dir);
      return real.indexForSeal(o);
    },
  };
});

/** When set, writing the statement fails with this errno. */
let statementFails: string | undefined;

vi.mock('../../src/io/store.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/io/store.js')>();
  return {
    ...real,
    writeFileAtomic: async (path: string, ...rest: Parameters<typeof real.writeFileAtomic> extends [string, ...infer R] ? R : never) => {
      if (statementFails && path.endsWith(real.STATEMENT_FILE)) throw ioError(Object.assign(new Error(`${statementFails}: no space left on device`), { code: statementFails }), path, 'cannot write');
      return real.writeFileAtomic(path, ...rest);
    },
  };
});

const keys = useKeyPair('rollback-lib');

/** A store holding `kept@v1` (files k1..k20), and a dataset sharing those files plus 30 of its own and a CSV record set. */
async function fixture(): Promise<{ store: string; data: string; before: string[] }> {
  const spec: Record<string, string> = {};
  for (let i = 1; i <= 20; i++) spec[`k${i}.txt`] = `kept ${i}\n`;
  const v1 = await makeTree(spec);
  const store = await newStorePath();
  const key = await readPrivateKey(keys.key);
  await seal({ dir: v1, as: 'kept@v1', key, store, jobs: 1, recordRules: [] });
  for (let i = 1; i <= 30; i++) spec[`n${i}.txt`] = `new ${i}\n`;
  spec['t.csv'] = 'id,label\n1,a\n2,b\n';
  const data = await makeTree(spec);
  return { store, data, before: (await objectFiles(store)).map((o) => o.name) };
}

/** Seal `data` as ds@v1 with a record rule for t.csv; the error it fails with. */
async function failingSeal(store: string, data: string): Promise<{ code: string; message: string }> {
  const key = await readPrivateKey(keys.key);
  const err = await seal({ dir: data, as: 'ds@v1', key, store, jobs: 2, recordRules: [parseRuleFlag('t.csv key=id label=label')] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSnapError(err), String(err)).toBe(true);
  return err as { code: string; message: string };
}

/** The store holds exactly the objects it held before, and fsck finds nothing wrong. */
async function expectAsBefore(store: string, before: string[]): Promise<void> {
  expect((await objectFiles(store)).map((o) => o.name)).toEqual(before);
  const f = await snapBin(['fsck', '--store', store]); // in a process of its own: this one may be interrupted
  expect(f.code, f.stderr).toBe(0);
  expect(await fsp.readdir(join(store, 'snapshots'))).toEqual(['kept']);
}

describe('a seal that fails after its objects were committed', () => {
  it('because a record file changed after it was hashed (FILE_CHANGED): its new objects are gone, kept@v1\'s stay', async () => {
    const { store, data, before } = await fixture();
    beforeIndexing = (dir) => fsp.writeFile(join(dir, 't.csv'), 'id,label\n1,a\n2,c\n');
    const e = await failingSeal(store, data).finally(() => (beforeIndexing = undefined));
    expect(e.code, e.message).toBe('FILE_CHANGED');
    await expectAsBefore(store, before);
  }, 60_000);

  it('because its statement could not be written (a full disk): its new objects and record indexes are gone', async () => {
    const { store, data, before } = await fixture();
    statementFails = 'ENOSPC';
    const e = await failingSeal(store, data).finally(() => (statementFails = undefined));
    expect(e.code, e.message).toBe('DISK_FULL');
    await expectAsBefore(store, before);
  }, 60_000);

  // Last: the interruption is process-wide and stays.
  it('because SIGINT came while its records were indexed (INTERRUPTED): its new objects are gone', async () => {
    const { store, data, before } = await fixture();
    beforeIndexing = () => interrupt('SIGINT');
    const e = await failingSeal(store, data);
    expect(e.code, e.message).toBe('INTERRUPTED');
    await expectAsBefore(store, before);
  }, 60_000);
});
