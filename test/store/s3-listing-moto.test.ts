/**
 * What a command's session lists of an S3 store (docs/FORMAT.md §23.5), on moto_server (started
 * here; never skipped): each key once — the objects, snapshot files, log lines and locks by their
 * own readers, the other files by a listing that skips those folders.
 */
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { allVersions, clientFor, newBucket, plantOnMoto, watchedClient } from './s3-fixture.js';
import { MAX_COSIGNATURE_FILES_READ, MAX_JUNK_KEYS_KEPT, MAX_REVOCATION_FILES_READ, MAX_REVOCATION_FILES_LISTED, S3Backend } from '../../src/store/s3.js';
import { openRemoteSession } from '../../src/store/remote-session.js';
import { MAX_STAGED_LEFTOVERS_KEPT } from '../../src/store/s3-leftovers.js';
import { LocalBackend } from '../../src/store/local.js';
import { openStore } from '../../src/io/store.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3listing');
const run = (args: string[]) => snapJson(args, { env: { ...server.env, NODE_NO_WARNINGS: '1' } });

/** PUT each key (body `junk`), a few at once, by plain HTTP (see plantOnMoto). */
const plant = (bucket: string, keys: readonly string[]): Promise<void> => plantOnMoto(server, bucket, keys);

/** Every key under `prefix`, sorted. */
async function keysUnder(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) out.push(o.Key as string);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

describe('the folders of the other files', () => {
  it('are those the local store writes them to', async () => {
    const [{ REVOCATIONS_DIR }, { CHECKPOINTS_DIR }, { COSIGNATURES_DIR }, { FILE_FOLDERS, REVOCATION_FOLDER }] = await Promise.all([import('../../src/trust/revocations.js'), import('../../src/trust/log-checkpoints.js'), import('../../src/store/cosignatures.js'), import('../../src/store/s3.js')]);
    const { attestationsDir } = await import('../../src/provenance/attestation-store.js');
    expect([...FILE_FOLDERS].sort()).toEqual([`${REVOCATIONS_DIR}/`, `${basename(attestationsDir({ root: '/s' } as never))}/`, `${CHECKPOINTS_DIR}/`, `${COSIGNATURES_DIR}/`].sort());
    expect(REVOCATION_FOLDER).toBe(`${REVOCATIONS_DIR}/`);
  });

  it('are listed up to what their readers read', async () => {
    const [{ MAX_REVOCATION_FILES }, { MAX_CHECKPOINTS }, { MAX_COSIGNATURE_FILES }, s3] = await Promise.all([import('../../src/trust/revocations.js'), import('../../src/trust/log-checkpoints.js'), import('../../src/store/cosignatures.js'), import('../../src/store/s3.js')]);
    expect([s3.MAX_REVOCATION_FILES_READ, s3.MAX_CHECKPOINT_FILES_READ, s3.MAX_COSIGNATURE_FILES_READ]).toEqual([MAX_REVOCATION_FILES, MAX_CHECKPOINTS, MAX_COSIGNATURE_FILES]);
  });
});

