/**
 * Sealing into an S3 store (moto): whether an object is there is answered by the bucket, not by
 * the command's working copy; an object the bucket lacks is stored again even when a parent
 * snapshot names it; an object in the bucket that cannot be what its name says is never reused.
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapBin, snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { Readable } from 'node:stream';
import { allVersions, clientFor, newBucket } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { openRemoteSession } from '../../src/store/remote-session.js';
import { seal } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

const hexOf = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const keyOf = (hex: string): string => `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`;
/** Larger than the hashing worker's whole-file limit (8 MiB): the large-file path. */
const large = (): Buffer => {
  const b = Buffer.alloc(9 * 1024 * 1024);
  for (let i = 0; i < b.length; i += 4096) b[i] = (i >> 12) % 251;
  return b;
};

/**
 * One moto_server for the whole file (a start costs seconds under load): every test makes buckets
 * of its own (newBucket), so none sees another's keys.
 */
const server = useS3Server('moto');

describe('sealing into an S3 store (moto)', () => {
  const kp = useKeyPair('s3seal');
  const run = (args: string[]) => snapJson(args, { env: { ...server.env } });

  it('an unchanged second seal counts no new object, not even a large file, and uploads nothing', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'big.bin': large(), 'a.txt': 'alpha\n' });
    const first = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]);
    expect([first.code, first.json.newObjects]).toEqual([0, 2]);
    const second = await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store]);
    expect([second.code, second.json.newObjects, second.json.newObjectBytes]).toEqual([0, 0, 0]);
    const objects = await allVersions(c, bucket, 'st/objects/');
    expect(objects.map((v) => v.Key).sort()).toEqual([keyOf(hexOf('alpha\n')), keyOf(hexOf(large()))].sort());
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 120_000);

  it("flushes nothing of its working copy, where each object is uploaded and then dropped: a large file's copy starts no early write-back (as a local store's does)", async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const data = await makeTree({ 'big.bin': large() });
    const work = await tempDir();
    const preload = join(import.meta.dirname, '..', 'helpers', 'record-flushes.cjs');
    const env = { ...server.env, NODE_OPTIONS: `--require ${preload}`, SNAP_TEST_FLUSH_LOG: join(work, 'flush.log') };
    const r = await snapBin(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', `s3://${bucket}/st`, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).newObjects).toBe(1);
    const log = await fsp.readFile(join(work, 'flush.log'), 'utf8');
    expect(log).toMatch(/^(fsync|rename|link) /m); // the recording ran (the working copy's own files)
    expect(log).not.toContain('fdatasync-start');
  }, 120_000);

  it('an unchanged second seal with a record set takes its parent\'s record index objects as present: none is named mended, no note, nothing uploaded', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'train.csv': 'id,y\n1,a\n2,b\n' });
    const rule = ['--records', 'train.csv key=id label=y'];
    const first = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, ...rule]);
    expect([first.code, first.json.mendedObjects]).toEqual([0, []]);
    const before = (await allVersions(c, bucket, 'st/objects/')).length;
    // The parent's index and summary are empty markers in the second seal's working copy.
    const second = await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store, ...rule]);
    expect([second.code, second.json.newObjects, second.json.mendedObjects]).toEqual([0, 0, []]);
    expect(second.stderr).not.toMatch(/replaced/);
    expect((await allVersions(c, bucket, 'st/objects/')).length).toBe(before);
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 120_000);

  it("a seal into a bucket with a default retention rule stores every object and file, each locked by the rule (their PUTs name their checksum's algorithm, which S3 requires under Object Lock), and verify passes", async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'locked');
    await c.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'big.bin': large(), 'a.txt': 'alpha\n', 'train.csv': 'id,y\n1,a\n2,b\n' });
    const sealed = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--records', 'train.csv key=id label=y']);
    expect(sealed.code, sealed.stderr).toBe(0);
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(hexOf(large())) }));
    expect(head.ObjectLockMode).toBe('GOVERNANCE');
    const verified = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([verified.code, verified.json.ok]).toEqual([0, true]);
    const log = await run(['log', '--store', store]);
    expect(log.code, log.stderr).toBe(0);
  }, 120_000);

  it('an object deleted from the bucket is stored again by the next seal, although the parent names it (small and large files)', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'big.bin': large(), 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    for (const h of [hexOf('alpha\n'), hexOf(large())]) await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(h) }));
    expect((await run(['fsck', '--store', store])).code).toBe(1);
    const again = await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store]);
    expect([again.code, again.json.newObjects, again.json.newObjectBytes]).toEqual([0, 2, 6 + large().length]);
    expect((await allVersions(c, bucket, 'st/objects/')).map((v) => v.Key).sort()).toEqual([hexOf('alpha\n'), hexOf('bravo\n'), hexOf(large())].map(keyOf).sort());
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 120_000);

  it('an object planted in the bucket under a digest with other bytes of another size is not reused: the seal fails OBJECT_CORRUPT and commits nothing', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    // Someone with write access to the bucket, but no key, plants the object before the seal.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(hexOf('alpha\n')), Body: 'not alpha at all\n' }));
    const r = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]);
    expect([r.code, r.json.error?.code]).toEqual([1, 'OBJECT_CORRUPT']);
    expect((await allVersions(c, bucket, 'st/snapshots/')).filter((v) => v.Key?.endsWith('commit.json'))).toHaveLength(0);
  }, 120_000);

  it('a seal uploads its objects as it goes, in batches, and its working copy holds none of their bytes at the end; the push then uploads nothing more', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const spec: Record<string, Buffer> = { 'big.bin': large() };
    // More than the batches in flight at once (2 workers × 4 batches of about 4 MiB).
    for (let i = 0; i < 48; i++) spec[`part-${String(i).padStart(2, '0')}.bin`] = Buffer.alloc(1024 * 1024, i + 1);
    const data = await makeTree(spec);
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const session = await openRemoteSession(remote, { create: true, objects: 'none', presence: true, stageBytes: 1024 * 1024, note: () => {} });
    let staged = 0;
    try {
      const r = await seal({ dir: data, as: 'ds@v1', key: await readPrivateKey(kp.key), store: session.root, jobs: 2 });
      expect([r.newObjects, r.newObjectBytes]).toEqual([49, 48 * 1024 * 1024 + large().length]);
      for (const d of await fsp.readdir(join(session.root, 'objects', 'sha256'))) {
        for (const f of await fsp.readdir(join(session.root, 'objects', 'sha256', d))) staged += (await fsp.stat(join(session.root, 'objects', 'sha256', d, f))).size;
      }
      expect([session.stats.objectsUploaded, staged]).toEqual([49, 0]); // all up before the seal returned
      expect(session.stats.handOvers).toBeGreaterThanOrEqual(2);
      expect(session.stats.largestHandOver).toBeLessThan(r.newObjectBytes);
    } finally {
      await session.finish(true);
    }
    expect(session.stats.objectsUploaded).toBe(49); // the push found nothing more to upload
    const objects = await allVersions(c, bucket, 'st/objects/');
    expect(new Set(objects.map((v) => v.Key)).size).toBe(49);
    expect(objects.every((v) => (v.Size ?? 0) > 0)).toBe(true); // no marker ever went up
    expect((await run(['fsck', '--store', `s3://${bucket}/st`])).code).toBe(0);
  }, 120_000);

  it('a seal killed while it uploads batch after batch leaves no snapshot, and its rerun uploads no object twice', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 300; i++) spec[`f${String(i).padStart(3, '0')}.bin`] = Buffer.alloc(16 * 1024, i % 256).fill(i >> 8, 0, 1);
    const data = await makeTree(spec);
    const env = { ...server.env, SNAP_S3_STAGE_BYTES: String(64 * 1024) };
    const { child, done } = spawnSnap(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--jobs', '1'], { env, timeoutMs: 120_000 });
    for (let t = 0; t < 1200; t++) {
      if ((await allVersions(c, bucket, 'st/objects/')).length >= 20) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const before = (await allVersions(c, bucket, 'st/objects/')).length;
    expect(before).toBeGreaterThan(0);
    expect((await allVersions(c, bucket, 'st/snapshots/')).filter((v) => v.Key?.endsWith('commit.json'))).toHaveLength(0);
    const again = await snapJson(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store], { env });
    expect(again.code).toBe(0);
    // What was up is not counted new nor uploaded again: its upload's HEAD finds it (an upload the
    // kill cut short may have landed since: at most 8).
    expect(again.json.newObjects).toBeLessThanOrEqual(300 - before);
    expect(again.json.newObjects).toBeGreaterThanOrEqual(300 - before - 8);
    const versions = await allVersions(c, bucket, 'st/objects/');
    expect([versions.length, new Set(versions.map((v) => v.Key)).size]).toEqual([300, 300]);
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 180_000);

  it('an object whose staged copy does not hash to its name is not uploaded (OBJECT_CORRUPT)', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const session = await openRemoteSession(new S3Backend(clientFor(server), { bucket, prefix: 'st/' }), { create: true, objects: 'none', presence: true, note: () => {} });
    const hex = hexOf('alpha\n');
    await fsp.mkdir(join(session.root, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
    await fsp.writeFile(join(session.root, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), 'ALPHA\n'); // changed after it was staged
    await expect(session.finish(true)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(await allVersions(c, bucket, 'st/objects/')).toHaveLength(0);
  }, 60_000);

  it('putObject refuses an object already in the bucket under that name with another size (OBJECT_CORRUPT), and takes one of the same size as present', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const b = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    await b.open(true);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(hexOf('alpha\n')), Body: 'planted, longer\n' }));
    await expect(b.putObject(hexOf('alpha\n'), () => Readable.from(['alpha\n']), 6)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(await b.putObject(hexOf('bravo\n'), () => Readable.from(['bravo\n']), 6)).toBe('stored');
    expect(await b.putObject(hexOf('bravo\n'), () => Readable.from(['bravo\n']), 6)).toBe('present');
    expect(b.counters).toEqual({ objectPuts: 1, objectsPresent: 1 });
  }, 60_000);
});

