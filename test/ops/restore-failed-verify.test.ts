/**
 * A restore whose final verify fails leaves nothing that could pass for a good restore: the folder
 * it made is removed, an empty folder it was given is emptied (and gets its mode back), and the
 * result says the verify failed (the CLI exits 1). The verify is made to fail by a file planted in
 * the target while restore writes (what another process of the same user could do).
 */
import { existsSync, promises as fsp, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';
import { restore } from '../../src/ops/restore.js';
import { resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('failed-verify');

async function restoreWithPlant(out: string) {
  const s = await sealTree({ 'a.txt': 'alpha\n', 'd/b.txt': 'beta\n' }, keys);
  const snapshot = await resolveRef(s.ref, s.store);
  let planted = false;
  const r = await restore({
    source: { kind: 'snapshot', snapshot, store: s.store },
    dir: out,
    trusted: [await readPublicKey(keys.pub)],
    onProgress: () => {
      if (planted) return;
      planted = true;
      writeFileSync(join(out, 'planted.txt'), 'not of the snapshot\n');
    },
  });
  expect(planted, 'the test planted no file').toBe(true);
  return r;
}

describe('restore whose final verify fails', () => {
  it('removes the folder it made and says the verify failed (an extra file)', async () => {
    const out = join(await tempDir('snap-failed-verify-'), 'out');
    const r = await restoreWithPlant(out);
    expect(r.ok).toBe(false);
    expect(r.verify.ok).toBe(false);
    expect(r.verify.problems).toEqual([expect.objectContaining({ path: 'planted.txt' })]);
    expect(existsSync(out), 'the target that failed its verify is left').toBe(false);
  });

  it('empties the empty folder it was given, and puts its mode back', async () => {
    const out = await tempDir('snap-failed-verify-');
    await fsp.chmod(out, 0o750);
    const r = await restoreWithPlant(out);
    expect(r.ok).toBe(false);
    expect(readdirSync(out)).toEqual([]);
    expect((await fsp.stat(out)).mode & 0o777).toBe(0o750);
  });
});
