/**
 * Planted co-signature files in an S3 store (docs/FORMAT.md §23.8), against moto_server (started
 * here; never skipped). An attacker with write access to the bucket but no key plants files of junk
 * signatures whose names (their digests) sort before the genuine co-signature: verify, knowing its
 * trusted keys (`--pubkey`, or a `--policy`), still counts the genuine one; `snap sign` still adds
 * a signature; a planted file larger than an envelope is ignored unread.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';
import { MAX_ENVELOPE_BYTES, MAX_SIGNATURES } from '../../src/core/envelope.js';
import { MAX_COSIGNATURE_FILES } from '../../src/store/cosignatures.js';

const server = useS3Server('moto');
const producer = useKeyPair('flood-producer');
const reviewer = useKeyPair('flood-reviewer');
const second = useKeyPair('flood-second');
const r1 = useKeyPair('flood-root');
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

describe('co-signature files planted in an S3 store (moto)', () => {
  it('65 junk co-signature files sorting first neither hide a trusted co-signature from verify nor stop sign', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const s3 = `s3://${bucket}/st`;
    const dir = await tempDir('snap-cosign-flood-');
    const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, 'state') };
    const run = (args: string[]) => snap(args, { env });
    const expectCode = async (args: string[], code: number) => {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(code);
      return r;
    };
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    await expectCode(['seal', data, '--as', 'fraud-ds@v1', '--key', producer.key, '--store', s3], 0);
    await expectCode(['sign', 'fraud-ds@v1', '--key', reviewer.key, '--store', s3], 0);

    const list = async (): Promise<string[]> => ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/signatures/fraud-ds/v1/' }))).Contents ?? []).map((o) => o.Key as string);
    const [genuineKey] = await list();
    const genuine = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: genuineKey as string }))).Body!.transformToByteArray());
    const { payload, payloadType } = JSON.parse(genuine.toString()) as { payload: string; payloadType: string };

    // The attacker's files: the public payload, one junk signature each claiming the reviewer's
    // keyid, made again until the name (the bytes' digest) sorts before the genuine file's.
    const planted: string[] = [];
    while (planted.length < 65) {
      const bytes = Buffer.from(JSON.stringify({ payload, payloadType, signatures: [{ keyid: reviewer.keyid, sig: randomBytes(64).toString('base64') }] }));
      const key = `st/signatures/fraud-ds/v1/${sha(bytes)}.json`;
      if (key >= (genuineKey as string)) continue;
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
      planted.push(key);
    }
    // And one file larger than any envelope (its name its digest, sorting first): never read whole.
    const huge = Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/signatures/fraud-ds/v1/${sha(huge)}.json`, Body: huge }));
    expect((await list()).sort().slice(0, 65)).not.toContain(genuineKey);

    // Both keys trusted: the genuine co-signature is kept before the junk, threshold 2 passes.
    const both = ['--pubkey', producer.pub, '--pubkey', reviewer.pub, '--threshold', '2'];
    const v = await expectCode(['verify', data, '--against', 'fraud-ds@v1', ...both, '--store', s3], 0);
    expect(v.stderr).toContain(`co-signature files left out: the envelope carries at most ${MAX_SIGNATURES} (those that verify under a trusted key kept first)`);
    // A trusted key that never signed: every file is read (the oversized one too, not whole), and the verdict stands.
    const all = await expectCode(['verify', data, '--against', 'fraud-ds@v1', ...both, '--pubkey', second.pub, '--store', s3], 0);
    expect(all.stderr).toContain(`is larger than ${MAX_ENVELOPE_BYTES} bytes: ignored`);
    // One trusted key cannot make a threshold of 2, junk claiming the other's keyid or not.
    await expectCode(['verify', data, '--against', 'fraud-ds@v1', '--pubkey', producer.pub, '--threshold', '2', '--store', s3], 1);
    await expectCode(['verify', data, '--against', 'fraud-ds@v1', '--pubkey', producer.pub, '--store', s3], 0);
    // A key file that cannot be read ranks nothing: the command reports it as before (exit 3).
    await expectCode(['verify', data, '--against', 'fraud-ds@v1', '--pubkey', join(dir, 'missing.pub'), '--store', s3], 3);

    // A policy's keys rank the same way: producer + reviewer required, met.
    const policy = join(dir, 'policy.json');
    await expectCode(['policy', 'init', policy, '--name', 'acme', '--root-key', r1.pub], 0);
    await expectCode(['policy', 'add-key', policy, '--pub', producer.pub, '--key-name', 'p', '--role', 'producer'], 0);
    await expectCode(['policy', 'add-key', policy, '--pub', reviewer.pub, '--key-name', 'r', '--role', 'reviewer'], 0);
    await expectCode(['policy', 'rule', policy, '--datasets', 'fraud-*', '--require', 'producer=1', '--require', 'reviewer=1'], 0);
    await expectCode(['policy', 'sign', policy, '--key', r1.key], 0);
    await expectCode(['verify', data, '--against', 'fraud-ds@v1', '--policy', policy, '--root', r1.pub, '--store', s3], 0);

    // sign keeps room for its signature among the junk; a third signer then counts for verify.
    const s = await expectCode(['sign', 'fraud-ds@v1', '--key', second.key, '--store', s3], 0);
    expect(s.stderr).toMatch(/co-signature file\(s\) not read \(the envelope is full, room kept for 1 new signature\(s\)\)/);
    await expectCode(['verify', data, '--against', 'fraud-ds@v1', ...both.slice(0, 4), '--pubkey', second.pub, '--threshold', '3', '--store', s3], 0);
  }, 240_000);

  it(`${MAX_COSIGNATURE_FILES + 6} junk co-signature files sorting first (more than a reader without trusted keys reads) do not hide a trusted co-signature from verify`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const s3 = `s3://${bucket}/st`;
    const dir = await tempDir('snap-cosign-flood-');
    const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, 'state') };
    const run = (args: string[]) => snap(args, { env });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', s3])).code).toBe(0);
    expect((await run(['sign', 'ds@v1', '--key', reviewer.key, '--store', s3])).code).toBe(0);
    const both = ['--pubkey', producer.pub, '--pubkey', reviewer.pub, '--threshold', '2'];
    const [genuineKey] = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/signatures/ds/v1/' }))).Contents ?? []).map((o) => o.Key as string);
    const { payload, payloadType } = JSON.parse(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: genuineKey as string }))).Body!.transformToString()) as { payload: string; payloadType: string };
    // The attacker's files, each named by its digest and sorting before the genuine one.
    const planted: { key: string; bytes: Buffer }[] = [];
    while (planted.length < MAX_COSIGNATURE_FILES + 6) {
      const bytes = Buffer.from(JSON.stringify({ payload, payloadType, signatures: [{ keyid: reviewer.keyid, sig: randomBytes(64).toString('base64') }] }));
      const key = `st/signatures/ds/v1/${sha(bytes)}.json`;
      if (key < (genuineKey as string)) planted.push({ key, bytes });
    }
    for (let i = 0; i < planted.length; i += 32) await Promise.all(planted.slice(i, i + 32).map((p) => c.send(new PutObjectCommand({ Bucket: bucket, Key: p.key, Body: p.bytes }))));

    const v = await run(['verify', data, '--against', 'ds@v1', ...both, '--store', s3]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stderr).not.toContain('past what a reader reads');
    // One trusted key still cannot make a threshold of 2.
    expect((await run(['verify', data, '--against', 'ds@v1', '--pubkey', producer.pub, '--threshold', '2', '--store', s3])).code).toBe(1);
  }, 240_000);
});
