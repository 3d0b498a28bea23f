/**
 * A committed snapshot's files as an S3 store hands them to a command (docs/FORMAT.md §23.5),
 * against moto_server (started here; never skipped): a manifest of any size is copied whole into
 * the working copy, streamed to disk, for the commands that read it (only those of the snapshots
 * their arguments name, for most); the other snapshot files are copied at most one byte past
 * what the local store's readers read, so a planted giant file costs neither memory nor the other
 * snapshots their verdicts. The store's other files (revocations/, attestations/, …) are copied
 * when a local store could hold them; keys that cannot be one are left out, or refused by name.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';

/** RACY_NS (src/incremental/stat-cache.ts) and a little: files changed within it of a seal's start are not cached. */
const RACY_WINDOW_MS = 2100;
/**
 * The dataset of the parent-manifest test, made when the file starts (before moto's start and the
 * tests ahead of it): that test needs its files older than the racy window of an incremental seal,
 * and sleeps only what is left of it (nothing, mostly), not a fixed 2.1 s.
 */
const early = { ds: '', madeAt: 0 };
beforeAll(async () => {
  early.ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
  early.madeAt = Date.now();
});
const server = useS3Server('moto');
const kp = useKeyPair('s3files');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });
const run = (args: string[]) => snapJson(args, { env: env() });
const expectOk = (r: { code: number; stdout: string; stderr: string }): void => expect(r.code, r.stdout + r.stderr).toBe(0);

/** The snapshots whose manifests a `--debug` run copied into its working copy (its `S3 transfer` line). */
const manifests = (r: { stderr: string }): unknown => (JSON.parse(/S3 transfer (\{.*\})\n/.exec(r.stderr)?.[1] ?? '{}') as { manifestsPulled?: unknown }).manifestsPulled;

