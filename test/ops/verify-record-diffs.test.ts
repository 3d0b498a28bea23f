/**
 * verify's `recordDiffs` option (src/ops/verify.ts): false leaves out the record diff of each
 * modified record file (no file indexed), and changes nothing else in the report — label-folder
 * flips are still named. The drill passes false, since its own record diff indexes the file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { verify } from '../../src/ops/verify.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { RecordIndexPool } from '../../src/records/index-pool.js';

const keys = useKeyPair('record-diffs');

describe('verify with recordDiffs: false', () => {
  it('indexes no record file and gives no records member, and is otherwise the same report: a flipped CSV label and a file moved between label folders', async () => {
    const rules = { records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
    const { data, store, ref } = await sealTree({ 'snap.json': JSON.stringify(rules), 'train.csv': 'id,label\n1,spam\n2,ham\n', 'mail/spam/a.txt': 'buy now', 'mail/ham/b.txt': 'hello' }, keys);
    await fsp.writeFile(join(data, 'train.csv'), 'id,label\n1,ham\n2,ham\n');
    await fsp.rename(join(data, 'mail', 'spam', 'a.txt'), join(data, 'mail', 'ham', 'a.txt'));
    const run = async (recordDiffs?: boolean) => {
      const { seconds: _s, ...rest } = await verify({ dir: data, snapshot: await resolveRef(ref, store), trusted: [await readPublicKey(keys.pub)], ...(recordDiffs === undefined ? {} : { recordDiffs }) });
      return rest;
    };
    const full = await run();
    const builds = vi.spyOn(RecordIndexPool.prototype, 'index');
    let lean: Awaited<ReturnType<typeof run>>;
    try {
      lean = await run(false);
      expect(builds).not.toHaveBeenCalled();
    } finally {
      builds.mockRestore();
    }
    const csv = (r: typeof full) => r.problems.find((p) => p.path === 'train.csv');
    expect(csv(full)?.records).toBeDefined();
    expect(csv(lean)?.records).toBeUndefined();
    expect(lean.problems.find((p) => p.path === 'mail/ham/a.txt')?.label).toEqual({ set: 'mail/*/*', key: 'mail/a.txt', from: 'spam', to: 'ham' });
    expect(lean).toEqual({ ...full, problems: full.problems.map(({ records: _r, ...p }) => p) });
  }, 60_000);
});
