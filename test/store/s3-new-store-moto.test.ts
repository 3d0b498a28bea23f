/**
 * A seal or an import into an S3 prefix that holds no store makes the store only when it puts
 * something there (moto_server, started here; never skipped), as a local seal that fails makes no
 * store folder: one that fails before anything went up (a missing key, a missing folder, a missing
 * archive) leaves no key at all under the prefix — no `store.json`, no audit log line; one that
 * uploads objects writes `store.json` before the first of them, so that a seal stopped after its
 * uploads leaves a store (whose leftovers fsck and prune handle), never objects under a prefix that
 * is no store. `init` still makes the store at once.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, spiedClient } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { LocalBackend } from '../../src/store/local.js';
import { openRemoteSession } from '../../src/store/remote-session.js';
import { openStore } from '../../src/io/store.js';
import { seal } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3newstore');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });

/** Every key under `prefix` of `bucket` (the command under test has finished: its lock is gone). */
async function keysUnder(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (;;) {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key);
    if (!r.IsTruncated) return out.sort();
    token = r.NextContinuationToken;
  }
}

/** A new bucket and an S3 store URL in it whose prefix holds nothing. */
async function emptyPrefix(): Promise<{ c: S3Client; bucket: string; store: string }> {
  const c = clientFor(server);
  const bucket = await newBucket(c, 'plain');
  return { c, bucket, store: `s3://${bucket}/new/` };
}

