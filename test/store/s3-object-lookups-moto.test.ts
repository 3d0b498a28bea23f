/**
 * Keys of an object's shape planted under `objects/sha256/` of an S3 store (docs/FORMAT.md §23.5)
 * by someone who can write the bucket and holds no key, on moto (started here; never skipped): a
 * command looks up the objects its snapshots name, so the planted keys cost it neither memory nor
 * a listing page each thousand. Requests are counted on a spied client.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, plantOnMoto, spiedClient } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { LOOKUPS_PER_LIST_PAGE, MAX_PRESENCE_LISTED, openRemoteSession, type ObjectNeed } from '../../src/store/remote-session.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3objectlookups');
const run = (args: string[]) => snapJson(args, { env: { ...server.env, NODE_NO_WARNINGS: '1' } });
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Keys planted: 1,200 of an object's shape, each sorted before every real object (they start with 00). */
const PLANTED = 1200;

/** PUT `n` keys of an object's shape under `st/objects/sha256/00/…` (1 byte each), a few at once, by plain HTTP (see plantOnMoto). */
async function plant(bucket: string, n: number): Promise<void> {
  const keys = Array.from({ length: n }, (_, i) => `00${i.toString(16).padStart(8, '0')}${'0'.repeat(54)}`).map((hex) => `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`);
  await plantOnMoto(server, bucket, keys, 'x');
}

/** A client that counts the listing pages of `objects/` and the HEADs of objects it sends. */
function countingClient(): { client: S3Client; pages: () => number; heads: () => number } {
  let pages = 0;
  let heads = 0;
  const client = spiedClient(server, (cmd) => {
    if (cmd instanceof ListObjectsV2Command && (cmd.input.Prefix ?? '').includes('/objects/')) pages++;
    if (cmd instanceof HeadObjectCommand && (cmd.input.Key ?? '').includes('/objects/')) heads++;
  });
  return { client, pages: () => pages, heads: () => heads };
}

