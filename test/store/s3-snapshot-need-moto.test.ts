/**
 * Which snapshots a command copies from an S3 store (docs/FORMAT.md §23.5): a command that reads
 * one or two snapshots (verify, diff, show, …) copies only those its refs name — every snapshot of
 * NAME for `NAME@latest` — so that its cost does not grow with the store; a ref by id, or of no
 * snapshot the store holds, copies them all, so that the command answers as from a local store
 * (its error naming what the store holds instead). On moto_server (started here; never skipped).
 */
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, watchedClient } from './s3-fixture.js';
import { openRemoteSession, snapshotListingScope, snapshotsWanted, type SnapshotNeed } from '../../src/store/remote-session.js';
import { S3Backend } from '../../src/store/s3.js';
import { GetBucketVersioningCommand, ListObjectVersionsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

const server = useS3Server('moto');
const kp = useKeyPair('s3need');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });

/** How many snapshots a `--debug` run copied into its working copy (its `S3 transfer` line). */
function pulled(r: { stderr: string }): number | undefined {
  const m = /S3 transfer (\{.*\})\n/.exec(r.stderr);
  return m ? (JSON.parse(m[1] as string) as { snapshotsPulled?: number }).snapshotsPulled : undefined;
}

describe('snapshotsWanted: the snapshots a command\'s refs name', () => {
  const listed = [
    { name: 'x', version: '1' },
    { name: 'x', version: '2' },
    { name: 'y', version: '1' },
  ];
  it('takes a NAME@VERSION the store holds, and every snapshot of NAME for NAME@latest', () => {
    expect(snapshotsWanted({ refs: ['x@1'] }, listed)).toEqual(new Set(['x@1']));
    expect(snapshotsWanted({ refs: ['x@latest'] }, listed)).toEqual(new Set(['x@1', 'x@2']));
    expect(snapshotsWanted({ refs: ['x@2', 'y@1'] }, listed)).toEqual(new Set(['x@2', 'y@1']));
  });
  it('takes every version of each NAME of names (a seal\'s), none when the store holds none', () => {
    expect(snapshotsWanted({ refs: [], names: ['x'] }, listed)).toEqual(new Set(['x@1', 'x@2']));
    expect(snapshotsWanted({ refs: ['y@1'], names: ['new'] }, listed)).toEqual(new Set(['y@1']));
  });
  it('takes none for a folder or an archive', () => {
    expect(snapshotsWanted({ refs: ['./data', 'x@1.snap.tar', '/tmp/a'] }, listed)).toEqual(new Set());
  });
  it('takes every snapshot for a ref by id, a malformed ref, or one the store does not hold', () => {
    for (const ref of ['sha256:0123abcd', '0123abcd', 'x@3', 'z@latest', 'x', '@1']) expect(snapshotsWanted({ refs: ['x@1', ref] }, listed), ref).toBe('all');
    expect(snapshotsWanted('all', listed)).toBe('all');
    expect(snapshotsWanted(undefined, listed)).toBe('all');
  });
});

describe('snapshotListingScope: the folders of snapshots/ a command lists', () => {
  it('is NAME/VERSION/ for a NAME@VERSION, NAME/ for NAME@latest and for each NAME of names (a version folder inside a NAME listed dropped), sorted; none for a path', () => {
    expect(snapshotListingScope({ refs: ['x@1'] })).toEqual(['x/1/']);
    expect(snapshotListingScope({ refs: ['y@2', 'x@latest', 'x@1'] })).toEqual(['x/', 'y/2/']);
    expect(snapshotListingScope({ refs: ['y@1'], names: ['x'] })).toEqual(['x/', 'y/1/']);
    expect(snapshotListingScope({ refs: ['x@1', 'x@1'], names: ['x'] })).toEqual(['x/']);
    expect(snapshotListingScope({ refs: ['./data', 'x@1.snap.tar', '/tmp/a'] })).toEqual([]);
  });
  it('is undefined (list every snapshot) for all, a ref that may be an id, and one that is no valid NAME@VERSION', () => {
    expect(snapshotListingScope('all')).toBeUndefined();
    expect(snapshotListingScope(undefined)).toBeUndefined();
    for (const ref of ['sha256:0123abcd', '0123abcd', 'x', '@1', 'x@', 'X@1', 'x@..', 'x@-1']) expect(snapshotListingScope({ refs: ['x@1', ref] }), ref).toBeUndefined();
    expect(snapshotListingScope({ refs: [], names: ['Bad'] })).toBeUndefined();
  });
  it('is checked again by the backend: a scope that is not NAME/ or NAME/VERSION/ is refused (INTERNAL) before any request', async () => {
    let sent = 0;
    const client = { send: async () => void sent++ } as unknown as S3Client;
    for (const folder of ['../', 'x/../', 'X/', 'x', 'x/1/2/', '/x/', 'x//']) {
      const e = await new S3Backend(client, { bucket: 'b', prefix: 'st/' }).listSnapshots([folder]).then(() => undefined, (x: unknown) => x);
      expect(e, folder).toMatchObject({ code: 'INTERNAL' });
    }
    expect(sent).toBe(0);
  });
});

