/**
 * fsck's re-hash of an S3 store's objects (docs/FORMAT.md §23.5) against someone who can write the
 * bucket and holds no key, on moto (started here; never skipped): keys of an object's shape planted
 * under `objects/sha256/` would each cost fsck a GET and a place in memory. Every object a snapshot
 * names is read; of the others only the first MAX_UNREFERENCED_OBJECTS_READ, and the rest are
 * counted in one stray entry, not held.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, spiedClient } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { MAX_UNREFERENCED_OBJECTS_READ, openRemoteSession } from '../../src/store/remote-session.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3fsckobjects');
const run = (args: string[]) => snapJson(args, { env: { ...server.env, NODE_NO_WARNINGS: '1' } });
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A client that records the key of every object GET. */
function countingClient(): { client: S3Client; got: string[] } {
  const got: string[] = [];
  const client = spiedClient(server, (cmd) => {
    if (cmd instanceof GetObjectCommand && (cmd.input.Key ?? '').includes('/objects/')) got.push(cmd.input.Key as string);
  });
  return { client, got };
}

describe('keys of an object\'s shape planted under objects/sha256/ (moto)', () => {
  it('fsck reads every object a snapshot names and only the first unnamed ones; the others are one stray entry counting them, and none is held', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const planted = Array.from({ length: 5 }, (_, i) => `f${i}${'0'.repeat(62)}`);
    for (const h of planted) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`, Body: 'junk' }));

    const counted = countingClient();
    const session = await openRemoteSession(new S3Backend(counted.client, { bucket, prefix: 'st/' }), { create: false, objects: 'stream', note: () => {}, unreferencedObjectsRead: 2 });
    try {
      const r = await session.checkObjects();
      const named = [sha('alpha\n'), sha('bravo\n')].sort();
      expect(counted.got.map((k) => k.split('/').slice(-2).join('')).sort()).toEqual([...named, planted[0], planted[1]].sort());
      expect(r.objects.checked).toBe(4);
      expect(r.objects.corrupt.map((o) => o.name)).toEqual([planted[0], planted[1]]);
      expect([...r.present].sort()).toEqual([...named, planted[0], planted[1]].sort());
      expect(r.strays).toContain('objects/sha256/… (3 more objects that no snapshot names, 12 bytes: not read; fsck reads the first 2 of them)');
    } finally {
      await session.finish(false);
    }
  });

  it(`fsck reads the first ${MAX_UNREFERENCED_OBJECTS_READ} objects no snapshot names: five planted are each reported corrupt, exit 1`, { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const planted = Array.from({ length: 5 }, (_, i) => `f${i}${'0'.repeat(62)}`);
    for (const h of planted) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`, Body: 'junk' }));
    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(1);
    expect(f.json.objects.corrupt.map((o: { name: string }) => o.name)).toEqual(planted);
    expect(f.json.strays).toEqual([]);
  });
});
