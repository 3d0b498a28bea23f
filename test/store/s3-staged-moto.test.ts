/**
 * A committed snapshot's staged files against someone who can write the bucket and holds no key
 * (docs/FORMAT.md §23.3), on moto (started here; never skipped): the commit object pins each file
 * by its SHA-256 and, in a versioned bucket, by the version the seal wrote. Readers read that
 * version, whatever was written over it between the seal's PUT and its commit or since; a file that
 * is not the bytes pinned (a plain bucket) is not the snapshot's and is left out, as missing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, spiedClient } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3staged');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });
const run = (args: string[]) => snapJson(args, { env: env() });
const expectOk = (r: { code: number; stdout: string; stderr: string }): void => expect(r.code, r.stdout + r.stderr).toBe(0);
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The snapshot's files: a manifest and the `contents.json` a `--manifest-only` seal would have, or not. */
const files = (): Map<string, Uint8Array> =>
  new Map([
    ['manifest.jsonl', Buffer.from('{"path":"a.txt"}\n')],
    ['contents.json', Buffer.from('{"objects":true}\n')],
  ]);

/**
 * A client that, just before the commit object's PUT, runs `meddle` (with a plain client): what
 * another writer of the bucket can do between a seal's staged PUTs and its commit.
 */
function meddlingClient(meddle: (c: S3Client, staged: string[]) => Promise<void>, before: 'commit' | 'staged'): S3Client {
  const client = clientFor(server);
  const staged: string[] = [];
  let done = false;
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
    if (cmd instanceof PutObjectCommand) {
      const key = cmd.input.Key as string;
      if (key.includes('/staged/')) staged.push(key);
      const now = before === 'commit' ? key.endsWith('/commit.json') : key.includes('/staged/');
      if (now && !done) {
        done = true;
        await meddle(clientFor(server), before === 'commit' ? staged : [key]);
      }
    }
    return send(cmd);
  };
  return client;
}

async function text(c: S3Client, bucket: string, key: string): Promise<string> {
  return (await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString()) ?? '';
}