describe('a reader of an S3 store lists only the folders of the snapshots it names (moto)', () => {
  it('lists snapshots/x/1/ for x@1, snapshots/x/ for x@latest and a seal of x, nothing for two folders; a version the store lacks lists it, then every snapshot', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    for (const kind of ['plain', 'versioned'] as const) {
      const bucket = await newBucket(c, kind);
      const store = `s3://${bucket}/st/`;
      const v1 = await makeTree({ 'a.txt': 'alpha\n' });
      for (const as of ['x@1', 'x@2', 'y@1']) {
        const r = await snap(['seal', v1, '--as', as, '--key', kp.key, '--store', store], { env: env() });
        expect(r.code, r.stdout + r.stderr).toBe(0);
      }
      const listingsFor = async (need: SnapshotNeed): Promise<{ prefixes: string[]; pulled: number }> => {
        const w = watchedClient(server);
        const s = await openRemoteSession(new S3Backend(w.client, { bucket, prefix: 'st/' }), { create: false, objects: 'none', lock: 'shared', logTail: true, snapshots: need, note: () => {} });
        await s.finish(false);
        return { prefixes: [...new Set(w.listings.filter((p) => p.startsWith('st/snapshots/')))], pulled: s.stats.snapshotsPulled };
      };
      expect(await listingsFor({ refs: ['x@1'] }), kind).toEqual({ prefixes: ['st/snapshots/x/1/'], pulled: 1 });
      expect(await listingsFor({ refs: ['x@latest'] }), kind).toEqual({ prefixes: ['st/snapshots/x/'], pulled: 2 });
      expect(await listingsFor({ refs: ['y@1'], names: ['x'] }), kind).toEqual({ prefixes: ['st/snapshots/x/', 'st/snapshots/y/1/'], pulled: 3 });
      expect(await listingsFor({ refs: ['./a', './b'] }), kind).toEqual({ prefixes: [], pulled: 0 });
      expect(await listingsFor({ refs: ['x@9'] }), kind).toEqual({ prefixes: ['st/snapshots/x/9/', 'st/snapshots/'], pulled: 3 });
      expect(await listingsFor({ refs: ['z@latest'] }), kind).toEqual({ prefixes: ['st/snapshots/z/', 'st/snapshots/'], pulled: 3 });
      expect(await listingsFor({ refs: ['sha256:0123abcd'] }), kind).toEqual({ prefixes: ['st/snapshots/'], pulled: 3 });
    }
  });
});

