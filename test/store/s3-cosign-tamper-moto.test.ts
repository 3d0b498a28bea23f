/**
 * A co-signature file of an S3 store written over or deleted by someone who can write the bucket
 * and holds no key (docs/FORMAT.md §23.8), on moto_server (started here; never skipped). In a
 * versioned bucket the file's first version is read (it is named by its bytes and written once), so
 * neither makes a met threshold look unmet, and each is said on stderr; in a plain bucket a deleted
 * or spoiled co-signature fails the threshold (a denial, said when the file is spoiled), and no
 * planted copy of a signature ever counts twice.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';
import { parseEnvelope, serializeEnvelope } from '../../src/core/envelope.js';

const server = useS3Server('moto');
const producer = useKeyPair('tamper-producer');
const reviewer = useKeyPair('tamper-reviewer');
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The keys under `prefix`. */
async function keysUnder(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
}

/** A bucket of `kind` holding ds@v1 sealed by the producer and co-signed by the reviewer; the co-signature file's key. */
async function cosigned(kind: 'plain' | 'versioned') {
  const c = clientFor(server);
  const bucket = await newBucket(c, kind);
  const store = `s3://${bucket}/st`;
  const dir = await tempDir('snap-cosign-tamper-');
  const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, 'state') };
  const run = (args: string[]) => snap(args, { env });
  const data = await makeTree({ 'a.txt': 'alpha\n' });
  expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', store])).code).toBe(0);
  expect((await run(['sign', 'ds@v1', '--key', reviewer.key, '--store', store])).code).toBe(0);
  const [file] = await keysUnder(c, bucket, 'st/signatures/ds/v1/');
  expect(file).toBeDefined();
  const verify = () => run(['verify', data, '--against', 'ds@v1', '--pubkey', producer.pub, '--pubkey', reviewer.pub, '--threshold', '2', '--store', store]);
  return { c, bucket, store, file: file as string, run, verify };
}

describe('a co-signature file of an S3 store written over or deleted (moto)', () => {
  it('in a versioned bucket, a co-signature written over and then deleted still counts (its first version is read): verify --threshold 2 passes and says what happened to the file', { timeout: 120_000 }, async () => {
    const { c, bucket, file, verify } = await cosigned('versioned');
    expect((await verify()).code).toBe(0);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: file, Body: 'junk\n' }));
    const over = await verify();
    expect(over.code, over.stdout + over.stderr).toBe(0);
    expect(over.stderr).toContain(`co-signature file ${file.slice('st/'.length)} was written over in the bucket after it was written: its first version is read`);
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: file }));
    const gone = await verify();
    expect(gone.code, gone.stdout + gone.stderr).toBe(0);
    expect(gone.stderr).toContain(`co-signature file ${file.slice('st/'.length)} was deleted in the bucket after it was written: its first version is read`);
  });

  it('in a plain bucket, a spoiled co-signature fails the threshold and is named on stderr; a deleted one fails it, and verify and restore name the trusted key no signature verifies under', { timeout: 120_000 }, async () => {
    const { c, bucket, store, file, run, verify } = await cosigned('plain');
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: file, Body: 'junk\n' }));
    const over = await verify();
    expect(over.code).toBe(1);
    expect(over.stdout).toContain('only 1 of the required 2 trusted keys signed');
    expect(over.stderr).toContain(`co-signature file ${file.slice('st/'.length)} does not hash to its name: ignored`);
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: file }));
    const gone = await verify();
    expect(gone.code).toBe(1);
    // A deleted file leaves no trace to name, but the missing signature is named by its key.
    const missing = `only 1 of the required 2 trusted keys signed; none verifies under trusted key ${reviewer.keyid.slice(0, 16)}`;
    expect(gone.stdout).toContain(missing);
    expect(gone.stdout.split('\n')[0]).not.toContain(producer.keyid.slice(0, 16)); // the producer did sign
    const restored = await run(['restore', 'ds@v1', join(await tempDir('snap-cosign-out-'), 'out'), '--pubkey', producer.pub, '--pubkey', reviewer.pub, '--threshold', '2', '--store', store]);
    expect(restored.code).toBe(1);
    expect(restored.stderr).toContain(missing);
  });

  it('the producer\'s signature planted again, claiming the reviewer\'s keyid, in other co-signature files does not count twice: with the real co-signature deleted, --threshold 2 fails', { timeout: 120_000 }, async () => {
    const { c, bucket, file, verify } = await cosigned('plain');
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: file }));
    const staged = (await keysUnder(c, bucket, 'st/snapshots/ds/v1/staged/')).find((k) => k.endsWith('/envelope.json')) as string;
    const committed = parseEnvelope(Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: staged }))).Body!.transformToByteArray()));
    const theirs = committed.signatures[0]!;
    // The same signature in other base64 spellings (unpadded; URL-safe), so that none is dropped as
    // a duplicate of the committed one: each verifies under the producer's key. (The URL-safe one
    // differs only when the signature has a + or a /, as most but not all do: keys are new each run.)
    const unpadded = theirs.sig.replace(/=+$/, '');
    const spellings = [...new Set([unpadded, unpadded.replace(/\+/g, '-').replace(/\//g, '_')])];
    expect(spellings).not.toContain(theirs.sig);
    for (const sig of spellings) {
      const bytes = serializeEnvelope({ ...committed, signatures: [...committed.signatures, { keyid: reviewer.keyid, sig }] });
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/signatures/ds/v1/${sha(bytes)}.json`, Body: bytes }));
    }
    const r = await verify();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('only 1 of the required 2 trusted keys signed');
    // Every planted copy was merged (none ignored): each signature found to be the producer's
    // whatever keyid it claims, which counts once.
    expect(r.stderr).not.toContain('ignored');
    expect(r.stdout.match(new RegExp(`signature keyid ${producer.keyid.slice(0, 16)}: trusted`, 'g')) ?? []).toHaveLength(1 + spellings.length);
  });
});