describe('datasets in S3 (moto): --exclude, diff, and sealing into an S3 store', () => {
  const kp = useKeyPair('s3data');
  const env = () => ({ ...server.env });
  const run = (args: string[]) => snapJson(args, { env: env() });
  const FILES: Record<string, string> = { 'a.txt': 'alpha\n', 'run.log': 'noise\n', 'keep.log': 'kept\n', 'tmp/x.bin': 'scratch\n', 'tmp/deep/y.bin': 'scratch 2\n', 'sub/tmp.txt': 'not a folder named tmp\n' };
  const EXCLUDES = ['--exclude', 'tmp/', '--exclude', '*.log', '--exclude', '!keep.log'];
  async function dataset(files: Record<string, string> = FILES): Promise<{ bucket: string; url: string }> {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    for (const [k, v] of Object.entries(files)) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `data/${k}`, Body: v }));
    return { bucket, url: `s3://${bucket}/data/` };
  }

  it('--exclude leaves keys out of a dataset in S3 as it leaves files out of a folder: same manifest, recorded in the statement, honoured by verify', async () => {
    const { bucket, url } = await dataset();
    const store = join(await tempDir('snap-x-'), 'store');
    const fromS3 = await run(['seal', url, '--as', 'ds@v1', '--key', kp.key, '--store', store, ...EXCLUDES]);
    expect([fromS3.code, fromS3.json.files]).toEqual([0, 3]); // a.txt, keep.log, sub/tmp.txt
    const fromFolder = await run(['seal', await makeTree(FILES), '--as', 'dsf@v1', '--key', kp.key, '--store', store, ...EXCLUDES]);
    expect(fromS3.json.merkleRoot).toBe(fromFolder.json.merkleRoot);
    const statement = JSON.parse(await fsp.readFile(join(store, 'snapshots', 'ds', 'v1', 'statement.json'), 'utf8'));
    expect(statement.predicate.excludes).toEqual(['tmp/', '*.log', '!keep.log']);
    // A new key that the signed excludes leave out changes nothing; one they keep is extra.
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: 'data/tmp/new.bin', Body: 'x' }));
    const v = await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([v.code, v.json.counts.matched]).toEqual([0, 3]);
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: 'data/new.txt', Body: 'x' }));
    const v2 = await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([v2.code, v2.json.problems.map((p: { path: string; kind: string }) => `${p.kind} ${p.path}`)]).toEqual([1, ['extra new.txt']]);
  }, 120_000);

  it('a signed exclude does not hide a key with a "..", "." or empty segment: a download lands it on another path (tmp/../labels.csv is labels.csv), so verify fails (exit 1) and seal refuses it (exit 3)', async () => {
    const { bucket, url } = await dataset({ 'labels.csv': 'id,label\n1,ham\n', 'tmp/x.bin': 'scratch\n' });
    const store = join(await tempDir('snap-xa-'), 'store');
    expect((await run(['seal', url, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--exclude', 'tmp/', '--exclude', '*.bin'])).code).toBe(0);
    // `aws s3 sync` and a boto3 job joining the key to a folder both write this object to labels.csv.
    const c = clientFor(server);
    const aliases = ['tmp/../labels.csv', 'tmp/../new\u0001.csv', 'tmp/./x.bin', 'tmp//x.bin', '/labels.bin'];
    for (const k of aliases) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `data/${k}`, Body: 'id,label\n1,spam\n' }));
    const v = await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.json.problems.map((p: { kind: string; path: string }) => `${p.kind} ${p.path}`).sort()).toEqual(aliases.map((k) => `extra ${k}`).sort());
    const s = await run(['seal', url, '--as', 'ds@v2', '--key', kp.key, '--store', store, '--exclude', 'tmp/', '--exclude', '*.bin']);
    expect(s.code, s.stderr).toBe(3);
    expect(s.json.error.details.keys.map((k: { key: string }) => k.key).sort()).toEqual(aliases.map((k) => `data/${k}`).sort());
    const d = await run(['diff', 'ds@v1', url, '--store', store]);
    expect([d.code, d.json.extra.map((e: { path: string }) => e.path).sort()]).toEqual([1, [...aliases].sort()]);
  }, 120_000);

  it('diff compares a snapshot with a dataset in S3: identical (exit 0), then added, modified and a key no manifest can hold (exit 1)', async () => {
    const { bucket, url } = await dataset({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    const store = join(await tempDir('snap-d-'), 'store');
    expect((await run(['seal', url, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const same = await run(['diff', 'ds@v1', url, '--store', store]);
    expect([same.code, same.json.summary.unchanged, same.json.b]).toEqual([0, 2, { folder: url }]);
    const c = clientFor(server);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/b.txt', Body: 'BRAVO\n' }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/c.txt', Body: 'charlie\n' }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'data/bad\u0001name', Body: 'x' }));
    const d = await run(['diff', 'ds@v1', url, '--store', store]);
    expect([d.code, d.json.added.map((e: { path: string }) => e.path), d.json.modified.map((e: { path: string }) => e.path), d.json.extra.map((e: { side: string; code: string }) => `${e.side} ${e.code}`)]).toEqual([1, ['c.txt'], ['b.txt'], ['b PATH_CONTROL_CHAR']]);
    // The other way round, and against a folder copy: the same answers.
    const back = await run(['diff', url, 'ds@v1', '--store', store]);
    expect([back.code, back.json.removed.map((e: { path: string }) => e.path)]).toEqual([1, ['c.txt']]);
  }, 120_000);

  it('a dataset in S3 seals into an S3 store, and verifies and diffs against it there', async () => {
    const { url } = await dataset({ 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n' });
    const storeBucket = await newBucket(clientFor(server), 'versioned');
    const store = `s3://${storeBucket}/st`;
    const s = await run(['seal', url, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--exclude', 'b/']);
    expect([s.code, s.json.files]).toEqual([0, 1]);
    const v = await run(['verify', url, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([v.code, v.json.counts.matched]).toEqual([0, 1]);
    const d = await run(['diff', 'ds@v1', url, '--store', store]);
    expect(d.code).toBe(0);
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 120_000);
});

describe('the AWS SDK notice that its 2027 releases need Node 22 (moto)', () => {
  const kp = useKeyPair('s3notice');

  it('is switched off by the SDK\'s documented variable, not by hiding warnings: stderr stays empty, and a user who sets the variable to false sees it', async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    // Subprocesses: the SDK warns at most once per process, and reads the variable from process.env.
    const unset = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined, NODE_NO_WARNINGS: undefined };
    expect((await snapJson(['init', '--store', `s3://${bucket}/st`], { env: server.env })).code).toBe(0); // so that seal says nothing about making one
    const quiet = await spawnSnap(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', `s3://${bucket}/st`, '--json'], { env: { ...server.env, ...unset }, timeoutMs: 60_000 }).done;
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    const loud = await spawnSnap(['list', '--store', `s3://${bucket}/st`, '--json'], { env: { ...server.env, ...unset, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' }, timeoutMs: 60_000 }).done;
    expect(loud.code).toBe(0);
    // On Node < 22 the SDK warns (a process warning, as any other: nothing else is hidden).
    if (Number(process.versions.node.split('.')[0]) < 22) expect(loud.stderr).toContain('NodeVersionSupportWarning');
  }, 60_000);

  it('leaves stderr empty when a dataset of 300 small objects in S3 is sealed and verified: no MaxListenersExceededWarning from the reads in flight', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    for (let i = 0; i < 300; i++) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `data/f${String(i).padStart(3, '0')}.txt`, Body: `file ${i}\n`.repeat(50) }));
    const store = join(await tempDir('snap-mlw-'), 'store');
    expect((await snapJson(['init', '--store', store])).code).toBe(0); // so that seal says nothing about making one
    const env = { ...server.env, NODE_NO_WARNINGS: undefined };
    const sealed = await spawnSnap(['seal', `s3://${bucket}/data`, '--as', 'many@v1', '--key', kp.key, '--store', store, '--quiet'], { env, timeoutMs: 60_000 }).done;
    expect([sealed.code, sealed.stderr]).toEqual([0, '']);
    const verified = await spawnSnap(['verify', `s3://${bucket}/data`, '--against', 'many@v1', '--pubkey', kp.pub, '--store', store, '--quiet'], { env, timeoutMs: 60_000 }).done;
    expect([verified.code, verified.stderr]).toEqual([0, '']);
  }, 120_000);

  it('an object of another size written under the name between the HEAD that found none and the PUT (If-None-Match: 412) is refused, OBJECT_CORRUPT, not counted as there', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const bytes = Buffer.from('alpha\n');
    const hex = hexOf(bytes);
    // Someone who can write the bucket wins the race: their object lands just before our PUT.
    const racing = clientFor(server);
    const send = racing.send.bind(racing) as (cmd: unknown) => Promise<unknown>;
    (racing as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
      if (cmd instanceof PutObjectCommand && cmd.input.Key === keyOf(hex)) await c.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(hex), Body: 'a planted object, longer\n' }));
      return send(cmd);
    };
    const backend = new S3Backend(racing, { bucket, prefix: 'st/' });
    await backend.open(true);
    await expect(backend.putObject(hex, () => Readable.from([bytes]), bytes.length)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(backend.counters.objectsPresent).toBe(0);
  });
});

describe('sealing into a local store whose parent snapshot lost an object', () => {
  const kp = useKeyPair('localseal');

  it('stores the missing object again (small and large files), and fsck passes after', async () => {
    const store = join(await tempDir('snap-ls-'), 'store');
    const data = await makeTree({ 'big.bin': large(), 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    for (const h of [hexOf('alpha\n'), hexOf(large())]) await fsp.rm(join(store, 'objects', 'sha256', h.slice(0, 2), h.slice(2)));
    expect((await snapJson(['fsck', '--store', store])).code).toBe(1);
    const again = await snapJson(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store]);
    expect([again.code, again.json.newObjects, again.json.newObjectBytes]).toEqual([0, 2, 6 + large().length]);
    expect((await snapJson(['fsck', '--store', store])).code).toBe(0);
  }, 120_000);
});