describe('a reader of an S3 store copies only the snapshots it names (moto)', () => {
  it('verify, diff and show copy the snapshots named; NAME@latest all of NAME; an id, list and a missing version every one', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st/`;
    const v1 = await makeTree({ 'a.txt': 'alpha\n' });
    const v2 = await makeTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    for (const [dir, as] of [[v1, 'x@1'], [v2, 'x@2'], [v1, 'y@1']] as const) {
      const r = await snap(['seal', dir, '--as', as, '--key', kp.key, '--store', store], { env: env() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const run = (args: string[]) => snap([...args, '--store', store, '--debug'], { env: env() });
    const verify1 = await run(['verify', v1, '--against', 'x@1', '--pubkey', kp.pub]);
    expect(verify1.code, verify1.stdout + verify1.stderr).toBe(0);
    expect(pulled(verify1)).toBe(1);
    const latest = await run(['verify', v2, '--against', 'x@latest', '--pubkey', kp.pub]);
    expect(latest.code, latest.stdout + latest.stderr).toBe(0);
    expect(latest.stdout).toContain('x@2');
    expect(pulled(latest)).toBe(2);
    const diff = await run(['diff', 'x@1', 'x@2']);
    expect(diff.code, diff.stdout + diff.stderr).toBe(1);
    expect(diff.stdout).toContain('b.txt');
    expect(pulled(diff)).toBe(2);
    const show = await run(['show', 'y@1']);
    expect(show.code, show.stdout + show.stderr).toBe(0);
    expect(pulled(show)).toBe(1);
    const folder = await run(['diff', v1, v2]);
    expect(pulled(folder)).toBe(0);
    // By id: only a statement says which snapshot that is, so every one is read.
    const id = /sha256:([0-9a-f]{12})/.exec(show.stdout)?.[1] as string;
    const byId = await run(['show', `sha256:${id}`]);
    expect(byId.code, byId.stdout + byId.stderr).toBe(0);
    expect(pulled(byId)).toBe(3);
    const list = await run(['list']);
    expect(list.code).toBe(0);
    expect(pulled(list)).toBe(3);
    // A seal reads every version of its NAME (the newest is its parent) and what --derived-from names.
    const seal3 = await run(['seal', v2, '--as', 'x@3', '--key', kp.key, '--json']);
    expect(seal3.code, seal3.stdout + seal3.stderr).toBe(0);
    expect(pulled(seal3)).toBe(2);
    const x2 = await snap(['show', 'x@2', '--json', '--store', store], { env: env() });
    expect(JSON.parse(seal3.stdout).parent).toBe(JSON.parse(x2.stdout).snapshot);
    const again = await run(['seal', v2, '--as', 'x@3', '--key', kp.key]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('SNAPSHOT_EXISTS');
    const fresh = await run(['seal', v1, '--as', 'z@1', '--key', kp.key, '--derived-from', 'y@1']);
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect(pulled(fresh)).toBe(1);
    // A version the store does not hold: every snapshot is read, and the error says what there is.
    const missing = await run(['verify', v1, '--against', 'x@9', '--pubkey', kp.pub]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('x has 3 versions');
    expect(pulled(missing)).toBe(5);
  });
});

describe('the listings a reader of an S3 store makes before it copies anything (moto)', () => {
  it('are asked for at once: the first page of each folder of store files and of the snapshot folder, in a plain and a versioned bucket; the bucket\'s versioning is asked once', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    for (const kind of ['plain', 'versioned'] as const) {
      const bucket = await newBucket(c, kind);
      const store = `s3://${bucket}/st/`;
      const r = await snap(['seal', await makeTree({ 'a.txt': 'alpha\n' }), '--as', 'x@1', '--key', kp.key, '--store', store], { env: env() });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // Each request held 150 ms: requests made one after the other never overlap.
      let inFlight = 0;
      let most = 0;
      let versioningAsked = 0;
      const slow = clientFor(server);
      const send = slow.send.bind(slow) as (cmd: unknown) => Promise<unknown>;
      (slow as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
        if (cmd instanceof GetBucketVersioningCommand) versioningAsked++;
        const listing = cmd instanceof ListObjectsV2Command || cmd instanceof ListObjectVersionsCommand;
        const prefix = listing ? String((cmd as ListObjectsV2Command).input.Prefix) : '';
        const counted = listing && !['st/locks/', 'st/log/', 'st/log.locks/'].some((p) => prefix.startsWith(p));
        if (counted) most = Math.max(most, ++inFlight);
        try {
          await new Promise((res) => setTimeout(res, 150));
          return await send(cmd);
        } finally {
          if (counted) inFlight--;
        }
      };
      const s = await openRemoteSession(new S3Backend(slow as S3Client, { bucket, prefix: 'st/' }), { create: false, objects: 'none', lock: 'shared', logTail: true, snapshots: { refs: ['x@1'] }, note: () => {} });
      await s.finish(false);
      expect(s.stats.snapshotsPulled, kind).toBe(1);
      // revocations/, attestations/, log.checkpoints/, signatures/ and snapshots/x/1/ at once.
      expect(most, kind).toBe(5);
      expect(versioningAsked, kind).toBe(1);
    }
  });
});
