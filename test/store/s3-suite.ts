/**
 * The S3 store, against one real server (moto or Ceph's RADOS Gateway, started here; never skipped):
 * the whole gate gives the same results as a local store, tampering is caught, two sealers of one
 * NAME@VERSION cannot both win, a killed seal's rerun uploads nothing twice, and (Object Lock
 * servers) sealed objects cannot be deleted before their retention date.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, GetObjectRetentionCommand, PutObjectCommand, PutObjectRetentionCommand } from '@aws-sdk/client-s3';
import { useS3Server, type S3ServerKind } from '../helpers/s3-server.js';
import { makeTree, snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { allVersions, clientFor, comparable, newBucket } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';

/** Define the tests of the S3 store against a `kind` server. */
export function defineS3StoreTests(kind: S3ServerKind): void {
  const server = useS3Server(kind);
  const kp = useKeyPair('s3');
  const cosigner = useKeyPair('s3-cosigner');
  const env = (): Record<string, string> => ({ ...server.env });
  const run = (args: string[]) => snapJson(args, { env: env() });
  const expectOk = (r: { code: number; stdout: string; stderr: string }): void => expect(r.code, r.stdout + r.stderr).toBe(0);

  /** seal → verify → diff → export → import → restore → fsck → log --verify; comparable results. */
  async function gate(store: string, other: string, work: string): Promise<unknown[]> {
    const data = await makeTree({ 'a.txt': 'alpha\n', 'sub/b.csv': 'id,y\n1,0\n2,1\n', 'big.bin': Buffer.alloc(200_000, 7) });
    const out: unknown[] = [];
    const step = async (args: string[]): Promise<void> => {
      const r = await run(args);
      out.push({ step: args[0], code: r.code, json: comparable(r.json) });
    };
    await step(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]);
    await fsp.writeFile(join(data, 'a.txt'), 'alpha, changed\n');
    await fsp.writeFile(join(data, 'c.txt'), 'new\n');
    await step(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store]);
    await step(['verify', data, '--against', 'ds@v2', '--pubkey', kp.pub, '--store', store]);
    await step(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    await step(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    const tar = join(work, 'ds@v2.snap.tar');
    await step(['export', 'ds@v2', '--store', store, '--out', tar]);
    await step(['import', tar, '--pubkey', kp.pub, '--store', other]);
    await step(['restore', 'ds@v2', join(work, 'restored'), '--pubkey', kp.pub, '--store', other]);
    await step(['fsck', '--store', store]);
    await step(['fsck', '--store', other]);
    await step(['list', '--store', store]);
    await step(['log', '--verify', '--store', store]);
    await step(['log', '--verify', '--store', other]);
    out.push({ restored: (await fsp.readdir(join(work, 'restored'))).sort() });
    return out;
  }

  it(`the whole gate against the S3 store (${kind}) gives the same results as against a local store`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const local = await gate(join(await tempDir('snap-local-'), 'store'), join(await tempDir('snap-local-'), 'store'), await tempDir('snap-gate-'));
    const remote = await gate(`s3://${bucket}/one`, `s3://${bucket}/two`, await tempDir('snap-gate-'));
    expect(remote).toEqual(local);
    expect((local as { code?: number }[]).map((s) => s.code)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, undefined]);
  }, 240_000);

  it(`a tampered object in the S3 store (${kind}) is caught by fsck and restore; a statement written over is not read, and one removed fails verify`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const hex = (await import('node:crypto')).createHash('sha256').update('alpha\n').digest('hex');
    // Another writer (the test, with the SDK directly) replaces the object's bytes.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`, Body: 'ALPHA\n' }));
    const f = await run(['fsck', '--store', store]);
    expect(f.code).toBe(1);
    expect(f.json.objects.corrupt.map((o: { sha256?: string } | string) => (typeof o === 'string' ? o : JSON.stringify(o))).join()).toContain(hex);
    const r = await run(['restore', 'ds@v1', join(await tempDir('snap-r-'), 'out'), '--pubkey', kp.pub, '--store', store]);
    expect(r.code).toBe(1);
    // The statement: staged files are named by the commit object, by digest and version (§23.3).
    // A version written over the sealed one is not read; the sealed one removed, verify fails.
    const staged = (await allVersions(c, bucket, 'st/snapshots/ds/v1/staged/')).find((v) => v.Key?.endsWith('/statement.json'));
    const text = await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: staged?.Key }))).Body?.transformToString();
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: staged?.Key, Body: (text ?? '').replace('"fileCount":2', '"fileCount":3') }));
    expectOk(await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]));
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: staged?.Key, VersionId: staged?.VersionId }));
    const v = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect(v.code).toBe(1);
  }, 120_000);

  it(`a large object goes up in parts (${kind}), once, and reads back re-hashed`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const b = new S3Backend(clientFor(server), { bucket, prefix: 'st/' }, { multipartThreshold: 5 * 1024 * 1024 });
    await b.open(true);
    const big = Buffer.alloc(12 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const h = createHash('sha256').update(big).digest('hex');
    expect(await b.putObject(h, () => Readable.from([big]), big.length)).toBe('stored');
    expect(await b.putObject(h, () => Readable.from([big]), big.length)).toBe('present');
    expect(b.counters).toEqual({ objectPuts: 1, objectsPresent: 1 });
    const back = createHash('sha256');
    for await (const chunk of await b.getObject(h)) back.update(chunk as Buffer);
    expect(back.digest('hex')).toBe(h);
    expect(await allVersions(c, bucket, 'st/objects/')).toHaveLength(1);
  }, 120_000);

  it(`two concurrent commits of one NAME@VERSION into the S3 store (${kind}): exactly one wins, in every kind of bucket`, async () => {
    const c = clientFor(server);
    for (const b of ['plain', 'versioned'] as const) {
      const bucket = await newBucket(c, b);
      const backend = (): S3Backend => new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
      const files = (who: string): Map<string, Uint8Array> => new Map([['statement.json', Buffer.from(`{"who":"${who}"}`)], ['manifest.jsonl', Buffer.from(who)]]);
      const a = backend();
      await a.open(true);
      const results = await Promise.allSettled(['one', 'two', 'three', 'four'].map((w) => backend().commitSnapshot('ds', 'v1', files(w))));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won.length, `${b} bucket`).toBe(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('SNAPSHOT_EXISTS');
      const winner = ['one', 'two', 'three', 'four'][results.findIndex((r) => r.status === 'fulfilled')];
      // Every reader sees the winner's files, whatever else was written.
      const read = await backend().readSnapshot('ds', 'v1');
      expect(Buffer.from(read.get('manifest.jsonl') ?? []).toString()).toBe(winner);
    }
  }, 120_000);

  it(`a second commit object of one NAME@VERSION (${kind}): refused where If-None-Match is honoured, else a later version that every reader ignores`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const b = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    await b.open(true);
    await b.commitSnapshot('ds', 'v1', new Map([['manifest.jsonl', Buffer.from('first')]]));
    // What a racing sealer's PUT does, sent directly with the SDK.
    const late = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/snapshots/ds/v1/commit.json', Body: '{"format":"snap-commit/1"}', IfNoneMatch: '*' })).then(() => 'stored', (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    // moto honours the condition; Ceph 16 ignores it in a versioned bucket (docs/FORMAT.md §23.3).
    expect(late).toBe(kind === 'moto' ? 412 : 'stored');
    const fresh = new S3Backend(clientFor(server), { bucket, prefix: 'st/' });
    const listed = await fresh.listSnapshots();
    expect(listed).toEqual([{ name: 'ds', version: 'v1', ...(late === 'stored' ? { ignored: [expect.any(String)] } : {}) }]);
    expect(Buffer.from((await fresh.readSnapshot('ds', 'v1')).get('manifest.jsonl') ?? []).toString()).toBe('first');
  }, 60_000);

  it(`two concurrent seals of one NAME@VERSION into the S3 store (${kind}): exactly one wins`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const d1 = await makeTree({ 'a.txt': 'one\n' });
    const d2 = await makeTree({ 'a.txt': 'two\n' });
    const [r1, r2] = await Promise.all([d1, d2].map((d) => spawnSnap(['seal', d, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--json'], { env: env(), timeoutMs: 120_000 }).done));
    expect([r1?.code, r2?.code].sort()).toEqual([0, 3]);
    expect([r1, r2].find((r) => r?.code === 3)?.stderr).toContain('SNAPSHOT_EXISTS');
    const l = await run(['list', '--store', store]);
    expect(l.json.snapshots ?? l.json).toHaveLength(1);
  }, 180_000);

  it(`a seal into the S3 store (${kind}) killed midway leaves no snapshot, and its rerun uploads no object twice`, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const spec: Record<string, string> = {};
    for (let i = 0; i < 400; i++) spec[`f${String(i).padStart(4, '0')}.txt`] = `file ${i}\n`;
    const data = await makeTree(spec);
    const { child, done } = spawnSnap(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store], { env: env(), timeoutMs: 120_000 });
    // Kill it once some objects are up (and before all are).
    for (let t = 0; t < 600; t++) {
      const up = (await allVersions(c, bucket, 'st/objects/')).length;
      if (up >= 20) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    const first = await done;
    expect(first.signal).toBe('SIGKILL');
    const before = (await allVersions(c, bucket, 'st/objects/')).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(400);
    expect((await allVersions(c, bucket, 'st/snapshots/')).filter((v) => v.Key?.endsWith('commit.json'))).toHaveLength(0);
    const again = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]);
    expectOk(again);
    const versions = await allVersions(c, bucket, 'st/objects/');
    expect(versions).toHaveLength(400);
    expect(new Set(versions.map((v) => v.Key)).size).toBe(400); // one upload per object: no key has two versions
    expect((await run(['fsck', '--store', store])).code).toBe(0);
  }, 240_000);

  it(`a malformed s3:// store is a usage error; a missing bucket or store (${kind}) is NOT_FOUND, and nothing is made by a reader`, async () => {
    const bad = await run(['list', '--store', 's3://Bad_Bucket/x']);
    expect([bad.code, bad.json.error.code]).toEqual([2, 'S3_URL_MALFORMED']);
    const noBucket = await run(['list', '--store', `s3://no-such-bucket-${process.pid}/x`]);
    expect([noBucket.code, noBucket.json.error.code]).toEqual([3, 'NOT_FOUND']);
    const bucket = await newBucket(clientFor(server), 'plain');
    const noStore = await run(['list', '--store', `s3://${bucket}/absent`]);
    expect([noStore.code, noStore.json.error.code]).toEqual([3, 'NOT_FOUND']);
    expect(await allVersions(clientFor(server), bucket, '')).toHaveLength(0);
  }, 60_000);

  it(`$SNAP_STORE may name the S3 store (${kind}); sign by a key that signed already changes nothing there; fsck --clean of a clean store removes nothing`, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const data = await makeTree({ 'a.txt': 'a\n' });
    const viaEnv = await snapJson(['seal', data, '--as', 'ds@v1', '--key', kp.key], { env: { ...env(), SNAP_STORE: `s3://${bucket}/st` } });
    expectOk(viaEnv);
    const listed = await run(['list', '--store', `s3://${bucket}/st`]);
    expect(JSON.stringify(listed.json)).toContain('ds@v1');
    const signed = await run(['sign', 'ds@v1', '--key', kp.key, '--store', `s3://${bucket}/st`]);
    expect([signed.code, signed.json.changed, signed.json.alreadySigned.length]).toEqual([0, false, 1]);
    const clean = await run(['fsck', '--clean', '--store', `s3://${bucket}/st`]);
    expect([clean.code, clean.json.cleaned?.removed]).toEqual([0, []]);
  }, 60_000);

  it(`--retain on a local store is a usage error (exit 2); on a bucket without Object Lock (${kind}) an environment error`, async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', join(await tempDir('snap-l-'), 'store'), '--retain', '400d']);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE']);
    const bucket = await newBucket(clientFor(server), 'plain');
    const r2 = await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', `s3://${bucket}/st`, '--retain', '400d']);
    expect([r2.code, r2.json.error.code]).toEqual([3, 'STORE_MALFORMED']);
  }, 60_000);

  if (kind === 'ceph') {
    it('with Object Lock (ceph): a sealed snapshot\'s objects and files cannot be deleted or overwritten before their retention date, and a shared object\'s lock is extended, never shortened', async () => {
      const c = clientFor(server);
      const bucket = await newBucket(c, 'locked');
      const store = `s3://${bucket}/st`;
      const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
      expect((await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--retain', '30d'])).code).toBe(0);
      await fsp.writeFile(join(data, 'c.txt'), 'charlie\n');
      expect((await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', store, '--retain', '60d', '--retain-mode', 'governance'])).code).toBe(0);
      const hexOf = (t: string): string => createHash('sha256').update(t).digest('hex');
      const v1Objects = ['alpha\n', 'bravo\n'].map((t) => { const h = hexOf(t); return `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`; });
      const versions = (await allVersions(c, bucket, 'st/')).filter((v) => v1Objects.includes(v.Key ?? '') || v.Key?.startsWith('st/snapshots/ds/v1/'));
      expect(versions).toHaveLength(2 + 4 + 1); // 2 objects, 4 staged files, the commit object
      const day = 86_400_000;
      for (const v of versions) {
        const ret = (await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))).Retention;
        expect(ret?.Mode, v.Key).toBe('COMPLIANCE');
        const until = new Date(ret?.RetainUntilDate ?? 0).getTime();
        // a.txt and b.txt are shared with ds@v2: extended to 60 days (and kept COMPLIANCE).
        expect(until, v.Key).toBeGreaterThan(Date.now() + (v.Key?.includes('/objects/') ? 59 : 29) * day);
        await expect(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }))).rejects.toThrow();
      }
      // show and fsck report each snapshot's retention; retain extends it later.
      const shown = await run(['show', 'ds@v1', '--store', store]);
      expect([shown.code, shown.json.retention.mode, shown.json.retention.shorterLocks]).toEqual([0, 'COMPLIANCE', []]);
      expectOk(await run(['retain', 'ds@v1', '--until', '90d', '--store', store]));
      const later = (await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: v1Objects[0] }))).Retention;
      expect(new Date(later?.RetainUntilDate ?? 0).getTime()).toBeGreaterThan(Date.now() + 89 * day);
      const f = await run(['fsck', '--store', store]);
      expect([f.code, f.json.retention.map((r: { ref: string; mode: string }) => `${r.ref} ${r.mode}`)]).toEqual([0, ['ds@v1 COMPLIANCE', 'ds@v2 GOVERNANCE']]);
      // An overwrite only adds a version: the sealed one is still there, unchanged, and reads report the change.
      const obj = versions.find((v) => v.Key?.includes('/objects/'));
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: obj?.Key, Body: 'evil' }));
      const sealed = await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: obj?.Key, VersionId: obj?.VersionId }))).Body?.transformToByteArray();
      expect((await import('node:crypto')).createHash('sha256').update(sealed ?? new Uint8Array()).digest('hex')).toBe(obj?.Key?.split('/').slice(-2).join(''));
      expect((await run(['fsck', '--store', store])).code).toBe(1);
    }, 240_000);

    it('fsck (ceph) fails on a snapshot whose objects are locked for less time than the snapshot itself, and names them', async () => {
      const c = clientFor(server);
      const bucket = await newBucket(c, 'locked');
      const store = `s3://${bucket}/st`;
      const data = await makeTree({ 'a.txt': 'alpha\n' });
      expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
      // Only the commit object gets a lock (as a careless admin might do by hand).
      await c.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'st/snapshots/ds/v1/commit.json', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) } }));
      const f = await run(['fsck', '--store', store]);
      expect([f.code, f.json.ok, f.json.retention[0].shorterLocks]).toEqual([1, false, [createHash('sha256').update('alpha\n').digest('hex')]]);
    }, 120_000);

    it('a co-signature (ceph) is locked as long as its snapshot, and fsck --repair-from puts a tampered locked object back under the same lock', async () => {
      const c = clientFor(server);
      const bucket = await newBucket(c, 'locked');
      const store = `s3://${bucket}/st`;
      const data = await makeTree({ 'a.txt': 'alpha\n' });
      const tar = join(await tempDir('snap-ceph-'), 'ds.snap.tar');
      expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store, '--retain', '30d']));
      expectOk(await run(['export', 'ds@v1', '--out', tar, '--store', store]));
      expectOk(await run(['sign', 'ds@v1', '--key', cosigner.key, '--store', store]));
      const day = 86_400_000;
      const cosig = (await allVersions(c, bucket, 'st/signatures/ds/v1/'))[0];
      const ret = (await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: cosig?.Key, VersionId: cosig?.VersionId }))).Retention;
      expect([ret?.Mode, new Date(ret?.RetainUntilDate ?? 0).getTime() > Date.now() + 29 * day]).toEqual(['COMPLIANCE', true]);
      await expect(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: cosig?.Key, VersionId: cosig?.VersionId }))).rejects.toThrow();
      expectOk(await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--pubkey', cosigner.pub, '--threshold', '2', '--store', store]));
      // Tampered (a new version over the locked one), then repaired from the archive.
      const h = createHash('sha256').update('alpha\n').digest('hex');
      const key = `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`;
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'evil' }));
      expect((await run(['fsck', '--store', store])).code).toBe(1);
      const repaired = await run(['fsck', '--repair-from', tar, '--store', store]);
      expect([repaired.code, repaired.json.repair.repaired.length]).toEqual([0, 1]);
      const now = (await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }))).Retention;
      expect([now?.Mode, new Date(now?.RetainUntilDate ?? 0).getTime() > Date.now() + 29 * day]).toEqual(['COMPLIANCE', true]);
      expectOk(await run(['restore', 'ds@v1', join(await tempDir('snap-ceph-'), 'out'), '--pubkey', kp.pub, '--store', store]));
    }, 240_000);
  }
}