describe('the listings of an S3 store (moto)', () => {
  it.each(['plain', 'versioned'] as const)('a command on a %s bucket lists each key of the store once, and still gets the other files', { timeout: 120_000 }, async (kind) => {
    const bucket = await newBucket(clientFor(server), kind);
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'c/d.txt': 'delta\n' });
    for (const as of ['ds@v1', 'ds@v2']) expect((await run(['seal', ds, '--as', as, '--key', kp.key, '--store', store])).code).toBe(0);
    const revocation = `revocations/${'ab'.repeat(32)}/r.json`;
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: `st/${revocation}`, Body: '{}' }));
    // Keys that are none of snap's: beside the store files, a folder of junk — one key both a file
    // and a folder, which no store file can be — are never listed nor pulled.
    for (const key of ['st/notes.txt', 'st/junk/a', 'st/junk/a/b']) await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'n' }));
    const w = watchedClient(server);
    const session = await openRemoteSession(new S3Backend(w.client, { bucket, prefix: 'st/' }), { create: false, objects: 'none', note: () => {} });
    try {
      const twice = [...w.listed].filter(([, n]) => n > 1).map(([k]) => k);
      expect(twice).toEqual([]);
      // Every snapshot file was listed (once); no object, as the command reads none (it would look up those it reads).
      expect([...w.listed.keys()].filter((k) => k.startsWith('st/objects/'))).toEqual([]);
      expect(w.listed.get('st/snapshots/ds/v1/commit.json')).toBe(1);
      expect((await new LocalBackend(await openStore(session.root)).listFiles()).sort()).toEqual([revocation]);
      expect([...w.listed.keys()].filter((k) => k.startsWith('st/junk/') || k === 'st/notes.txt')).toEqual([]);
    } finally {
      await session.finish(false);
    }
  });

  it.each(['plain', 'versioned'] as const)('keys with a carriage return, a plus and a percent sign planted in a %s bucket are listed as they are (the listing URL-encodes them): every command still works, and a revocation so named still counts', { timeout: 120_000 }, async (kind) => {
    const c = clientFor(server);
    const bucket = await newBucket(c, kind);
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    expect((await run(['revoke', 'ds@v1', '--key', kp.key, '--reason', 'test', '--store', store])).code).toBe(0);
    const [revocation] = await keysUnder(c, bucket, 'st/revocations/');
    // An XML parser reads a carriage return in a listing as a line feed: the key listed was then
    // not the key in the bucket, its GET failed, and every command of the store with it (exit 3).
    const odd = ['st/log.checkpoints/x\r', 'st/signatures/ds/v1/a\r+%20b.json', 'st/revocations/' + 'ab'.repeat(32) + '/r\r.json', 'st/snapshots/ds/v1/staged/x\r', 'st/objects/sha256/ab/c\r'];
    await plant(bucket, odd);
    const listed = await run(['list', '--store', store]);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    expect((listed.json.snapshots as { ref: string }[]).map((x) => x.ref)).toEqual(['ds@v1']);
    // The revocation, renamed with a plus and a percent sign in its name, is read, and still counts.
    const body = await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: revocation as string }))).Body!.transformToByteArray();
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: revocation as string }));
    if (kind === 'versioned') await c.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: (await allVersions(c, bucket, 'st/revocations/')).filter((v) => v.Key === revocation).map((v) => ({ Key: v.Key as string, VersionId: v.VersionId as string })) } }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: (revocation as string).replace(/\.json$/, '+a%2.json'), Body: body }));
    const verified = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(1);
    expect(verified.json.failure.code).toBe('SNAPSHOT_REVOKED');
  });

  it('1,102 keys planted under snapshots/ (one with a 1,000-byte name) are skipped by every command, noted on stderr and listed by fsck as not written by snap, the first 1,000 by name, the rest counted', { timeout: 240_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const junk = [...Array.from({ length: 1100 }, (_, i) => `snapshots/junk${String(i).padStart(4, '0')}/v1/x`), `snapshots/${'n'.repeat(1000)}/v1/commit.json`, 'snapshots/ds/v1/commit.json/x'];
    await plant(bucket, junk.map((k) => `st/${k}`));

    const l = await run(['list', '--store', store]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.json.snapshots.map((x: { ref: string }) => x.ref)).toEqual(['ds@v1']);
    expect(l.stderr).toContain(`1102 key(s) under ${store}/snapshots/ are none of snap's`);

    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(0);
    const kept = [...junk].sort().slice(0, MAX_JUNK_KEYS_KEPT);
    expect(f.json.strays).toEqual([...kept, `snapshots/… (${junk.length - MAX_JUNK_KEYS_KEPT} more keys not listed)`]);
  });

  it('1,100 keys planted under objects/ and 2,049 staged-looking keys (1,050 folders no commit names, one of 1,000 keys) are listed by fsck the first 1,000 by name, the rest counted; fsck --clean removes every such folder', { timeout: 400_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const before = await keysUnder(c, bucket, 'st/snapshots/');
    const token = (i: number): string => i.toString(16).padStart(32, '0');
    const objectJunk = Array.from({ length: 1100 }, (_, i) => `objects/junk/${String(i).padStart(4, '0')}`);
    // Staged folders of ds@v1 that its commit does not name (a lost commit's, as far as snap can
    // tell): removable at once. The first, token 0…0, holds 1,000 keys.
    const staged = [...Array.from({ length: 1000 }, (_, i) => `snapshots/ds/v1/staged/${token(0)}/f${String(i).padStart(4, '0')}`), ...Array.from({ length: 1049 }, (_, i) => `snapshots/ds/v1/staged/${token(i + 1)}/manifest.jsonl`)];
    await plant(bucket, [...objectJunk, ...staged].map((k) => `st/${k}`));

    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.json.strays).toEqual([...objectJunk.slice(0, MAX_JUNK_KEYS_KEPT), `objects/… (${objectJunk.length - MAX_JUNK_KEYS_KEPT} more keys not listed)`]);
    const left = f.json.leftovers as { path: string; entries: number; removable: boolean; message: string }[];
    expect(left).toHaveLength(MAX_STAGED_LEFTOVERS_KEPT + 1);
    expect(left.slice(0, MAX_STAGED_LEFTOVERS_KEPT).map((l) => l.path)).toEqual(Array.from({ length: MAX_STAGED_LEFTOVERS_KEPT }, (_, i) => `snapshots/ds/v1/staged/${token(i)}/`));
    expect(left[0]).toMatchObject({ entries: 1000, removable: true });
    expect(left[MAX_STAGED_LEFTOVERS_KEPT]).toMatchObject({ path: 'snapshots/…', entries: 50, removable: false });
    expect(left[MAX_STAGED_LEFTOVERS_KEPT]?.message).toContain('50 more staged folder(s) that no commit names (50 keys');

    const cleaned = await run(['fsck', '--clean', '--store', store]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const removed = cleaned.json.cleaned.removed as { path: string; entries: number }[];
    expect(removed).toHaveLength(MAX_STAGED_LEFTOVERS_KEPT + 1);
    expect(removed[MAX_STAGED_LEFTOVERS_KEPT]).toMatchObject({ path: 'snapshots/…', entries: 50 });
    expect(cleaned.json.cleaned.kept).toEqual([]);
    expect(await keysUnder(c, bucket, 'st/snapshots/')).toEqual(before);
    expect((await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store])).code).toBe(0);
  });

  it.each(['plain', 'versioned'] as const)('keys planted among the other files of a %s bucket (2,200: junk under revocations/, a revocation folder of 70, a co-signature folder of 1,030) cost memory only up to what readers read (every co-signature file, which a reader with trusted keys may need): the rest are counted, noted and listed by fsck', { timeout: 400_000 }, async (kind) => {
    const c = clientFor(server);
    const bucket = await newBucket(c, kind);
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const n = (i: number): string => String(i).padStart(4, '0');
    const junk = Array.from({ length: 1100 }, (_, i) => `revocations/junk/${n(i)}`);
    const revocations = Array.from({ length: 70 }, (_, i) => `revocations/${'cd'.repeat(32)}/${n(i)}.json`);
    const cosignatures = Array.from({ length: 1030 }, (_, i) => `signatures/ghost/v1/${n(i)}.json`);
    await plant(bucket, [...junk, ...revocations, ...cosignatures].map((k) => `st/${k}`));

    const notes: string[] = [];
    const remote = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const session = await openRemoteSession(remote, { create: false, objects: 'none', note: (t) => notes.push(t) });
    try {
      const pulled = (await new LocalBackend(await openStore(session.root)).listFiles()).sort();
      // Co-signature files are merged into envelopes, never copied; of the junk, none is copied.
      expect(pulled).toEqual(revocations.slice(0, MAX_REVOCATION_FILES_READ + 1));
      expect(remote.fileJunk).toEqual({ count: junk.length, keys: junk.slice(0, MAX_JUNK_KEYS_KEPT) });
      expect(remote.fileSkips).toEqual({ count: 70 - (MAX_REVOCATION_FILES_READ + 1), first: revocations[MAX_REVOCATION_FILES_READ + 1] });
      expect(cosignatures.length).toBeGreaterThan(MAX_COSIGNATURE_FILES_READ);
      expect(notes.join('\n')).toContain(`${junk.length} key(s) under s3://${bucket}/st/'s folders of store files`);
      expect(notes.join('\n')).toContain(`${remote.fileSkips.count} store file(s) of s3://${bucket}/st/ past what a reader reads`);
    } finally {
      await session.finish(false);
    }
    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.json.strays).toEqual([...junk.slice(0, MAX_JUNK_KEYS_KEPT), `… (${junk.length - MAX_JUNK_KEYS_KEPT} more keys under the folders of store files not listed)`]);
    // None of the planted keys is ds@v1's: its verify still passes.
    const v = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect(v.code, v.stderr).toBe(0);
  });

  it(`more than ${MAX_REVOCATION_FILES_LISTED} revocation files planted (none skipped: one left out could let a revoked snapshot pass) make the listing refuse the store, STORE_MALFORMED, exit 3`, { timeout: 600_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
    const keys = Array.from({ length: MAX_REVOCATION_FILES_LISTED + 1 }, (_, i) => `st/revocations/${(Math.floor(i / 50)).toString(16).padStart(64, '0')}/${String(i % 50).padStart(2, '0')}.json`);
    await plant(bucket, keys);
    const l = await run(['list', '--store', store]);
    expect([l.code, l.json.error?.code]).toEqual([3, 'STORE_MALFORMED']);
    expect(l.json.error?.message).toContain(`more than ${MAX_REVOCATION_FILES_LISTED} files under revocations/`);
  });
});