/** The staged key of a committed snapshot's file (its commit object read back from the bucket). */
async function stagedKey(bucket: string, prefix: string, name: string, version: string, file: string): Promise<string> {
  const r = await clientFor(server).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}snapshots/${name}/${version}/staged/` }));
  const key = (r.Contents ?? []).map((o) => o.Key as string).find((k) => k.endsWith(`/${file}`));
  if (!key) throw new Error(`no staged ${file} of ${name}@${version}`);
  return key;
}

describe('snapshot files of an S3 store (moto)', () => {
  it('a snapshot whose manifest is larger than 64 MiB lists and verifies from an S3 store, as from a local one', { timeout: 240_000 }, async () => {
    // 18,000 empty files whose paths are about 3,700 bytes long: a manifest of about 69 MB.
    const data = await tempDir('snap-s3files-big-');
    const deep = join(data, ...Array.from({ length: 14 }, (_, i) => `d${String(i).padStart(2, '0')}${'x'.repeat(245)}`));
    await fsp.mkdir(deep, { recursive: true });
    for (let i = 0; i < 18_000; i++) await fsp.writeFile(join(deep, `f${String(i).padStart(6, '0')}${'y'.repeat(240)}`), '');
    const bucket = await newBucket(clientFor(server), 'plain');
    const store = `s3://${bucket}/st`;
    expectOk(await run(['seal', data, '--as', 'big@v1', '--key', kp.key, '--store', store]));
    const small = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', small, '--as', 'small@v1', '--key', kp.key, '--store', store]));
    const listed = await clientFor(server).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/snapshots/big/' }));
    const manifest = (listed.Contents ?? []).find((o) => o.Key?.endsWith('/manifest.jsonl'));
    expect(manifest?.Size).toBeGreaterThan(64 * 1024 * 1024);

    const list = await run(['list', '--store', store]);
    expectOk(list);
    expect((list.json.snapshots as { ref: string }[]).map((s) => s.ref).sort()).toEqual(['big@v1', 'small@v1']);
    const other = await run(['verify', small, '--against', 'small@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(other);
    const big = await run(['verify', data, '--against', 'big@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(big);
    expect(big.json.ok).toBe(true);
    expect(big.json.counts.matched).toBe(18_000);
  });

  it("a planted snapshot's giant envelope and statement are read only as far as a local store reads them: the other snapshots keep their verdicts, the planted one is refused", { timeout: 120_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    expectOk(await run(['seal', ds, '--as', 'ds@v2', '--key', kp.key, '--store', store]));
    // Someone with write access to the bucket, no key: ds@v2's envelope and statement become 70 MB each.
    const giant = Buffer.alloc(70 * 1024 * 1024, 0x20);
    for (const f of ['envelope.json', 'statement.json']) {
      await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: await stagedKey(bucket, 'st/', 'ds', 'v2', f), Body: giant }));
    }
    const v1 = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(v1);
    const v2 = await run(['verify', ds, '--against', 'ds@v2', '--pubkey', kp.pub, '--store', store]);
    expect(v2.code, v2.stdout + v2.stderr).not.toBe(0);
    expect(v2.code).not.toBe(3);
    expect(v2.json.ok).toBe(false);
  });

  it("a giant manifest planted in one snapshot is read only by the commands that name it: list, verify, show and diff of the others copy no manifest but theirs; verify and fsck of it still fail", { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    for (const as of ['ds@v1', 'ds@v2', 'other@v1']) expectOk(await run(['seal', ds, '--as', as, '--key', kp.key, '--store', store]));
    // Someone with write access to the bucket, no key: other@v1's manifest becomes 100 MB.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: await stagedKey(bucket, 'st/', 'other', 'v1', 'manifest.jsonl'), Body: Buffer.alloc(100 * 1024 * 1024, 0x20) }));

    const list = await run(['list', '--store', store, '--debug']);
    expectOk(list);
    expect((list.json.snapshots as { ref: string }[]).map((s) => s.ref).sort()).toEqual(['ds@v1', 'ds@v2', 'other@v1']);
    expect(manifests(list)).toEqual([]);
    // NAME@latest first: it names every snapshot of NAME (which is latest is the command's trust decision).
    const latest = await run(['verify', ds, '--against', 'ds@latest', '--pubkey', kp.pub, '--store', store, '--debug']);
    expectOk(latest);
    expect(manifests(latest)).toEqual(['ds@v1', 'ds@v2']);
    const v1 = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store, '--debug']);
    expectOk(v1);
    expect(manifests(v1)).toEqual(['ds@v1']);
    const show = await run(['show', 'ds@v2', '--store', store, '--debug']);
    expectOk(show);
    expect(manifests(show)).toEqual(['ds@v2']);
    const diff = await run(['diff', 'ds@v1', 'ds@v2', '--store', store, '--debug']);
    expectOk(diff);
    expect(manifests(diff)).toEqual(['ds@v1', 'ds@v2']);

    const bad = await run(['verify', ds, '--against', 'other@v1', '--pubkey', kp.pub, '--store', store, '--debug']);
    expect([bad.code, bad.json.ok]).toEqual([1, false]);
    expect(manifests(bad)).toEqual(['other@v1']);
    const fsck = await run(['fsck', '--store', store, '--debug']);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(1);
    expect(manifests(fsck)).toEqual(['ds@v1', 'ds@v2', 'other@v1']);
  });

  it("a seal copies only its parent's manifest (the newest snapshot of NAME, or --parent REF; none with --no-parent or --manifest-only): giant manifests planted in the others cost it nothing, and --incremental still takes the parent's digests", { timeout: 240_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = early.ds;
    // Its files older than the racy window of an incremental seal: what is left of it, if any.
    await new Promise((r) => setTimeout(r, Math.max(0, early.madeAt + RACY_WINDOW_MS - Date.now())));
    const seal = (as: string, ...more: string[]) => run(['seal', ds, '--as', as, '--key', kp.key, '--store', store, '--debug', ...more]);
    for (const as of ['ds@v1', 'other@v1']) expectOk(await seal(as));
    const v2 = await seal('ds@v2', '--incremental');
    expectOk(v2);
    expect(manifests(v2)).toEqual(['ds@v1']);
    // Someone with write access to the bucket, no key: ds@v1's and other@v1's manifests become 100 MB each.
    for (const [name, version] of [['ds', 'v1'], ['other', 'v1']] as const) {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: await stagedKey(bucket, 'st/', name, version, 'manifest.jsonl'), Body: Buffer.alloc(100 * 1024 * 1024, 0x20) }));
    }

    const v3 = await seal('ds@v3', '--incremental');
    expectOk(v3);
    expect(manifests(v3)).toEqual(['ds@v2']);
    expect(v3.json.parent).toBe(v2.json.snapshot);
    expect(v3.json.incremental).toMatchObject({ parent: v2.json.snapshot, cache: 'used', reused: 2 });
    const byRef = await seal('ds@v4', '--parent', 'ds@v2');
    expectOk(byRef);
    expect([manifests(byRef), byRef.json.parent]).toEqual([['ds@v2'], v2.json.snapshot]);
    const none = await seal('ds@v5', '--no-parent');
    expectOk(none);
    expect([manifests(none), none.json.parent]).toEqual([[], undefined]);
    const recordOnly = await seal('ds@v6', '--manifest-only');
    expectOk(recordOnly);
    expect([manifests(recordOnly), recordOnly.json.parent]).toEqual([[], none.json.snapshot]);
    expectOk(await run(['verify', ds, '--against', 'ds@v3', '--pubkey', kp.pub, '--store', store]));
  });

  it('lineage, impact, revoke, attest, bom and the import of a revocation copy no manifest; bom --pubkey and the import of NAME@VERSION.snap.tar only the named one; verify-model and bom --model only those the attestations name', { timeout: 240_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    for (const as of ['ds@v1', 'ds@v2', 'other@v1']) expectOk(await run(['seal', ds, '--as', as, '--key', kp.key, '--store', store]));
    const out = await tempDir('snap-s3files-cmds-');
    const archive = join(out, 'ds@v1.snap.tar');
    expectOk(await run(['export', 'ds@v1', '--out', archive, '--store', store]));
    const model = join(out, 'model.bin');
    await fsp.writeFile(model, 'weights\n');
    // Someone with write access to the bucket, no key: other@v1's manifest becomes 100 MB.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: await stagedKey(bucket, 'st/', 'other', 'v1', 'manifest.jsonl'), Body: Buffer.alloc(100 * 1024 * 1024, 0x20) }));
    const copied = async (args: string[], code = 0): Promise<unknown> => {
      const r = await run([...args, '--store', store, '--debug']);
      expect(r.code, r.stdout + r.stderr).toBe(code);
      return manifests(r);
    };

    expect(await copied(['lineage', 'ds@v2'])).toEqual([]);
    expect(await copied(['impact', 'ds@v1'])).toEqual([]);
    expect(await copied(['attest', model, '--data', 'ds@v1', '--key', kp.key, '--as', 'clf@1'])).toEqual([]);
    // attest --pubkey checks the data first, as bom REF --pubkey does: its manifest, and no other.
    expect(await copied(['attest', model, '--data', 'ds@v1', '--key', kp.key, '--as', 'clf@checked', '--pubkey', kp.pub])).toEqual(['ds@v1']);
    expect(await copied(['bom', 'ds@v1'])).toEqual([]);
    expect(await copied(['bom', 'ds@v1', '--pubkey', kp.pub])).toEqual(['ds@v1']);
    // Whether ds@v1 is already there is read from its folder: found, it is not imported again.
    const again = await run(['import', archive, '--pubkey', kp.pub, '--store', store, '--debug']);
    expectOk(again);
    expect([manifests(again), again.json.alreadyPresent]).toEqual([['ds@v1'], true]);
    const revocation = join(out, 'ds-v2.revocation.json');
    expect(await copied(['revoke', 'ds@v2', '--key', kp.key, '--reason', 'test', '--out', revocation])).toEqual([]);
    expect(await copied(['import', revocation, '--pubkey', kp.pub])).toEqual([]);
    // The snapshots a model was trained on are named by the store's attestations: only theirs are
    // copied (not other@v1's planted 100 MB), and the verdict is the local store's.
    expect(await copied(['verify-model', model, '--pubkey', kp.pub])).toEqual(['ds@v1']);
    expect(await copied(['bom', '--model', 'clf@1', '--pubkey', kp.pub])).toEqual(['ds@v1']);
  });

  it('a commit object planted with file names a snapshot does not have gets none of them read: only its manifest, statement, envelope and contents.json are copied', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    // Bucket write access, no key: the commit object now also names ten 8 MiB files of its staged folder.
    const commitKey = 'st/snapshots/ds/v1/commit.json';
    const commit = JSON.parse(Buffer.from((await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: commitKey }))).Body?.transformToByteArray()) ?? []).toString('utf8')) as { staged: string; files: Record<string, string> };
    const junk = Buffer.alloc(8 << 20, 0x41);
    for (let i = 0; i < 10; i++) {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/snapshots/ds/v1/staged/${commit.staged}/extra${i}.bin`, Body: junk }));
      commit.files[`extra${i}.bin`] = createHash('sha256').update(junk).digest('hex');
    }
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: commitKey, Body: JSON.stringify(commit) }));

    const dir = await tempDir('snap-s3files-copy-');
    const remote = new S3Backend(c, { bucket, prefix: 'st/' });
    expect((await remote.readSnapshotInto('ds', 'v1', dir)).sort()).toEqual(['contents.json', 'envelope.json', 'manifest.jsonl', 'statement.json']);
    expect((await fsp.readdir(dir)).sort()).toEqual(['contents.json', 'envelope.json', 'manifest.jsonl', 'statement.json']);
    expectOk(await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]));
  });
  it('a commit object planted for another NAME@VERSION (junk, or 65 MiB) concerns that snapshot only: verify of the others passes, fsck and verify report it as a snapshot whose files are missing', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/snapshots/junk/v1/commit.json', Body: 'garbage' }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/snapshots/huge/v1/commit.json', Body: Buffer.alloc(65 << 20, 0x20) }));
    const ok = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(ok);
    // verify of ds@v1 reads no other snapshot's commit object (FORMAT.md §23.5).
    expect(ok.stderr).not.toContain('junk@v1');
    const f = await run(['fsck', '--store', store]);
    expect(f.code, f.stdout + f.stderr).toBe(1);
    expect(JSON.stringify(f.json)).toContain('junk@v1');
    expect(JSON.stringify(f.json)).toContain('huge@v1');
    const bad = await run(['verify', ds, '--against', 'junk@v1', '--pubkey', kp.pub, '--store', store]);
    expect([bad.code, bad.json.ok]).toEqual([1, false]);
    expect(bad.stderr).toMatch(/the commit object of junk@v1 .* is malformed: none of its files is read/);
  });
});

describe('other files of an S3 store (moto)', () => {
  it('keys planted where a local store could hold no file (a name whose temporary copy would be over 255 bytes, tmp/, log.jsonl) are left out: commands still work', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    for (const key of [`st/attestations/${'a'.repeat(240)}.json`, `st/attestations/${'b'.repeat(300)}/x.json`, 'st/tmp/x', 'st/log.jsonl', 'st/lock']) {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'junk' }));
    }
    expectOk(await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]));
    expectOk(await run(['list', '--store', store]));
  });

  it('a key planted as a file where store files need a folder of that name, at the top or inside revocations/, is none of snap\'s: not listed, and the revocation in that folder still counts (exit 1, SNAPSHOT_REVOKED)', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    expectOk(await run(['revoke', 'ds@v1', '--key', kp.key, '--reason', 'test', '--store', store]));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/revocations', Body: 'junk' }));
    const r = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([r.code, r.json.failure?.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
    // Inside a folder of store files, a key planted where the revocation's folder is (a file of that
    // name) is none of snap's either (no revocation is a file there): skipped and said, and the
    // revocation still counts.
    const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/revocations/' }));
    const folder = (listed.Contents ?? []).map((o) => o.Key as string).find((k) => k.split('/').length === 4)?.split('/').slice(0, 3).join('/') as string;
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: folder, Body: 'junk' }));
    const again = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect([again.code, again.json.failure?.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
    expect(again.stderr).toContain(`1 key(s) under ${store}/'s folders of store files`);
  });
  it('a giant file planted among the other files (65 MiB under revocations/) is read only one byte past what a local reader reads: commands still work', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/revocations/zzz.json', Body: Buffer.alloc(65 << 20, 0x7a) }));
    const r = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(r);
    expect(r.json.ok).toBe(true);
    // Unchanged by the command, the file is not pushed back cut: the bucket still holds it whole.
    const listed = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/revocations/' }));
    expect(listed.Contents?.map((o) => o.Size)).toEqual([65 << 20]);
  });
});

