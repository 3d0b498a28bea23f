/**
 * A revocation file of an S3 store deleted or written over by someone who can write the bucket and
 * holds no key (docs/FORMAT.md §15, §23.5), on moto_server (started here; never skipped). In a
 * versioned bucket (every Object Lock bucket is) a plain DELETE only adds a delete marker: the
 * revocation's version stays, and is read, so the revoked snapshot stays refused — also on a
 * machine that never saw the revocation (a new state folder) — and the command says what happened
 * to the file.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const producer = useKeyPair('revtamper-producer');

/** The keys under `prefix`. */
async function keysUnder(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
}

describe('a revocation file of an S3 store deleted or written over (moto)', () => {
  it('in a versioned bucket, a revocation hidden by a delete marker, or written over, still refuses the snapshot on a machine that never saw it (its first version is read), and the command says so', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const dir = await tempDir('snap-revocation-tamper-');
    const run = (args: string[], state: string) => snap(args, { env: { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, state) } });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', store], 'producer')).code).toBe(0);
    expect((await run(['revoke', 'ds@v1', '--key', producer.key, '--reason', 'labels poisoned', '--store', store], 'producer')).code).toBe(0);
    const [file] = await keysUnder(c, bucket, 'st/revocations/');
    expect(file).toBeDefined();
    const verify = (state: string) => run(['verify', data, '--against', 'ds@v1', '--pubkey', producer.pub, '--store', store], state);

    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: file }));
    expect(await keysUnder(c, bucket, 'st/revocations/')).toEqual([]);
    const gone = await verify('first-machine');
    expect(gone.code, gone.stdout + gone.stderr).toBe(1);
    expect(gone.stdout).toContain('the snapshot was revoked');
    expect(gone.stdout).toContain('labels poisoned');
    expect(gone.stderr).toContain(`revocation file ${(file as string).slice('st/'.length)} was deleted in the bucket after it was written: its first version is read`);

    await c.send(new PutObjectCommand({ Bucket: bucket, Key: file, Body: '{}\n' }));
    const over = await verify('second-machine');
    expect(over.code, over.stdout + over.stderr).toBe(1);
    expect(over.stdout).toContain('the snapshot was revoked');
    expect(over.stderr).toContain(`revocation file ${(file as string).slice('st/'.length)} was written over in the bucket after it was written: its first version is read`);
  });
});
