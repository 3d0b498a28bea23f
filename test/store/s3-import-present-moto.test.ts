/**
 * `snap import` into an S3 store whose bucket already holds some of the archive's objects, on
 * moto_server (started here; never skipped): the objects the bucket holds (of another snapshot, or
 * planted by someone who can write the bucket, of the right size) are not uploaded, so they are not
 * new — the import says how many it uploaded, as into a local store — and it says that it did not
 * read those already there (an S3 store's import reads no object of the bucket, FORMAT.md §10.5).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3import-present');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });
const sha = (b: string): string => createHash('sha256').update(b).digest('hex');

/** Archives of imp@v1 (a.txt, b.txt) and imp@v2 (the same and c.txt), sealed in a local store. */
async function archives(): Promise<{ v1: string; v2: string }> {
  const work = await tempDir('snap-s3import-');
  const store = join(work, 'store');
  const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
  const ok = async (args: string[]): Promise<void> => {
    const r = await snap(args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  };
  await ok(['seal', data, '--as', 'imp@v1', '--key', kp.key, '--store', store]);
  await fsp.writeFile(join(data, 'c.txt'), 'charlie\n');
  await ok(['seal', data, '--as', 'imp@v2', '--key', kp.key, '--store', store]);
  const v1 = join(work, 'imp@v1.snap.tar');
  const v2 = join(work, 'imp@v2.snap.tar');
  await ok(['export', 'imp@v1', '--out', v1, '--store', store]);
  await ok(['export', 'imp@v2', '--out', v2, '--store', store]);
  return { v1, v2 };
}

describe('snap import into an S3 store that holds some of its objects already (moto)', () => {
  it('counts as new only the objects it uploaded: imp@v2 after imp@v1 has 1 new object (8 B), as into a local store, not 3', { timeout: 120_000 }, async () => {
    const { v1, v2 } = await archives();
    const store = `s3://${await newBucket(clientFor(server), 'plain')}/st`;
    const first = await snapJson(['import', v1, '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect([first.json.newObjects, first.json.newObjectBytes]).toEqual([2, 12]);
    const second = await snapJson(['import', v2, '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect([second.json.newObjects, second.json.newObjectBytes]).toEqual([1, 8]);
    const local = join(await tempDir('snap-s3import-local-'), 'store');
    expect((await snap(['import', v1, '--pubkey', kp.pub, '--store', local])).code).toBe(0);
    const localSecond = await snapJson(['import', v2, '--pubkey', kp.pub, '--store', local]);
    expect([localSecond.json.newObjects, localSecond.json.newObjectBytes]).toEqual([second.json.newObjects, second.json.newObjectBytes]);
  });

  it('an object planted under a member\'s name, of its size, is not counted new and is named as not read; fsck and restore then refuse it', { timeout: 120_000 }, async () => {
    const { v1 } = await archives();
    const bucket = await newBucket(clientFor(server), 'plain');
    const store = `s3://${bucket}/st`;
    const hex = sha('alpha\n');
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`, Body: 'ALPHA\n' }));
    const r = await snap(['import', v1, '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(': 1 new object (6 B)');
    expect(r.stderr).toContain('1 object of the archive (6 B) was in the bucket already, of the right size: not uploaded, and not read');
    const fsck = await snap(['fsck', '--store', store], { env: env() });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(1);
    expect(fsck.stdout).toContain(hex.slice(2));
    const restored = await snap(['restore', 'imp@v1', join(await tempDir('snap-s3import-out-'), 'out'), '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(restored.code, restored.stdout + restored.stderr).toBe(1);
    expect(restored.stderr).toContain('OBJECT_CORRUPT');
  });
});
