/**
 * Datasets in S3 (issue 13 item 4): `seal s3://BUCKET/PREFIX` and `verify s3://BUCKET/PREFIX`,
 * against moto_server and against Ceph's RADOS Gateway. Objects are hashed by snap as they stream
 * (never their ETags), in key order, with ranged reads; a dataset sealed from S3 has the same
 * Merkle root as the same files sealed from a folder.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, uniqueName } from '../helpers/store.js';
import { useS3ServersAtOnce, type S3Server, type S3ServerKind } from '../helpers/s3-server.js';
import { createS3Client } from '../../src/s3/client.js';
import { unsafeIn } from '../helpers/terminal.js';
import { listObjects, ObjectReader, type ListedObject, type ReadResult } from '../../src/s3/read-objects.js';

const keys = useKeyPair();
/** Both servers start at once: Ceph's start overlaps moto's tests (see useS3ServersAtOnce). */
const servers = useS3ServersAtOnce(['moto', 'ceph']);

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A 3 MiB object of varied bytes: several ranged reads at a 1 MiB part size. */
const BIG = Buffer.from(Array.from({ length: 3 * (1 << 20) + 17 }, (_, i) => (i * 7919) % 251));
const FILES: Record<string, string | Buffer> = {
  'a.txt': 'alpha\n',
  'b/c.txt': 'gamma\n',
  'b/é ü.txt': 'accents\n',
  'big.bin': BIG,
  'empty': '',
  'z/deep/er.csv': 'id,y\n1,spam\n',
};