describe(`${PLANTED} keys of an object's shape planted in the bucket (moto)`, () => {
  let bucket = '';
  const store = (): string => `s3://${bucket}/st`;
  const a = sha('alpha\n');
  const b = sha('bravo\n');

  /** Open a session of the store for `objects`, count its requests, and close it. */
  async function session(objects: ObjectNeed, refs: string[]) {
    const counted = countingClient();
    const s = await openRemoteSession(new S3Backend(counted.client, { bucket, prefix: 'st/' }), { create: false, objects, manifests: { refs }, note: () => {} });
    try {
      const pulled = await Promise.all([a, b].map((h) => fsp.stat(join(s.root, 'objects', 'sha256', h.slice(0, 2), h.slice(2))).then(() => h, () => undefined)));
      return { pages: counted.pages(), heads: counted.heads(), pulled: pulled.filter((h) => h !== undefined), stats: { ...s.stats } };
    } finally {
      await s.finish(false);
    }
  }

  it('are planted next to a snapshot of two objects', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    bucket = await newBucket(c, 'plain');
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store()])).code).toBe(0);
    await plant(bucket, PLANTED);
  });

  it('restore\'s session copies the snapshot\'s two objects after reading one page of the listing, and asks for those past it by a HEAD each', { timeout: 120_000 }, async () => {
    const r = await session({ refs: ['ds@v1'], objects: 'all' }, ['ds@v1']);
    expect(r.pulled.sort()).toEqual([a, b].sort());
    expect(r.stats.objectsCorrupt).toEqual([]);
    expect(r.pages).toBe(Math.ceil(2 / LOOKUPS_PER_LIST_PAGE));
    expect(r.heads).toBe(2);
  });

  it('verify\'s session, whose snapshot names no record index, lists no object and asks for none', { timeout: 120_000 }, async () => {
    const r = await session({ refs: ['ds@v1'], objects: 'record-indexes' }, ['ds@v1']);
    expect(r).toMatchObject({ pages: 0, heads: 0, pulled: [] });
  });

  it('list\'s session lists no object', { timeout: 120_000 }, async () => {
    const r = await session('none', []);
    expect(r).toMatchObject({ pages: 0, heads: 0, pulled: [] });
  });

  it('restore and verify give their verdicts as without the planted keys', { timeout: 120_000 }, async () => {
    const out = join(await tempDir(), 'out');
    const r = await run(['restore', 'ds@v1', out, '--pubkey', kp.pub, '--store', store(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await fsp.readFile(join(out, 'b.txt'), 'utf8')).toBe('bravo\n');
    const v = await run(['verify', out, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store(), '--json']);
    expect(v.code, v.stderr).toBe(0);
  });

  it('import into a bucket holding one of the archive\'s objects with other bytes of another size fails OBJECT_CORRUPT and commits nothing: the objects the snapshot names are looked up, not listed', { timeout: 180_000 }, async () => {
    const archive = join(await tempDir(), 'ds@v1.snap.tar');
    expect((await run(['export', 'ds@v1', '-o', archive, '--store', store()])).code).toBe(0);
    const c = clientFor(server);
    const other = await newBucket(c, 'plain');
    await plant(other, PLANTED);
    await c.send(new PutObjectCommand({ Bucket: other, Key: `st/objects/sha256/${b.slice(0, 2)}/${b.slice(2)}`, Body: 'not bravo at all\n' }));
    const r = await run(['import', archive, '--pubkey', kp.pub, '--store', `s3://${other}/st`]);
    expect([r.code, r.json.error?.code], r.stderr).toEqual([1, 'OBJECT_CORRUPT']);
    const commits = await c.send(new ListObjectsV2Command({ Bucket: other, Prefix: 'st/snapshots/' }));
    expect(commits.Contents ?? []).toEqual([]);
  });

  it('seal\'s session marks present only the objects its parent names, after one page of the listing: two markers, not one per key planted', { timeout: 120_000 }, async () => {
    const counted = countingClient();
    const s = await openRemoteSession(new S3Backend(counted.client, { bucket, prefix: 'st/' }), { create: false, objects: 'none', presence: true, manifests: { refs: ['ds@v1'] }, note: () => {} });
    try {
      const markers = (await fsp.readdir(join(s.root, 'objects', 'sha256'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      expect(markers.map((e) => e.name).sort()).toEqual([a.slice(2), b.slice(2)].sort());
      expect([counted.pages(), counted.heads()]).toEqual([Math.ceil(2 / LOOKUPS_PER_LIST_PAGE), 2]);
    } finally {
      await s.finish(false);
    }
  });

  /** The marker files of a seal's session without a parent (`presenceListed` given or not), and its requests. */
  async function sealSessionWithoutParent(presenceListed?: number) {
    const counted = countingClient();
    const s = await openRemoteSession(new S3Backend(counted.client, { bucket, prefix: 'st/' }), { create: false, objects: 'none', presence: true, ...(presenceListed !== undefined ? { presenceListed } : {}), manifests: { refs: [] }, note: () => {} });
    try {
      const markers = (await fsp.readdir(join(s.root, 'objects', 'sha256'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      return { markers, pages: counted.pages(), heads: counted.heads() };
    } finally {
      await s.finish(false);
    }
  }

  it('seal\'s session without a parent marks present the objects of the listing, up to its bound, and asks for none by a HEAD: a seal of files the bucket holds under another NAME stages none of them', { timeout: 120_000 }, async () => {
    expect(MAX_PRESENCE_LISTED).toBeGreaterThan(PLANTED + 2);
    const all = await sealSessionWithoutParent();
    expect(all.markers).toHaveLength(PLANTED + 2);
    expect(all.markers).toEqual(expect.arrayContaining([a.slice(2), b.slice(2)]));
    expect([all.pages, all.heads]).toEqual([2, 0]);
    // Bounded: the planted keys sort first, so a bound of 100 marks 100 of them and reads one page.
    const bounded = await sealSessionWithoutParent(100);
    expect(bounded.markers).toHaveLength(100);
    expect([bounded.pages, bounded.heads]).toEqual([1, 0]);
  });

  it('a seal counts as new only what the bucket lacks: a new file under the parent, none for the same files under a NAME without a parent', { timeout: 180_000 }, async () => {
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'c.txt': 'charlie\n' });
    const v2 = await run(['seal', ds, '--as', 'ds@v2', '--key', kp.key, '--store', store(), '--json']);
    expect([v2.code, v2.json.newObjects, v2.json.newObjectBytes], v2.stderr).toEqual([0, 1, 8]);
    const other = await run(['seal', ds, '--as', 'other@v1', '--key', kp.key, '--store', store(), '--json']);
    expect([other.code, other.json.newObjects, other.json.newObjectBytes], other.stderr).toEqual([0, 0, 0]);
    const c = sha('charlie\n');
    const head = await clientFor(server).send(new HeadObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${c.slice(0, 2)}/${c.slice(2)}` }));
    expect(head.ContentLength).toBe(8);
  });

  it('fsck\'s session lists objects/ once: each page both re-hashes the objects and collects the strays (two pages for 1,200-odd keys, not four)', { timeout: 180_000 }, async () => {
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: 'st/objects/not-an-object', Body: 'x' }));
    const counted = countingClient();
    const s = await openRemoteSession(new S3Backend(counted.client, { bucket, prefix: 'st/' }), { create: false, objects: 'stream', note: () => {} });
    try {
      const r = await s.checkObjects();
      expect(r.strays).toContain('objects/not-an-object');
      expect(r.present.has(a) && r.present.has(b)).toBe(true);
      expect(counted.pages()).toBe(2);
    } finally {
      await s.finish(false);
    }
  });

  /** A versioned bucket whose store (prefix st/) holds ds@v1 of one file, alpha: its object's digest and key. */
  async function sealedAlpha() {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const hex = sha('alpha\n');
    return { c, bucket, hex, key: `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}` };
  }

  it('the versions of an object that retention locks are its key\'s own: 1,500 keys planted that begin with its key are not listed past (one page), nor counted', async () => {
    const { c, bucket, hex, key } = await sealedAlpha();
    // Someone with write access, no key: other bytes of the same size over it, and keys beginning with it.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'omega\n' }));
    await plantOnMoto(server, bucket, Array.from({ length: 1500 }, (_, i) => `${key}.junk${String(i).padStart(4, '0')}`), 'alpha\n');
    let pages = 0;
    const remote = new S3Backend(spiedClient(server, (cmd) => {
      if (cmd instanceof ListObjectVersionsCommand) pages++;
    }), { bucket, prefix: 'st/' });
    const versions = await remote.objectVersions(hex, 6);
    expect(versions).toHaveLength(2);
    expect(pages).toBe(1);
    expect(await remote.objectVersions(hex, 7)).toEqual([]);
  });

  it('an object key with more versions than the bound (10,000; 50 here: snap writes one) is STORE_MALFORMED when its versions are listed to lock them, naming the key', async () => {
    const { bucket, hex, key } = await sealedAlpha();
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    await plantOnMoto(server, bucket, Array.from({ length: 49 }, () => key), 'alpha\n');
    expect(await remote.objectVersions(hex, 6, 50)).toHaveLength(50);
    await plantOnMoto(server, bucket, [key], 'alpha\n');
    const e = await remote.objectVersions(hex, 6, 50).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ code: 'STORE_MALFORMED', message: expect.stringContaining(`more than 50 versions of the object key ${key} are in bucket ${bucket}`) });
  });
});
