/**
 * `log --verify` holds an S3 store's audit log to the origin this machine signed or verified it
 * under (trusted state `logOrigins`, docs/FORMAT.md §16.5), on moto_server (started here). The
 * store is named by its URL as the S3 store resolves it — `s3://BUCKET/PREFIX/` — so the same store
 * given as `s3://BUCKET/PREFIX`, `s3://BUCKET/PREFIX/` or through $SNAP_STORE is one store to the
 * pin: before, the URL was taken as typed (and through $SNAP_STORE, the working copy's temporary
 * path), and another store's log copied in passed when the store was spelt another way.
 */
import { join } from 'node:path';
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const producer = useKeyPair('origin-producer');
const auditor = useKeyPair('origin-auditor');

/** The keys of the audit log under `prefix` (its lines, head and checkpoints). */
async function logKeys(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
  return keys.filter((k) => /^(log\/|log\.head$|log\.checkpoints\/)/.test(k.slice(prefix.length)));
}

/** Someone who can write the bucket puts store `from`'s log, head and checkpoints in place of store `to`'s. */
async function swapLog(c: S3Client, bucket: string, from: string, to: string): Promise<void> {
  for (const k of await logKeys(c, bucket, to)) await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
  for (const k of await logKeys(c, bucket, from)) await c.send(new CopyObjectCommand({ Bucket: bucket, Key: to + k.slice(from.length), CopySource: `${bucket}/${k}` }));
}

describe('log --verify on an S3 store: the origin kept for it (moto)', () => {
  it('kept when the store was given as s3://BUCKET/a holds it given as s3://BUCKET/a/ and through $SNAP_STORE: store b\'s signed log copied in fails (exit 1, origin), and one store is kept in the state', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const state = join(await tempDir('snap-s3-origin-'), 'state');
    const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: state };
    const run = (args: string[], extra: Record<string, string> = {}) => snapJson(args, { env: { ...env, ...extra } });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const origins: Record<string, string> = {};
    for (const p of ['a', 'b']) {
      expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', `s3://${bucket}/${p}`])).code).toBe(0);
      const cp = await run(['log', 'checkpoint', '--key', auditor.key, '--store', `s3://${bucket}/${p}`]);
      expect(cp.code, cp.stderr).toBe(0);
      origins[p] = cp.json.origin as string;
    }
    expect(origins.a).not.toBe(origins.b);
    const kept = JSON.parse(await fsp.readFile(join(state, 'trusted-state.json'), 'utf8')).logOrigins;
    const at = ` at ${new URL(String(server.env.AWS_ENDPOINT_URL)).href}`; // the endpoint is part of the store's name
    expect(kept).toEqual({ [`s3://${bucket}/a/${at}`]: expect.objectContaining({ origin: origins.a }), [`s3://${bucket}/b/${at}`]: expect.objectContaining({ origin: origins.b }) });

    await swapLog(c, bucket, 'b/', 'a/');
    for (const [how, args, extra] of [
      ['as typed when kept', ['--store', `s3://${bucket}/a`], {}],
      ['with a trailing slash', ['--store', `s3://${bucket}/a/`], {}],
      ['through $SNAP_STORE', [], { SNAP_STORE: `s3://${bucket}/a/` }],
    ] as const) {
      const v = await run(['log', '--verify', '--pubkey', auditor.pub, ...args], extra);
      expect([how, v.code], v.stdout + v.stderr).toEqual([how, 1]);
      const problem = v.json.checkpoints.problems.find((p: { kind: string }) => p.kind === 'origin');
      expect(problem?.message, how).toContain(`not of ${origins.a} (the origin this machine kept for this store`);
    }
    // A state an earlier snap wrote, with the store kept under its URL as typed (no last "/"), or
    // under its URL without the endpoint, still holds it.
    const file = join(state, 'trusted-state.json');
    const written = JSON.parse(await fsp.readFile(file, 'utf8'));
    for (const earlier of [`s3://${bucket}/a`, `s3://${bucket}/a/`]) {
      await fsp.writeFile(file, JSON.stringify({ ...written, logOrigins: { [earlier]: written.logOrigins[`s3://${bucket}/a/${at}`] } }), { mode: 0o600 });
      const old = await run(['log', '--verify', '--pubkey', auditor.pub, '--store', `s3://${bucket}/a/`]);
      expect([earlier, old.code], old.stdout).toEqual([earlier, 1]);
      expect(old.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('origin');
    }
  });
});
