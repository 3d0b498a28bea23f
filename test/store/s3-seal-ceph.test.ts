/**
 * Sealing into an S3 store on Ceph (RADOS Gateway 16: Object Lock, and If-None-Match ignored in
 * versioned buckets), where versions matter: an object hidden by a delete marker is not in the
 * store, and the next seal stores it again; an unchanged seal adds no version to any object; a
 * dataset in S3 seals into an Object Lock store with its snapshot files locked.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectRetentionCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { allVersions, clientFor, newBucket } from './s3-fixture.js';

const hexOf = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const keyOf = (hex: string): string => `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`;

describe('sealing into an S3 store with Object Lock (ceph)', () => {
  const server = useS3Server('ceph');
  const kp = useKeyPair('s3ceph');
  const run = (args: string[]) => snapJson(args, { env: { ...server.env } });

  it('an unchanged seal adds no version to any object; an object hidden by a delete marker is stored again, under lock', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'locked');
    const store = `s3://${bucket}/st`;
    const big = Buffer.alloc(9 * 1024 * 1024, 3); // the hashing worker's large-file path
    const data = await makeTree({ 'big.bin': big, 'a.txt': 'alpha\n' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--retain', '1d'])).code).toBe(0);
    const again = await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store, '--retain', '1d']);
    expect([again.code, again.json.newObjects]).toEqual([0, 0]);
    const versions = await allVersions(c, bucket, 'st/objects/');
    expect(versions.map((v) => v.Key).sort()).toEqual([keyOf(hexOf('alpha\n')), keyOf(hexOf(big))].sort()); // one version each
    // A delete without a version id is allowed under Object Lock: it only adds a delete marker, and
    // the object is no longer in the store as a reader sees it.
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(hexOf('alpha\n')) }));
    expect((await run(['fsck', '--store', store])).code).toBe(1);
    const third = await run(['seal', data, '--as', 'ds@v3', '--key', kp.key, '--store', store, '--retain', '1d']);
    expect([third.code, third.json.newObjects]).toEqual([0, 1]);
    expect((await run(['fsck', '--store', store])).code).toBe(0);
    const ret = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: keyOf(hexOf('alpha\n')) }));
    expect(ret.Retention?.Mode).toBe('COMPLIANCE');
  }, 240_000);

  it('a dataset in a versioned bucket seals into the Object Lock store: its snapshot is locked, verify and diff pass, and an overwritten object is caught', async () => {
    const c = clientFor(server);
    const dataBucket = await newBucket(c, 'versioned');
    for (const [k, v] of Object.entries({ 'a.txt': 'alpha\n', 'skip/x.tmp': 'x\n' })) await c.send(new PutObjectCommand({ Bucket: dataBucket, Key: `data/${k}`, Body: v }));
    const url = `s3://${dataBucket}/data/`;
    const bucket = await newBucket(c, 'locked');
    const store = `s3://${bucket}/st`;
    const s = await run(['seal', url, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--exclude', 'skip/', '--retain', '1d']);
    expect([s.code, s.json.files]).toEqual([0, 1]);
    const commit = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'st/snapshots/ds/v1/commit.json' }));
    expect(commit.Retention?.Mode).toBe('COMPLIANCE');
    expect((await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store])).code).toBe(0);
    expect((await run(['diff', 'ds@v1', url, '--store', store])).code).toBe(0);
    await c.send(new PutObjectCommand({ Bucket: dataBucket, Key: 'data/a.txt', Body: 'ALPHA\n' })); // a new version
    const v = await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([v.code, v.json.problems.map((p: { kind: string; path: string }) => `${p.kind} ${p.path}`)]).toEqual([1, ['modified a.txt']]);
  }, 240_000);
});
