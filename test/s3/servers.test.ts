/**
 * The S3 servers the suite runs against start, and behave as docs/DESIGN.md and the tests assume:
 * Ceph's RADOS Gateway enforces Object Lock (a COMPLIANCE-locked object version cannot be deleted),
 * moto honours `If-None-Match: *`. A server that cannot start fails these tests (never skips).
 */
import { describe, expect, it } from 'vitest';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/s3/client.js';
import { useS3Server, type S3Server } from '../helpers/s3-server.js';

function clientFor(server: S3Server): S3Client {
  return createS3Client({ ...server.env });
}

async function errorOf(p: Promise<unknown>): Promise<{ name?: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('the request succeeded');
}

async function putAndGetInALockBucket(server: S3Server): Promise<{ client: S3Client; bucket: string; versionId: string | undefined }> {
  const client = clientFor(server);
  const bucket = `lock-${Date.now().toString(36)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: Buffer.from('hello\n') }));
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
  expect(await got.Body!.transformToString()).toBe('hello\n');
  return { client, bucket, versionId: put.VersionId };
}

describe('Ceph RADOS Gateway', () => {
  const server = useS3Server('ceph');

  it('starts on 127.0.0.1 and stores and returns an object in an Object Lock bucket', async () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { versionId } = await putAndGetInALockBucket(server);
    expect(versionId).toBeTruthy();
  });

  it('refuses to delete a COMPLIANCE-locked object version', async () => {
    const { client, bucket } = await putAndGetInALockBucket(server);
    const until = new Date(Date.now() + 3_600_000);
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: Buffer.from('keep'), ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    expect(put.VersionId).toBeTruthy();
    const refused = await errorOf(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked', VersionId: put.VersionId, BypassGovernanceRetention: true })));
    expect(refused.status).toBe(403);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'locked', VersionId: put.VersionId }));
    expect(await got.Body!.transformToString()).toBe('keep');
  });
});

describe('moto_server', () => {
  const server = useS3Server('moto');

  it('starts on 127.0.0.1 and stores and returns an object in an Object Lock bucket', async () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await putAndGetInALockBucket(server);
  });

  it('honours If-None-Match: * (a second write of a key is refused with 412)', async () => {
    const { client, bucket } = await putAndGetInALockBucket(server);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: Buffer.from('first'), IfNoneMatch: '*' }));
    const refused = await errorOf(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: Buffer.from('second'), IfNoneMatch: '*' })));
    expect(refused.status).toBe(412);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }));
    expect(await got.Body!.transformToString()).toBe('first');
  });
});
