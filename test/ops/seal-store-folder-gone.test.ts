/**
 * A seal whose folder of pending objects (STORE/tmp/pending-N) is taken away while it runs, by
 * someone who can write the store: the seal fails, and says the store could not be written — not
 * that a file of the dataset changed or was removed (it did not).
 */
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seal } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { isSnapError } from '../../src/core/errors.js';
import { makeTree, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

describe("a seal whose store folder of pending objects is removed while it runs (someone who can write the store)", () => {
  for (const [when, at] of [['while files are copied into it', 1], ['once every file was copied, before they are moved into objects/', 40]] as const) {
    it(`${when}: fails naming that store folder, not a dataset file nor objects/, and not as FILE_CHANGED`, async () => {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, '0')}.bin`] = Buffer.alloc(1 << 20, i);
      const data = await makeTree(files);
      const store = await newStorePath();
      const key = await readPrivateKey(keys.key);
      const pending = join(store, 'tmp', 'pending-0');
      let removed = false;
      const onProgress = (p: { files: number }) => {
        if (removed || p.files < at) return;
        removed = true;
        renameSync(pending, join(store, 'pending-0.away')); // moved out of the store's tmp, in one step
      };
      const err = await seal({ dir: data, as: 'gone@v1', key, store, jobs: 1, onProgress }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(removed).toBe(true);
      expect(isSnapError(err), String(err)).toBe(true);
      const e = err as { code: string; message: string };
      expect(e.code, e.message).not.toBe('FILE_CHANGED');
      expect(e.message).toContain(pending);
      expect(e.message).not.toContain(data);
      expect(e.message).not.toContain(join(store, 'objects'));
      expect(readdirSync(data)).toHaveLength(40); // the dataset is as it was
    }, 60_000);
  }
});
