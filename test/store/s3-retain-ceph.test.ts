/**
 * Object Lock retention of an S3 store when the bucket has been written by someone with no key
 * (docs/FORMAT.md §23.6), on Ceph's RADOS Gateway (started here; never skipped: moto answers GetObjectRetention of an object without one with a body the SDK cannot parse): `snap retain` locks what
 * was committed or nothing, and says so; `show` and `fsck` report every lock the snapshot counts on.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, GetObjectRetentionCommand, ListObjectsV2Command, PutObjectCommand, PutObjectLockConfigurationCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { allVersions, clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('ceph');
const kp = useKeyPair('s3retain');
const cosigner = useKeyPair('s3retain-cosigner');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });
const run = (args: string[]) => snapJson(args, { env: env() });
const expectOk = (r: { code: number; stdout: string; stderr: string }): void => expect(r.code, r.stdout + r.stderr).toBe(0);
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const objectKey = (prefix: string, hex: string): string => `${prefix}objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`;

/** The staged key of a committed snapshot's file. */
async function stagedKey(client: S3Client, bucket: string, prefix: string, ref: string, file: string): Promise<string> {
  const [name, version] = ref.split('@') as [string, string];
  const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}snapshots/${name}/${version}/staged/` }));
  const key = (r.Contents ?? []).map((o) => o.Key as string).find((k) => k.endsWith(`/${file}`));
  if (!key) throw new Error(`no staged ${file} of ${ref}`);
  return key;
}

/** The retain-until date of the current version of `key` (or of `versionId`), or null when it has none. */
async function lockedUntil(client: S3Client, bucket: string, key: string, versionId?: string): Promise<string | null> {
  try {
    const r = await client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
    return r.Retention?.RetainUntilDate ? new Date(r.Retention.RetainUntilDate).toISOString() : null;
  } catch {
    return null;
  }
}

describe('Object Lock retention of an S3 store whose bucket was written without a key (Ceph)', () => {
  it('retain of a snapshot whose sealed manifest was removed locks nothing and fails (exit 1, INTEGRITY_FAILURE); one written over is not read: retain locks what the seal wrote', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    for (const attack of ['removed', 'written over'] as const) {
      const bucket = await newBucket(client, 'locked');
      const store = `s3://${bucket}/st`;
      const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
      expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
      // Someone with write access, before the snapshot is locked: its manifest now names a.txt only,
      // so that retain would leave b.txt's object unlocked (to be deleted later).
      const key = await stagedKey(client, bucket, 'st/', 'ds@v1', 'manifest.jsonl');
      const sealed = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const manifest = await sealed.Body!.transformToString();
      const onlyA = manifest.split('\n').filter((l) => l.includes('"a.txt"')).join('\n') + '\n';
      expect(onlyA).toContain(sha('alpha\n'));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: onlyA }));
      if (attack === 'removed') await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: sealed.VersionId }));

      const r = await run(['retain', 'ds@v1', '--until', '30d', '--store', store]);
      if (attack === 'removed') {
        expect(r.code, r.stdout + r.stderr).toBe(1);
        expect(r.json.error.code).toBe('INTEGRITY_FAILURE');
        expect(r.json.error.message).toContain('manifest.jsonl');
        // Nothing was locked: neither object, nor the snapshot's files.
        expect(await lockedUntil(client, bucket, objectKey('st/', sha('alpha\n')))).toBeNull();
        expect(await lockedUntil(client, bucket, objectKey('st/', sha('bravo\n')))).toBeNull();
        expect(await lockedUntil(client, bucket, 'st/snapshots/ds/v1/commit.json')).toBeNull();
      } else {
        expectOk(r);
        expect(r.json.objects).toBe(2);
        for (const hex of [sha('alpha\n'), sha('bravo\n')]) expect(await lockedUntil(client, bucket, objectKey('st/', hex))).not.toBeNull();
        // The version the seal wrote is locked, not the one written over it.
        expect(await lockedUntil(client, bucket, key, sealed.VersionId)).not.toBeNull();
        expect(await lockedUntil(client, bucket, key)).toBeNull();
      }
    }
  });

  it('retain of an untouched snapshot locks every object and file it has', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const r = await run(['retain', 'ds@v1', '--until', '30d', '--store', store]);
    expectOk(r);
    expect(r.json.objects).toBe(2);
    for (const hex of [sha('alpha\n'), sha('bravo\n')]) expect(await lockedUntil(client, bucket, objectKey('st/', hex))).not.toBeNull();
    for (const f of ['manifest.jsonl', 'statement.json', 'envelope.json', 'contents.json']) expect(await lockedUntil(client, bucket, await stagedKey(client, bucket, 'st/', 'ds@v1', f))).not.toBeNull();
    expect(await lockedUntil(client, bucket, 'st/snapshots/ds/v1/commit.json')).not.toBeNull();
  });

  it('retain and seal --retain lock the version the seal wrote, not only one of the same size PUT over it (with no key) after the seal', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    // Someone with write access, no key: other bytes of the same size over alpha's object, so that
    // a lock taken later goes to them and the sealed version can be deleted once it is unlocked.
    const key = objectKey('st/', sha('alpha\n'));
    const [sealed] = await allVersions(client, bucket, key);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'omega\n' }));
    expect((await allVersions(client, bucket, key)).length).toBe(2);

    const r = await run(['retain', 'ds@v1', '--until', '30d', '--store', store]);
    expectOk(r);
    const sealedUntil = await lockedUntil(client, bucket, key, sealed!.VersionId);
    expect(Date.parse(sealedUntil ?? '') - Date.now()).toBeGreaterThan(29 * 86_400_000);

    // A second seal sharing the object extends the sealed version's lock too.
    const more = await makeTree({ 'a.txt': 'alpha\n', 'c.txt': 'charlie\n' });
    expectOk(await run(['seal', more, '--as', 'ds@v2', '--key', kp.key, '--store', store, '--retain', '60d']));
    expect(Date.parse((await lockedUntil(client, bucket, key, sealed!.VersionId)) ?? '') - Date.now()).toBeGreaterThan(59 * 86_400_000);
    // fsck still fails on the object's bytes, which readers refuse.
    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stdout + f.stderr).toBe(1);
  });

  it("fsck fails (exit 1) and show tells when a snapshot's own file is locked for less time than the snapshot, as it does for an object", { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--retain', '30d', '--retain-mode', 'governance']));
    expectOk(await run(['fsck', '--store', store]));
    // Someone allowed to bypass a GOVERNANCE lock shortens the manifest's, to delete it once it ends.
    const key = await stagedKey(client, bucket, 'st/', 'ds@v1', 'manifest.jsonl');
    await client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) } }));
    expect(await lockedUntil(client, bucket, key)).not.toBeNull();

    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stdout + f.stderr).toBe(1);
    expect(f.json.ok).toBe(false);
    expect([f.json.retention[0].shorterLocks, f.json.retention[0].shorterFiles]).toEqual([[], ['manifest.jsonl']]);
    const s = await run(['show', 'ds@v1', '--store', store]);
    expectOk(s);
    expect(s.json.retention.shorterFiles).toEqual(['manifest.jsonl']);
  });

  it("under the bucket's default retention rule, a seal without --retain locks none of the snapshot's objects or files for less time than the snapshot: fsck passes, and an object shared with an older snapshot is extended", { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    await client.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const more = await makeTree({ 'a.txt': 'alpha\n', 'c.txt': 'charlie\n' });
    await new Promise((r) => setTimeout(r, 1100)); // the second seal's locks end measurably later
    expectOk(await run(['seal', more, '--as', 'ds@v2', '--key', kp.key, '--store', store]));

    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stdout + f.stderr).toBe(0);
    const found = f.json.retention as { ref: string; mode: string; until: string; shorterLocks: string[]; shorterFiles: string[] }[];
    expect(found.map((r) => [r.ref, r.mode, r.shorterLocks, r.shorterFiles])).toEqual([
      ['ds@v1', 'GOVERNANCE', [], []],
      ['ds@v2', 'GOVERNANCE', [], []],
    ]);
    // About a day, as the rule says; alpha, shared, now held as long as ds@v2.
    const v2 = Date.parse(found[1]!.until);
    expect(Math.abs(v2 - Date.now() - 86_400_000)).toBeLessThan(120_000);
    expect(Date.parse((await lockedUntil(client, bucket, objectKey('st/', sha('alpha\n')))) ?? '')).toBeGreaterThanOrEqual(v2);
  });

  it('retain locks the co-signatures of the snapshot, and no other key planted in their folder (junk, a file that hashes to its name but is no envelope)', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    expectOk(await run(['sign', 'ds@v1', '--key', cosigner.key, '--store', store]));
    const folder = 'st/signatures/ds/v1/';
    const [genuine] = ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder }))).Contents ?? []).map((o) => o.Key as string);
    expect(genuine).toMatch(/\/[0-9a-f]{64}\.json$/);
    // Someone with write access, no key: junk that retain must not lock (under COMPLIANCE nobody
    // could delete it until the date).
    const junk = Buffer.alloc(1 << 20, 0x41);
    const planted = [`${folder}junk.bin`, `${folder}${createHash('sha256').update(junk).digest('hex')}.json`];
    for (const key of planted) await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: junk }));

    const r = await run(['retain', 'ds@v1', '--until', '2d', '--retain-mode', 'governance', '--store', store]);
    expectOk(r);
    expect(await lockedUntil(client, bucket, genuine!)).not.toBeNull();
    for (const key of planted) expect(await lockedUntil(client, bucket, key), key).toBeNull();
    expect(r.stderr).toContain('co-signature file signatures/ds/v1/junk.bin does not hash to its name: not locked');
    expect(r.stderr).toMatch(/co-signature file signatures\/ds\/v1\/[0-9a-f]{64}\.json is not an envelope: not locked/);
  });

  it('retain --pubkey locks the co-signature its key made past 1,030 planted envelopes ground to sort first, and none of them; without --pubkey the genuine one is past the first 1,024 and said not locked', { timeout: 240_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    expectOk(await run(['sign', 'ds@v1', '--key', cosigner.key, '--store', store]));
    const folder = 'st/signatures/ds/v1/';
    const [genuine] = ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder }))).Contents ?? []).map((o) => o.Key as string);
    const { payload, payloadType } = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: genuine! }))).Body!.transformToString()) as { payload: string; payloadType: string };
    // Someone with write access, no key: envelopes of the public payload with junk signatures.
    const planted: { key: string; body: Buffer }[] = [];
    while (planted.length < 1030) {
      const body = Buffer.from(JSON.stringify({ payload, payloadType, signatures: [{ keyid: cosigner.keyid, sig: createHash('sha512').update(String(Math.random())).digest('base64') }] }));
      const key = `${folder}${createHash('sha256').update(body).digest('hex')}.json`;
      if (key < genuine!) planted.push({ key, body });
    }
    for (let i = 0; i < planted.length; i += 32) await Promise.all(planted.slice(i, i + 32).map((p) => client.send(new PutObjectCommand({ Bucket: bucket, Key: p.key, Body: p.body }))));

    const without = await run(['retain', 'ds@v1', '--until', '2d', '--retain-mode', 'governance', '--store', store]);
    expectOk(without);
    expect(await lockedUntil(client, bucket, genuine!)).toBeNull();
    expect(without.stderr).toContain(`co-signature file ${genuine!.slice(3)} is past the first 1024 co-signature files (give --pubkey to lock those its keys signed, wherever they are): not locked`);

    // A --pubkey that cannot be read stops retain before anything is locked (NOT_FOUND, exit 3).
    const missing = await run(['retain', 'ds@v1', '--until', '3d', '--retain-mode', 'governance', '--pubkey', `${cosigner.pub}.missing`, '--store', store]);
    expect([missing.code, missing.json.error?.code]).toEqual([3, 'NOT_FOUND']);
    expect(await lockedUntil(client, bucket, genuine!)).toBeNull();

    const withKey = await run(['retain', 'ds@v1', '--until', '3d', '--retain-mode', 'governance', '--pubkey', cosigner.pub, '--store', store]);
    expectOk(withKey);
    expect(await lockedUntil(client, bucket, genuine!)).not.toBeNull();
    // The planted ones past the first 1,024 were locked by neither run.
    for (const p of planted.map((x) => x.key).sort().slice(1024)) expect(await lockedUntil(client, bucket, p), p).toBeNull();
    expect(withKey.stderr).toContain('carries no signature of a --pubkey key: not locked');
  });

  it('retain locks the four files of the snapshot and no other name its commit object gives: a commit object planted over the sealed one, naming junk beside them, gets no junk locked', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    // Someone with write access, no key, while nothing is locked yet: the sealed commit object is
    // replaced (its version removed) by one that also names a junk file of the staged folder.
    const commitKey = 'st/snapshots/ds/v1/commit.json';
    const sealed = await client.send(new GetObjectCommand({ Bucket: bucket, Key: commitKey }));
    const commit = JSON.parse(await sealed.Body!.transformToString()) as { staged: string; files: Record<string, string>; versions?: Record<string, string> };
    const junk = Buffer.alloc(1 << 20, 0x41);
    const junkKey = `st/snapshots/ds/v1/staged/${commit.staged}/extra.bin`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: junkKey, Body: junk }));
    commit.files['extra.bin'] = createHash('sha256').update(junk).digest('hex');
    delete commit.versions; // the four files are still read, as their current versions
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: commitKey, VersionId: sealed.VersionId }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: commitKey, Body: JSON.stringify(commit) }));

    expectOk(await run(['retain', 'ds@v1', '--until', '2d', '--retain-mode', 'governance', '--store', store]));
    expect(await lockedUntil(client, bucket, await stagedKey(client, bucket, 'st/', 'ds@v1', 'manifest.jsonl'))).not.toBeNull();
    expect(await lockedUntil(client, bucket, junkKey)).toBeNull();
  });

  it('fsck --clean in a bucket with Object Lock removes the staged folders of lost commits that no retention holds (DeleteObjects, which needs a checksum of its body there) and keeps one under a retention', { timeout: 120_000 }, async () => {
    const client = clientFor(server);
    const bucket = await newBucket(client, 'locked');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const sealed = ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string);
    expect(sealed).toHaveLength(4);
    // Two commits of ds@v1 that lost: their staged folders, one of its files under a retention.
    const lost = (t: string): string[] => sealed.map((k) => k.replace(/staged\/[0-9a-f]{32}\//, `staged/${t.repeat(32)}/`));
    for (const k of [...lost('a'), ...lost('b')]) await client.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: 'lost\n' }));
    const until = new Date(Date.now() + 86_400_000);
    await client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: lost('b')[0], Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } }));

    const cleaned = await run(['fsck', '--clean', '--store', store]);
    expectOk(cleaned);
    expect(cleaned.json.cleaned.removed.map((l: { path: string }) => l.path)).toEqual([`snapshots/ds/v1/staged/${'a'.repeat(32)}/`]);
    expect(cleaned.json.cleaned.kept.map((l: { path: string; removable: boolean }) => [l.path, l.removable])).toEqual([[`snapshots/ds/v1/staged/${'b'.repeat(32)}/`, false]]);
    const left = ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/ds/v1/staged/' }))).Contents ?? []).map((o) => o.Key as string).sort();
    expect(left).toEqual([...sealed, ...lost('b')].sort());
    expectOk(await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]));
  });
});