describe('the audit log of an S3 store (moto)', () => {
  it('lineage --pubkey and impact --pubkey of an S3 store verify every snapshot they check as on a local store: its manifest is copied, not reported missing ("the snapshot was damaged")', { timeout: 120_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    await fsp.writeFile(join(ds, 'b.txt'), 'bravo\n');
    expectOk(await run(['seal', ds, '--as', 'ds@v2', '--key', kp.key, '--store', store]));

    const impact = await run(['impact', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(impact);
    expect(impact.json.unverified).toEqual([]);
    expect((impact.json.derived as { ref: string }[]).map((d) => d.ref)).toEqual(['ds@v2']);

    const lineage = await run(['lineage', 'ds@v2', '--pubkey', kp.pub, '--store', store]);
    expectOk(lineage);
    expect((lineage.json.chain as { ref: string; verified: boolean }[]).map((n) => [n.ref, n.verified])).toEqual([['ds@v2', true], ['ds@v1', true]]);
  });

  it('a line planted ahead of the log, on the key the next line needed, does not fail the commands: verify of intact data exits 0 and its line goes past the planted key (FORMAT §23.9), which log --verify reports', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    // The seal wrote line 1; a line planted under key 3 claims seq 2. Before, the next line (seq 3)
    // found its key taken and was not written; now each goes past the greatest key listed.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/log/000000000003.jsonl', Body: '{"seq":2}\n' }));
    for (let i = 0; i < 2; i++) {
      const r = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
      expectOk(r);
      expect(r.json.ok).toBe(true);
      expect(r.stderr).not.toContain('audit log not written');
      expect(r.json.log).toMatchObject({ written: true, seq: 4 + i });
    }
    // The log shows what was planted.
    expect((await run(['log', '--verify', '--store', store])).code).toBe(1);
  });
  it('a giant line planted in the log is read only one byte past the longest line snap writes: commands still work, and log --verify reports it', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/log/000000000002.jsonl', Body: Buffer.alloc(65 << 20, 0x7a) }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/log.head', Body: Buffer.alloc(65 << 20, 0x7a) }));
    const r = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expectOk(r);
    expect(r.json.ok).toBe(true);
    const log = await run(['log', '--verify', '--store', store]);
    expect(log.code, log.stdout + log.stderr).toBe(1);
  });
});

describe('objects an S3 store hands to restore (moto)', () => {
  it("an object replaced by a much larger one is read only one byte past the manifest's size: restore refuses it as on a local store, without downloading it", { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const ds = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
    const hex = createHash('sha256').update('alpha\n').digest('hex');
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`, Body: Buffer.alloc(40 << 20, 0x7a) }));
    const r = await run(['restore', 'ds@v1', join(await tempDir('snap-s3files-restore-'), 'out'), '--pubkey', kp.pub, '--store', store, '--debug']);
    expect([r.code, r.json.error?.code]).toEqual([1, 'OBJECT_CORRUPT']);
    const m = /S3 transfer (\{.*\})\n/.exec(r.stderr);
    const stats = JSON.parse(m?.[1] ?? '{}') as { objectsPulled: number; bytesPulled: number; objectsCorrupt: string[] };
    expect(stats.objectsCorrupt).toEqual([hex]);
    expect(stats.bytesPulled).toBe(7 + 6); // a.txt's object cut at 6 + 1 bytes, b.txt's 6 bytes
  });
});