describe('a seal or an import into an S3 prefix with no store that fails before anything goes up leaves no store (moto)', () => {
  it('a seal with a missing key fails as into a new local store (exit 3, NOT_FOUND) and leaves no key under the prefix: no store.json, no log line', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const missing = join(await tempDir('snap-s3new-'), 'missing.key');
    const local = join(await tempDir('snap-s3new-local-'), 'store');
    const there = await snapJson(['seal', data, '--as', 'x@1', '--key', missing, '--store', local]);
    const r = await snapJson(['seal', data, '--as', 'x@1', '--key', missing, '--store', store], { env: env() });
    expect([r.code, r.json.error?.code], r.stdout + r.stderr).toEqual([there.code, there.json.error?.code]);
    expect(r.code).toBe(3);
    expect(await fsp.stat(local).catch(() => undefined)).toBeUndefined();
    expect(await keysUnder(c, bucket, 'new/')).toEqual([]);
    const list = await snap(['list', '--store', store], { env: env() });
    expect(list.code).toBe(3);
    expect(list.stderr).toContain('no snap store at');
  });

  it('a seal of a folder that does not exist leaves no key under the prefix', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const gone = join(await tempDir('snap-s3new-'), 'no-such-folder');
    const r = await snapJson(['seal', gone, '--as', 'x@1', '--key', kp.key, '--store', store], { env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(await keysUnder(c, bucket, 'new/')).toEqual([]);
  });

  it('an import of an archive that does not exist leaves no key under the prefix', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const gone = join(await tempDir('snap-s3new-'), 'x@1.snap.tar');
    const r = await snapJson(['import', gone, '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(await keysUnder(c, bucket, 'new/')).toEqual([]);
  });
});

describe('a seal into an S3 prefix with no store that puts something there makes the store (moto)', () => {
  it('a seal that succeeds makes the store: store.json, its objects, its snapshot and its log line are there; list and fsck see it', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    const r = await snapJson(['seal', data, '--as', 'x@1', '--key', kp.key, '--store', store], { env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.log?.written).toBe(true);
    const keys = await keysUnder(c, bucket, 'new/');
    expect(keys).toContain('new/store.json');
    expect(keys.filter((k) => k.startsWith('new/objects/sha256/'))).toHaveLength(2);
    expect(keys).toContain('new/snapshots/x/1/commit.json');
    expect(keys).toContain('new/log/000000000001.jsonl');
    expect(keys.filter((k) => k.startsWith('new/locks/'))).toEqual([]);
    const list = await snapJson(['list', '--store', store], { env: env() });
    expect(list.code, list.stdout + list.stderr).toBe(0);
    expect(JSON.stringify(list.json)).toContain('"x"');
    const fsck = await snap(['fsck', '--store', store], { env: env() });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('a seal stopped after its first batch of objects went up (while it ran) leaves a store: store.json was written before them', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'c.txt': 'charlie\n' });
    const r = await spawnSnap(['seal', data, '--as', 'x@1', '--key', kp.key, '--store', store], { env: { ...env(), SNAP_S3_STAGE_BYTES: '1', SNAP_TEST_KILL_AT: 's3-handed-over:1' }, timeoutMs: 60_000 }).done;
    expect(r.signal, `not killed there (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const keys = await keysUnder(c, bucket, 'new/');
    expect(keys.filter((k) => k.startsWith('new/objects/sha256/')).length).toBeGreaterThan(0);
    expect(keys).toContain('new/store.json');
    expect(keys.filter((k) => k.startsWith('new/snapshots/'))).toEqual([]);
  });

  it('a seal stopped after the push uploaded its objects leaves a store with store.json, which its rerun completes', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    const args = ['seal', data, '--as', 'x@1', '--key', kp.key, '--store', store];
    const r = await spawnSnap(args, { env: { ...env(), SNAP_TEST_KILL_AT: 's3-objects-pushed' }, timeoutMs: 60_000 }).done;
    expect(r.signal, `not killed there (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
    const keys = await keysUnder(c, bucket, 'new/');
    expect(keys.filter((k) => k.startsWith('new/objects/sha256/'))).toHaveLength(2);
    expect(keys).toContain('new/store.json');
    const list = await snapJson(['list', '--store', store], { env: env() });
    expect(list.code, list.stdout + list.stderr).toBe(0);
    const again = await snapJson(args, { env: env() });
    expect([again.code, again.json.newObjects], again.stdout + again.stderr).toEqual([0, 0]);
    const fsck = await snap(['fsck', '--store', store], { env: env() });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('a seal that fails after its objects went up (another sealer committed its NAME@VERSION meanwhile) leaves a store with store.json and its objects as leftovers', { timeout: 120_000 }, async () => {
    const { c, bucket } = await emptyPrefix();
    const sent: string[] = [];
    const spied = spiedClient(server, (cmd) => {
      if (cmd instanceof PutObjectCommand && cmd.input.Key && !cmd.input.Key.startsWith('new/locks/')) sent.push(cmd.input.Key);
    });
    const session = await openRemoteSession(new S3Backend(spied, { bucket, prefix: 'new/' }), { create: 'when-written', objects: 'none', presence: true, stageBytes: 1, note: () => {} });
    expect(await keysUnder(c, bucket, 'new/store.json')).toEqual([]);
    const data = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    await seal({ dir: data, as: 'x@1', key: await readPrivateKey(kp.key), store: session.root, jobs: 2 });
    // The objects went up while the seal ran (a stage of 1 byte): store.json first.
    expect(sent[0]).toBe('new/store.json');
    expect(sent.filter((k) => k.startsWith('new/objects/'))).toHaveLength(2);
    // Meanwhile another sealer commits x@1 (it finds the store this seal made).
    const rival = new S3Backend(clientFor(server), { bucket, prefix: 'new/' });
    expect(await rival.open(true)).toBe(false);
    await rival.commitSnapshot('x', '1', await new LocalBackend(await openStore(session.root)).readSnapshot('x', '1'));
    await expect(session.finish(true)).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
    const keys = await keysUnder(c, bucket, 'new/');
    expect(keys).toContain('new/store.json');
    expect(keys.filter((k) => k.startsWith('new/objects/sha256/'))).toHaveLength(2);
    expect(sent.filter((k) => k === 'new/store.json')).toHaveLength(1);
  });

  it('a seal whose store.json another writer made first (after this one looked) takes that store when it says snap-store/1, and refuses one that does not (STORE_MALFORMED), writing nothing else', { timeout: 120_000 }, async () => {
    for (const [body, ok] of [['{"format":"snap-store/1"}\n', true], ['{"format":"other/9"}\n', false]] as const) {
      const { c, bucket } = await emptyPrefix();
      const session = await openRemoteSession(new S3Backend(clientFor(server), { bucket, prefix: 'new/' }), { create: 'when-written', objects: 'none', presence: true, note: () => {} });
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'new/store.json', Body: body }));
      const data = await makeTree({ 'a.txt': 'alpha\n' });
      const key = await readPrivateKey(kp.key);
      // The seal hands its objects over as it ends, or the push uploads them: either is the first write.
      const sealed = (async () => {
        await seal({ dir: data, as: 'x@1', key, store: session.root, jobs: 1 });
        await session.finish(true);
      })();
      if (ok) {
        await sealed;
        expect(await keysUnder(c, bucket, 'new/snapshots/x/1/commit.json')).toEqual(['new/snapshots/x/1/commit.json']);
      } else {
        await expect(sealed).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
        await session.finish(false);
        expect(await keysUnder(c, bucket, 'new/')).toEqual(['new/store.json']);
      }
    }
  });

  it('init still makes the store at once, and says so as into a local folder (made a new store, storeCreated, its audit line); a second init finds it there', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await emptyPrefix();
    const r = await snapJson(['init', '--store', store], { env: env() });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([r.json.storeCreated, r.json.log?.written]).toEqual([true, true]);
    expect(await keysUnder(c, bucket, 'new/')).toEqual(['new/log.head', 'new/log/000000000001.jsonl', 'new/store.json']);
    const human = await snap(['init', '--store', `s3://${bucket}/other/`], { env: env() });
    expect(human.stdout).toBe(`made a new store at s3://${bucket}/other\n`);
    const again = await snap(['init', '--store', store], { env: env() });
    expect(again.stdout).toBe(`s3://${bucket}/new is already a snap store; nothing to do\n`);
  });

  it('a seal and an import that make the store say so, on stderr and in --json (storeCreated), as into a new local store; the next seal does not', { timeout: 120_000 }, async () => {
    const { bucket, store } = await emptyPrefix();
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const first = await snapJson(['seal', data, '--as', 'x@1', '--key', kp.key, '--store', store], { env: env() });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.json.storeCreated).toBe(true);
    expect(first.stderr).toContain(`made a new store at s3://${bucket}/new`);
    const second = await snapJson(['seal', data, '--as', 'x@2', '--key', kp.key, '--store', store], { env: env() });
    expect(second.json.storeCreated).toBe(false);
    expect(second.stderr).not.toContain('made a new store');
    const archive = join(await tempDir('snap-s3new-'), 'x@1.snap.tar');
    expect((await snap(['export', 'x@1', '--out', archive, '--store', store], { env: env() })).code).toBe(0);
    const imported = await snap(['import', archive, '--pubkey', kp.pub, '--store', `s3://${bucket}/imported/`], { env: env() });
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    expect(imported.stderr).toContain(`made a new store at s3://${bucket}/imported`);
  });
});