let bucketCounter = 0;
async function newBucket(client: S3Client): Promise<string> {
  const bucket = `ds-${Date.now().toString(36)}-${bucketCounter++}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function upload(client: S3Client, bucket: string, prefix: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, body] of Object.entries(files)) await client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + path, Body: Buffer.from(body) }));
}

function datasetTests(kind: S3ServerKind): void {
  describe(`a dataset in S3 on ${kind}`, () => {
    const server: S3Server = servers.use(kind);
    // Small parts, so that the 3 MiB object is read in several ranges.
    const env = () => ({ ...server.env, SNAP_S3_PART_BYTES: String(1 << 20) });

    async function sealedBucket(files = FILES, prefix = 'data/train/'): Promise<{ client: S3Client; bucket: string; url: string; store: string; ref: string; snapshot: string; merkleRoot: string }> {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, prefix, files);
      // A neighbour that shares the prefix's first characters is not part of the dataset.
      await upload(client, bucket, 'data/training/', { 'other.txt': 'not in the dataset' });
      const url = `s3://${bucket}/${prefix}`;
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', url, '--as', ref, '--key', keys.key, '--store', store], { env: env() });
      expect(s.code, s.stderr).toBe(0);
      return { client, bucket, url, store, ref, snapshot: s.json.snapshot, merkleRoot: s.json.merkleRoot };
    }

    it('seals from S3, and verify of the same prefix passes', async () => {
      const { url, store, ref, snapshot } = await sealedBucket();
      const v = await snapJson(['verify', url, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code, v.stderr).toBe(0);
      expect(v.json).toMatchObject({ ok: true, snapshot, counts: { matched: 6, modified: 0, missing: 0, extra: 0 }, problems: [] });
      expect(v.json.bytes).toBe(BIG.length + 6 + 6 + 8 + 12);
    });

    it('gives the same Merkle root as sealing the same files from a folder, and the folder verifies against the S3 seal', async () => {
      const { store, ref, merkleRoot } = await sealedBucket();
      const dir = await makeTree(FILES);
      const local = await snapJson(['seal', dir, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', await newStorePath(), '--manifest-only']);
      expect(local.code, local.stderr).toBe(0);
      expect(local.json.merkleRoot).toBe(merkleRoot);
      const v = await snapJson(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', store]);
      expect(v.code, v.stderr).toBe(0);
    });

    it('reads an object where a link was signed (a folder sealed with one): type-changed with its bytes, and the label flip onto it named as diff names it', async () => {
      const dir = await makeTree({ 'mail/ham/1.txt': 'win money\n', 'mail/spam/s.txt': 'other\n', 'mail/spam/1.txt': { symlink: 'anything' } });
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', dir, '--as', ref, '--key', keys.key, '--store', store, '--manifest-only', '--records', 'mail/*/* format=files label-segment=1']);
      expect(s.code, s.stderr).toBe(0);
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      // The file moved over the link: mail/ham/1.txt is gone, its bytes at mail/spam/1.txt.
      await upload(client, bucket, 'ds/', { 'mail/spam/s.txt': 'other\n', 'mail/spam/1.txt': 'win money\n' });
      const v = await snapJson(['verify', `s3://${bucket}/ds/`, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code, v.stderr).toBe(1);
      const label = { set: 'mail/*/*', key: 'mail/1.txt', from: 'ham', to: 'spam' };
      expect(v.json.problems).toEqual([
        { path: 'mail/ham/1.txt', kind: 'missing', expected: { sha256: sha256Hex('win money\n'), size: 10 }, label },
        { path: 'mail/spam/1.txt', kind: 'type-changed', expected: { target: 'anything', type: 'symlink' }, actual: { type: 'file', sha256: sha256Hex('win money\n'), size: 10 }, label },
      ]);
    });

    it('fails verify (exit 1) naming a modified, an added and a removed object', async () => {
      const { client, bucket, url, store, ref } = await sealedBucket();
      await upload(client, bucket, 'data/train/', { 'b/c.txt': 'GAMMA\n', 'new.txt': 'added\n' });
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/train/a.txt' }));
      const v = await snapJson(['verify', url, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code).toBe(1);
      expect(v.json.ok).toBe(false);
      expect(v.json.counts).toMatchObject({ matched: 4, modified: 1, missing: 1, extra: 1 });
      expect(v.json.problems.map((p: { path: string; kind: string }) => `${p.kind} ${p.path}`)).toEqual(['missing a.txt', 'modified b/c.txt', 'extra new.txt']);
      const human = await snap(['verify', url, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(human.code).toBe(1);
      expect(human.stdout).toContain('b/c.txt');
    });

    it('catches a change inside a large object (one byte of the third range)', async () => {
      const { client, bucket, url, store, ref } = await sealedBucket();
      const changed = Buffer.from(BIG);
      const at = 2 * (1 << 20) + 5;
      changed.writeUInt8(changed.readUInt8(at) ^ 1, at);
      await upload(client, bucket, 'data/train/', { 'big.bin': changed });
      const v = await snapJson(['verify', url, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code).toBe(1);
      expect(v.json.problems).toEqual([expect.objectContaining({ path: 'big.bin', kind: 'modified' })]);
    });

    it('names the moves and label flips of a label-folder dataset as a folder\'s verify names them', async () => {
      // Sealed from a folder with a label-folder set; the changed files are in S3 and in a folder.
      const before = { 'mail/ham/1.txt': 'same\n', 'mail/ham/2.txt': 'same\n', 'mail/ham/3.txt': 'three\n', 'mail/ham/4.txt': 'four\n', 'mail/ham/5.txt': 'five\n', 'mail/spam/s.txt': 'other\n', 'mail/eggs/e.txt': 'third\n' };
      const sealed = await makeTree(before);
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', sealed, '--as', ref, '--key', keys.key, '--store', store, '--records', 'mail/*/* format=files label-segment=1']);
      expect(s.code, s.stderr).toBe(0);
      // Two files of one content moved to two label folders; one moved and edited; one moved with a decoy left in its place.
      const after = { 'mail/spam/1.txt': 'same\n', 'mail/eggs/2.txt': 'same\n', 'mail/spam/3.txt': 'three, edited\n', 'mail/ham/4.txt': 'a decoy\n', 'mail/spam/4.txt': 'four\n', 'mail/ham/5.txt': 'five\n', 'mail/spam/s.txt': 'other\n', 'mail/eggs/e.txt': 'third\n' };
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, 'mail-data/', after);
      const dir = await makeTree(after);

      const flip = (n: string, to: string, extra: Record<string, unknown> = {}) => ({ set: 'mail/*/*', key: `mail/${n}.txt`, from: 'ham', to, ...extra });
      const named = (ps: { kind: string; path: string; movedFrom?: string; movedTo?: string; label?: unknown }[]) => ps.map((p) => [p.kind, p.path, p.movedFrom ?? p.movedTo, p.label]);
      const expected = [
        ['extra', 'mail/eggs/2.txt', 'mail/ham/2.txt', flip('2', 'eggs')],
        ['missing', 'mail/ham/1.txt', 'mail/spam/1.txt', flip('1', 'spam')],
        ['missing', 'mail/ham/2.txt', 'mail/eggs/2.txt', flip('2', 'eggs')],
        ['missing', 'mail/ham/3.txt', undefined, flip('3', 'spam', { contentChanged: true })],
        ['modified', 'mail/ham/4.txt', undefined, undefined],
        ['extra', 'mail/spam/1.txt', 'mail/ham/1.txt', flip('1', 'spam')],
        ['extra', 'mail/spam/3.txt', undefined, flip('3', 'spam', { contentChanged: true })],
        ['extra', 'mail/spam/4.txt', undefined, flip('4', 'spam')],
      ];
      const local = await snapJson(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', store]);
      expect(named(local.json.problems)).toEqual(expected);
      const v = await snapJson(['verify', `s3://${bucket}/mail-data/`, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code).toBe(1);
      expect(named(v.json.problems)).toEqual(expected);
      const human = await snap(['verify', `s3://${bucket}/mail-data/`, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(human.stdout).toContain('label flipped: mail/1.txt: ham → spam');
      expect(human.stdout).toContain('label changed: mail/3.txt: ham → spam (and its bytes)');

      // The same snapshot in an S3 store: the folder and the S3 dataset are named alike against it.
      const s3store = `s3://${bucket}/store`;
      const s2 = await snapJson(['seal', sealed, '--as', ref, '--key', keys.key, '--store', s3store, '--records', 'mail/*/* format=files label-segment=1'], { env: env() });
      expect(s2.code, s2.stderr).toBe(0);
      for (const target of [dir, `s3://${bucket}/mail-data/`]) {
        const w = await snapJson(['verify', target, '--against', ref, '--pubkey', keys.pub, '--store', s3store], { env: env() });
        expect(w.code, w.stderr).toBe(1);
        expect(named(w.json.problems), target).toEqual(expected);
      }
    });

    it("names a table in a label folder moved to another label folder as moved, no label flip, as a folder's verify names it", async () => {
      // mail/*/*.csv are tables (their rule first), the rest of mail/*/* label-folder samples (§19.1).
      const rules = ['--records', 'mail/*/*.csv key=id', '--records', 'mail/*/* format=files label-segment=1'];
      const sealed = await makeTree({ 'mail/ham/t.csv': 'id,text\n1,hello\n', 'mail/ham/1.txt': 'one\n', 'mail/spam/s.txt': 'other\n' });
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', sealed, '--as', ref, '--key', keys.key, '--store', store, ...rules]);
      expect(s.code, s.stderr).toBe(0);
      const after = { 'mail/spam/t.csv': 'id,text\n1,hello\n', 'mail/spam/1.txt': 'one\n', 'mail/spam/s.txt': 'other\n' };
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, 'mail-data/', after);
      const dir = await makeTree(after);
      const named = (ps: { kind: string; path: string; movedFrom?: string; movedTo?: string; label?: { key: string } }[]) => ps.map((p) => [p.kind, p.path, p.movedFrom ?? p.movedTo, p.label?.key]);
      const expected = [
        ['missing', 'mail/ham/1.txt', 'mail/spam/1.txt', 'mail/1.txt'],
        ['missing', 'mail/ham/t.csv', 'mail/spam/t.csv', undefined],
        ['extra', 'mail/spam/1.txt', 'mail/ham/1.txt', 'mail/1.txt'],
        ['extra', 'mail/spam/t.csv', 'mail/ham/t.csv', undefined],
      ];
      for (const target of [dir, `s3://${bucket}/mail-data/`]) {
        const v = await snapJson(['verify', target, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
        expect(v.code, v.stderr).toBe(1);
        expect(named(v.json.problems), target).toEqual(expected);
      }
    });

    it("names the records of a modified record file (labels flipped, rows added) as a folder's verify names them", async () => {
      const before = { 'train.csv': 'id,text,label\n1,win money,spam\n2,lunch?,ham\n3,notes,ham\n', 'events.jsonl': '{"id":1,"label":"a"}\n{"id":2,"label":"b"}\n', 'README.txt': 'hi\n' };
      // Sealed from a folder (a seal of an S3 dataset takes no record rules); the changed files are in S3 and in a folder.
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', await makeTree(before), '--as', ref, '--key', keys.key, '--store', store, '--records', 'train.csv key=id label=label', '--records', 'events.jsonl key=id label=label']);
      expect(s.code, s.stderr).toBe(0);
      const after = { 'train.csv': 'id,text,label\n1,win money,ham\n2,lunch?,ham\n3,notes,ham\n4,new,spam\n', 'events.jsonl': '{"id":1,"label":"a"}\n' };
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, 'rec/', { ...before, ...after });
      const dir = await makeTree({ ...before, ...after });
      const local = await snapJson(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', store]);
      expect(local.code, local.stderr).toBe(1);
      const v = await snapJson(['verify', `s3://${bucket}/rec/`, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code, v.stderr).toBe(1);
      const csvProblem = v.json.problems.find((p: { path: string }) => p.path === 'train.csv');
      expect(csvProblem.records.summary).toMatchObject({ flipped: 1, added: 1, removed: 0 });
      expect(v.json.problems.find((p: { path: string }) => p.path === 'events.jsonl').records.summary).toMatchObject({ removed: 1 });
      expect(v.json.problems).toEqual(local.json.problems);
      const human = await snap(['verify', `s3://${bucket}/rec/`, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(human.stdout).toContain('1: spam → ham');
    });

    /** A bucket whose prefix p/ holds ok.txt, sealed into a new store as ref. */
    async function sealedPrefix() {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, 'p/', { 'ok.txt': 'fine' });
      const url = `s3://${bucket}/p/`;
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      expect((await snap(['seal', url, '--as', ref, '--key', keys.key, '--store', store], { env: env() })).code).toBe(0);
      return { client, bucket, url, store, ref };
    }

    it('refuses to seal keys that cannot be manifest paths, naming them, and verify reports them as extra', async () => {
      const { client, bucket, url, store, ref } = await sealedPrefix();
      await upload(client, bucket, 'p/', { 'a//b.txt': 'empty segment', 'x/../y.txt': 'dot dot', 'tab\there': 'control' });
      const s = await snapJson(['seal', url, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', store], { env: env() });
      expect(s.code).toBe(3);
      expect(s.json.error.code).toMatch(/^PATH_/);
      expect(s.json.error.details.keys.map((k: { key: string }) => k.key).sort()).toEqual(['p/a//b.txt', 'p/tab\there', 'p/x/../y.txt']);
      const v = await snapJson(['verify', url, '--against', ref, '--pubkey', keys.pub, '--store', store], { env: env() });
      expect(v.code).toBe(1);
      expect(v.json.counts).toMatchObject({ matched: 1, extra: 3 });
      expect(v.json.problems.every((p: { kind: string; reason?: string }) => p.kind === 'extra' && /manifest path/.test(p.reason ?? ''))).toBe(true);
    });

    it('diff against a prefix prints the keys it cannot record, and why, escaped: a bidi override or a C1 control in a key reaches no terminal', async () => {
      const { client, bucket, url, store, ref } = await sealedPrefix();
      await upload(client, bucket, 'p/', { 'x/../\u202eTXT.exe': 'dot dot', 'y//\u009b31mRED\u0085OK': 'empty segment' });
      const d = await snap(['diff', ref, url, '--store', store], { env: env() });
      expect(d.code).toBe(1);
      expect(unsafeIn(d.stdout), d.stdout).toBeUndefined();
      expect(d.stdout).toContain('x/../\\u202eTXT.exe  (invalid path "x/../\\u202eTXT.exe"');
      expect(d.stdout).toContain('y//\\u009b31mRED\\u0085OK  (invalid path "y//\\u009b31mRED\\u0085OK"');
      const j = await snapJson(['diff', ref, url, '--store', store], { env: env() });
      expect(j.json.extra.map((x: { path: string }) => x.path).sort()).toEqual(['x/../\u202eTXT.exe', 'y//\u009b31mRED\u0085OK']);
    });

    it('refuses an empty prefix (DATASET_EMPTY, exit 3) and a missing bucket (exit 3)', async () => {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      const e = await snapJson(['seal', `s3://${bucket}/nothing/`, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', await newStorePath()], { env: env() });
      expect(e.code).toBe(3);
      expect(e.json.error.code).toBe('DATASET_EMPTY');
      const m = await snapJson(['seal', `s3://no-such-bucket-${Date.now()}/x`, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', await newStorePath()], { env: env() });
      expect(m.code).toBe(3);
      expect(m.json.error.code).toBe('NOT_FOUND');
    });

    it('lists page by page in key order, and refuses a listing above its bound', async () => {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, 'p/', FILES);
      const pages: string[][] = [];
      for await (const page of listObjects(client, { bucket, prefix: 'p/' }, { onRefused: () => {}, pageKeys: 2 })) pages.push(page.map((o) => o.path));
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(pages.flat()).toEqual(['a.txt', 'b/c.txt', 'b/é ü.txt', 'big.bin', 'empty', 'z/deep/er.csv']);
      const tooMany = async () => {
        for await (const _ of listObjects(client, { bucket, prefix: 'p/' }, { onRefused: () => {}, pageKeys: 2, maxObjects: 5 })) void _;
      };
      await expect(tooMany()).rejects.toMatchObject({ code: 'IO_ERROR', details: { limit: 5 } });
      // Keys come URL-encoded (EncodingType=url) and are decoded exactly once.
      await upload(client, bucket, 'q/', { '100% +x.txt': '1', 'a%2Fb': '2', '日本.txt': '3' });
      const odd: string[] = [];
      for await (const page of listObjects(client, { bucket, prefix: 'q/' }, { onRefused: () => {} })) odd.push(...page.map((o) => o.path));
      expect(odd).toEqual(['100% +x.txt', 'a%2Fb', '日本.txt']);
    });

    it('keeps at most `concurrency` ranged GETs in flight, and uses that many', async () => {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, '', { 'big.bin': BIG, 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
      const listed: ListedObject[] = [];
      for await (const page of listObjects(client, { bucket, prefix: '' }, { onRefused: () => {} })) listed.push(...page);
      let now = 0;
      let peak = 0;
      const counting = {
        send: async (cmd: unknown, o?: unknown) => {
          peak = Math.max(peak, ++now);
          try {
            return await client.send(cmd as GetObjectCommand, o as never);
          } finally {
            now--;
          }
        },
      } as unknown as S3Client;
      const digests: string[] = [];
      const reader = new ObjectReader<null>(counting, bucket, (obj, _t, r) => void digests.push(`${obj.path} ${r.ok ? r.sha256 : 'failed'}`), { partBytes: 1 << 16, concurrency: 3 });
      for (const o of listed) await reader.add(o, null);
      await reader.finish();
      expect(peak).toBe(3);
      const { createHash } = await import('node:crypto');
      expect(digests).toEqual(['a.txt', 'b.txt', 'big.bin', 'c.txt'].map((p) => `${p} ${createHash('sha256').update(p === 'big.bin' ? BIG : p[0]!).digest('hex')}`));
    });

    it('notices an object that changes between its first and its last ranged read', async () => {
      const client = createS3Client(server.env);
      const bucket = await newBucket(client);
      await upload(client, bucket, '', { 'big.bin': BIG });
      const listed: ListedObject[] = [];
      for await (const page of listObjects(client, { bucket, prefix: '' }, { onRefused: () => {} })) listed.push(...page);
      expect(listed.map((o) => o.path)).toEqual(['big.bin']);
      let gets = 0;
      // A client that overwrites the object just before the second ranged GET is sent.
      const racing = {
        send: async (cmd: unknown, o?: unknown) => {
          if (cmd instanceof GetObjectCommand && ++gets === 2) await upload(client, bucket, '', { 'big.bin': Buffer.concat([BIG.subarray(0, 10), Buffer.from('changed'), BIG.subarray(17)]) });
          return client.send(cmd as GetObjectCommand, o as never);
        },
      } as unknown as S3Client;
      const results: ReadResult[] = [];
      const reader = new ObjectReader<null>(racing, bucket, (_obj, _t, r) => void results.push(r), { partBytes: 1 << 20, concurrency: 1 });
      await reader.add(listed[0]!, null);
      await reader.finish();
      expect(gets).toBe(4);
      expect(results).toEqual([expect.objectContaining({ ok: false, kind: 'changed' })]);
    });
  });
}

datasetTests('moto');
datasetTests('ceph');