describe('staged snapshot files of an S3 store written over by another writer (moto)', () => {
  it('a staged file written over between its PUT and the commit is read as the seal wrote it (versioned bucket), and left out as not pinned (plain bucket)', { timeout: 60_000 }, async () => {
    for (const kind of ['versioned', 'plain'] as const) {
      const bucket = await newBucket(clientFor(server), kind);
      const swap = async (c: S3Client, staged: string[]): Promise<void> => {
        const key = staged.find((k) => k.endsWith('/contents.json')) as string;
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"objects":false}\n' }));
      };
      const sealer = new S3Backend(meddlingClient(swap, 'commit'), { bucket, prefix: 'st/' });
      await sealer.open(true);
      await sealer.commitSnapshot('ds', 'v1', files());
      const reader = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
      const read = await reader.readSnapshot('ds', 'v1');
      expect(Buffer.from(read.get('manifest.jsonl') ?? []).toString(), kind).toBe('{"path":"a.txt"}\n');
      if (kind === 'versioned') {
        expect(Buffer.from(read.get('contents.json') ?? []).toString(), kind).toBe('{"objects":true}\n');
        // …and the version written over it before the commit is found, for fsck to report.
        expect((await reader.overwrittenFiles('ds', 'v1')).map((o) => [o.file, typeof o.current])).toEqual([['contents.json', 'string']]);
      } else expect(read.has('contents.json'), kind).toBe(false);
    }
  });

  it('a staged key written by someone else before the seal wrote it makes the commit fail (STORE_MALFORMED): no commit object is written', { timeout: 60_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'versioned');
    const first = async (c: S3Client, [key]: string[]): Promise<void> => {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not the seal\'s\n' }));
    };
    const sealer = new S3Backend(meddlingClient(first, 'staged'), { bucket, prefix: 'st/' });
    await sealer.open(true);
    await expect(sealer.commitSnapshot('ds', 'v1', files())).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
    const listed = await clientFor(server).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/commit.json' }));
    expect(listed.KeyCount ?? 0).toBe(0);
  });

  it('contents.json made {"objects":false} after the seal does not hide an object deleted from the bucket: fsck still fails, in a versioned and in a plain bucket', { timeout: 120_000 }, async () => {
    for (const kind of ['versioned', 'plain'] as const) {
      const c = clientFor(server);
      const bucket = await newBucket(c, kind);
      const store = `s3://${bucket}/st`;
      const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
      expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
      // Someone with write access, no key: the unsigned marker now says the snapshot keeps no
      // objects (as a --manifest-only seal's does), so that a deleted object would go unreported.
      const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string);
      const marker = keys.find((k) => k.endsWith('/contents.json')) as string;
      expect(await text(c, bucket, marker)).toBe('{"objects":true}\n');
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: marker, Body: '{"objects":false}\n' }));
      await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${sha('bravo\n').slice(0, 2)}/${sha('bravo\n').slice(2)}` }));

      const f = await run(['fsck', '--store', store]);
      expect(f.code, `${kind}: ${f.stdout}${f.stderr}`).toBe(1);
      expect(f.json.snapshots[0].keepsObjects, kind).toBe(true);
      expect(f.json.missingObjects.map((m: { sha256: string }) => m.sha256), kind).toEqual([sha('bravo\n')]);
      if (kind === 'plain') expect(f.stderr).toMatch(/ds@v1: its contents\.json in s3:\/\/.* is not the one its commit object pins .*: left out, as a missing file/);
    }
  });

  it('a manifest written over after the seal (versioned bucket) is not read: verify goes by the version the seal wrote and passes', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string);
    const manifest = keys.find((k) => k.endsWith('/manifest.jsonl')) as string;
    const sealed = await text(c, bucket, manifest);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: manifest, Body: sealed.split('\n').filter((l) => l.includes('"a.txt"')).join('\n') + '\n' }));
    const v = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(v);
    expect(v.json.counts.matched).toBe(2);
  });

  it('a manifest written over and a statement deleted after the seal (versioned bucket): verify still reads the sealed versions and passes, fsck fails naming both files and what is there now', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    expectOk(await run(['fsck', '--store', store]));
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string);
    const manifest = keys.find((k) => k.endsWith('/manifest.jsonl')) as string;
    const statement = keys.find((k) => k.endsWith('/statement.json')) as string;
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: manifest, Body: 'attacker\n' }));
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: statement }));

    expectOk(await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]));
    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stdout + f.stderr).toBe(1);
    expect(f.json.ok).toBe(false);
    expect(schemaErrors('fsck', f.json)).toBe(''); // docs/schemas/fsck.schema.json: the S3-only member included
    expect(f.json.overwritten.map((o: { ref: string; file: string; current: string | null }) => [o.ref, o.file, o.current])).toEqual([
      ['ds@v1', 'manifest.jsonl', put.VersionId],
      ['ds@v1', 'statement.json', null],
    ]);
    const human = await snap(['fsck', '--store', store], { env: env() });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/FAIL {2}ds@v1: its manifest\.jsonl in s3:\/\/\S+ was written over \(now version \S+\) after the seal wrote version \S+, which its commit object pins and every command reads/);
    expect(human.stdout).toContain('ds@v1: its statement.json in');
    expect(human.stdout).toContain('was deleted (a delete marker is its newest version)');
  });

  it('a manifest written over and a statement deleted after the seal (versioned bucket): verify and restore still read the sealed versions and pass, and say on stderr which file was changed, what is there now and which version they read', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const clean = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(clean);
    expect(clean.stderr).not.toContain('after the seal wrote version');
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string);
    const manifest = keys.find((k) => k.endsWith('/manifest.jsonl')) as string;
    const statement = keys.find((k) => k.endsWith('/statement.json')) as string;
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: manifest, Body: 'attacker\n' }));
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: statement }));

    const v = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(v);
    expect(v.json.counts.matched).toBe(2);
    expect(v.stderr).toMatch(new RegExp(`ds@v1: its manifest\\.jsonl in s3://${bucket}/st/ was written over \\(now version ${put.VersionId}\\) after the seal wrote version \\S+, which its commit object pins: that version is read`));
    expect(v.stderr).toMatch(/ds@v1: its statement\.json in s3:\/\/\S+ was deleted \(a delete marker is its newest version\) after the seal wrote version \S+, which its commit object pins: that version is read/);
    const out = join(await makeTree({}), 'out');
    const r = await run(['restore', 'ds@v1', out, '--pubkey', kp.pub, '--store', store]);
    expectOk(r);
    expect(await readFile(join(out, 'b.txt'), 'utf8')).toBe('bravo\n');
    expect(r.stderr).toContain('ds@v1: its manifest.jsonl in');
    expect(r.stderr).toContain('ds@v1: its statement.json in');
  });

  it('reading a snapshot whose files were not changed costs one GET a file and nothing more; a file written over costs one GET more, and is told with the version now there', { timeout: 60_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'versioned');
    const sealer = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    await sealer.open(true);
    await sealer.commitSnapshot('ds', 'v1', files());
    const sent: string[] = [];
    const client = spiedClient(server, (cmd) => sent.push((cmd as { constructor: { name: string } }).constructor.name));
    const reader = new S3Backend(client, { bucket, prefix: 'st/' });
    await reader.listSnapshots();
    const read = async (): Promise<{ names: string[]; contents: string; changed: unknown[]; sent: string[] }> => {
      const dir = await makeTree({});
      const changed: unknown[] = [];
      sent.length = 0;
      const names = await reader.readSnapshotInto('ds', 'v1', dir, undefined, undefined, (ch) => changed.push(ch));
      return { names: names.sort(), contents: await readFile(join(dir, 'contents.json'), 'utf8'), changed, sent: [...sent] };
    };
    const before = await read();
    expect(before.names).toEqual(['contents.json', 'manifest.jsonl']);
    expect(before.changed).toEqual([]);
    // The commit object, then one GET a file: no HEAD, no listing.
    expect(before.sent).toEqual(['GetObjectCommand', 'GetObjectCommand', 'GetObjectCommand']);
    const key = 'st/snapshots/ds/v1/staged/';
    const listed = await clientFor(server).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    const contents = (listed.Contents ?? []).map((o) => o.Key as string).find((k) => k.endsWith('/contents.json')) as string;
    const put = await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: contents, Body: '{"objects":false}\n' }));
    const after = await read();
    expect(after.names).toEqual(['contents.json', 'manifest.jsonl']);
    expect(after.contents).toBe('{"objects":true}\n');
    expect(after.changed).toEqual([{ file: 'contents.json', pinned: expect.any(String), current: put.VersionId }]);
    expect(after.sent).toEqual(['GetObjectCommand', 'GetObjectCommand', 'GetObjectCommand', 'GetObjectCommand']);
  });
});
