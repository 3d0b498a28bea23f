/**
 * The write lock of an S3 store (docs/FORMAT.md §23.4) against lock objects nobody's snap wrote,
 * on moto_server (started here; never skipped): a lock object is read at most MAX_LOCK_BYTES + 1
 * bytes, and a malformed one (too large, not JSON, not a JSON object) keeps the store locked, as a
 * held lock does, with a STORE_LOCKED error that names its key. A lock's age is the server's (its
 * object's LastModified against that of the new lock object), never a holder's `since`.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { clientFor, newBucket, spiedClient, watchedClient } from './s3-fixture.js';
import { MAX_LOCK_BYTES, S3Backend } from '../../src/store/s3.js';
import { SnapError } from '../../src/core/errors.js';

const server = useS3Server('moto');

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<SnapError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SnapError);
  return e as SnapError;
}


/** Whether the object `key` of `bucket` can no longer be read (a GET fails). */
async function isGone(bucket: string, key: string): Promise<boolean> {
  return clientFor(server).send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
    () => false,
    () => true,
  );
}
describe('the write lock of an S3 store (moto)', () => {
  it('a planted 70 MB lock object is read no further than MAX_LOCK_BYTES + 1 bytes and keeps the store locked: STORE_LOCKED names its key', { timeout: 120_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const key = 'st/locks/0000000000001-aaaaaaaaaaaaaaaa.json';
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(70 * 1024 * 1024, 0x20) }));
    const { client, bodyBytes } = watchedClient(server);
    const remote = new S3Backend(client, { bucket, prefix: 'st/' });
    const e = await rejection(remote.lock(1_000));
    expect(e.code).toBe('STORE_LOCKED');
    expect(e.message).toContain(key);
    expect(e.message).toContain(`larger than ${MAX_LOCK_BYTES} bytes`);
    // Every try reads the planted object again: each time at most one body chunk past the bound.
    expect(bodyBytes()).toBeLessThan(4 * 1024 * 1024);
  });

  it.each([
    ['not JSON', 'hello'],
    ['not a JSON object', 'null'],
  ])('a lock object that is %s keeps the store locked: STORE_LOCKED names its key and says why', { timeout: 60_000 }, async (why, body) => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const key = 'st/locks/0000000000001-bbbbbbbbbbbbbbbb.json';
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const e = await rejection(remote.lock(500));
    expect(e.code).toBe('STORE_LOCKED');
    expect(e.message).toContain(`${key} (${why})`);
  });

  it('a lock object of a snap that died on this host is stale: it is removed and the lock is taken', { timeout: 60_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const key = 'st/locks/0000000000001-cccccccccccccccc.json';
    // pid 2^22 + 1 is above Linux's largest pid (pid_max is at most 2^22): no process has it.
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ pid: 4_194_305, host: hostname(), since: new Date().toISOString() }) }));
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const lock = await remote.lock(500);
    await lock.release();
    expect(await isGone(bucket, key)).toBe(true);
  });

  it('a lock object from another host whose since is a year ahead keeps the store locked while fresh: STORE_LOCKED names its holder, says its since is ahead, and how to break it', { timeout: 60_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const key = 'st/locks/0000000000001-dddddddddddddddd.json';
    const ahead = new Date(Date.now() + 365 * 86_400_000).toISOString();
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ pid: 4242, host: 'build-7', since: ahead }) }));
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const e = await rejection(remote.lock(500));
    expect(e.code).toBe('STORE_LOCKED');
    expect(e.message).toContain(`pid 4242 on host "build-7", since ${ahead}`);
    expect(e.message).toMatch(/minutes ahead of this machine's clock/);
    expect(e.message).toContain(`aws s3 rm s3://${bucket}/${key}`);
  });

  it.each([
    ['whose since is a year ahead', JSON.stringify({ pid: 4242, host: 'build-7', since: new Date(Date.now() + 365 * 86_400_000).toISOString() })],
    ['that is not JSON', 'hello'],
  ])('a lock object %s, not rewritten for 16 minutes by the server\'s clock, is stale: it is removed and the lock is taken', { timeout: 60_000 }, async (_what, body) => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const key = 'st/locks/0000000000001-eeeeeeeeeeeeeeee.json';
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    // moto cannot date an object back: the listing says the planted one was written 16 minutes before the server wrote it.
    const remote = new S3Backend(backdating(clientFor(server), key, 16 * 60_000), { bucket, prefix: 'st/' });
    const lock = await remote.lock(500);
    await lock.release();
    expect(await isGone(bucket, key)).toBe(true);
  });

  it('a lock whose listing fails leaves no lock object behind: IO_ERROR, and the next command takes the lock at once', { timeout: 60_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const failing = spiedClient(server, (cmd) => {
      if (cmd instanceof ListObjectsV2Command && cmd.input.Prefix === 'st/locks/') throw new Error('connection reset');
    });
    const e = await rejection(new S3Backend(failing, { bucket, prefix: 'st/' }).lock(500));
    expect(e.code).toBe('IO_ERROR');
    const left = await clientFor(server).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/locks/' }));
    expect(left.Contents ?? []).toEqual([]);
    const lock = await new S3Backend(clientFor(server), { bucket, prefix: 'st/' }).lock(500);
    await lock.release();
  });
});

/** A client whose listings give `key` a LastModified `ms` earlier than the server's. */
function backdating(client: S3Client, key: string, ms: number): S3Client {
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
    const r = (await send(cmd)) as { Contents?: { Key?: string; LastModified?: Date }[] };
    if (cmd instanceof ListObjectsV2Command) for (const o of r.Contents ?? []) if (o.Key === key && o.LastModified) o.LastModified = new Date(o.LastModified.getTime() - ms);
    return r;
  };
  return client;
}
