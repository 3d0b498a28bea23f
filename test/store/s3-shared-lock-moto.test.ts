/**
 * The shared lock of an S3 store (docs/FORMAT.md §23.4), on moto_server (started here; never
 * skipped): the commands that only read the store (verify, diff, show, …) hold a shared lock, so
 * that any number of them run at once — a CI's shards each verifying against one bucket — and
 * beside one command that only adds to the store (seal, import, sign, …: an append lock), while
 * fsck and the commands that read the whole log hold the exclusive lock and wait for them, and
 * they for it. Their audit log
 * lines are appended under the log's own lock, each chained after the lines appended since the
 * command read the log, so that the log stays one chain that `snap log --verify` accepts.
 */
import { hostname } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, spawnSnap, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, spiedClient } from './s3-fixture.js';
import { S3Backend, type LockKind } from '../../src/store/s3.js';
import { openRemoteSession, type RemoteSession } from '../../src/store/remote-session.js';
import { appendAudit } from '../../src/io/audit-log.js';
import { LocalBackend } from '../../src/store/local.js';
import { openStore } from '../../src/io/store.js';
import { SnapError } from '../../src/core/errors.js';
import { lockKindFor } from '../../src/cli/remote-store.js';
import { readFileSync } from 'node:fs';

const server = useS3Server('moto');
const kp = useKeyPair('s3shared');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });

/** A bucket holding an S3 store at `st/` with one sealed snapshot, `x@1`. */
async function sealedStore(kind: 'plain' | 'versioned' = 'plain'): Promise<{ c: S3Client; bucket: string; store: string; data: string }> {
  const c = clientFor(server);
  const bucket = await newBucket(c, kind);
  const store = `s3://${bucket}/st/`;
  const data = await makeTree({ 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n' });
  const r = await snap(['seal', data, '--as', 'x@1', '--key', kp.key, '--store', store], { env: env() });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return { c, bucket, store, data };
}

/** A session on the store at `st/` of `bucket`, holding a lock of `kind` (waiting at most `waitMs`), pulling only the log's last line with `logTail`. */
function session(c: S3Client, bucket: string, kind: LockKind, waitMs = 1_000, logTail = false): Promise<RemoteSession> {
  return openRemoteSession(new S3Backend(c, { bucket, prefix: 'st/' }), { create: false, objects: 'none', lock: kind, lockWaitMs: waitMs, logTail, note: () => {} });
}

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

/** Every key under `prefix` of `bucket`. */
async function keysUnder(c: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key as string).sort();
}

/** The store's audit log as `snap log --json` gives it (oldest first). */
async function logEntries(store: string): Promise<{ seq: number; command: string; pid: number }[]> {
  const r = await snapJson(['log', '--json', '--store', store], { env: env() });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (r.json.entries as { seq: number; command: string; pid: number }[]).slice().sort((x, y) => x.seq - y.seq);
}

describe('readers of an S3 store share its lock (moto)', () => {
  it('two shared sessions are open at once, and an exclusive one waits for them: STORE_LOCKED names a reader', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const a = await session(c, bucket, 'shared');
    const b = await session(c, bucket, 'shared');
    const e = await rejection(session(c, bucket, 'exclusive', 1_500));
    expect((e as SnapError).code).toBe('STORE_LOCKED');
    expect(e.message).toContain('a reader, pid');
    await a.finish(true);
    await b.finish(true);
    const w = await session(c, bucket, 'exclusive');
    await w.finish(true);
  });

  it('a shared session waits for an exclusive one: STORE_LOCKED', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const w = await session(c, bucket, 'exclusive');
    const e = await rejection(session(c, bucket, 'shared', 1_500));
    expect((e as SnapError).code).toBe('STORE_LOCKED');
    await w.finish(true);
    const r = await session(c, bucket, 'shared');
    await r.finish(true);
  });

  it('a writer waiting for a reader keeps its lock object: a reader that comes meanwhile waits (STORE_LOCKED names the writer), and the writer gets the lock once the first reader is done', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const a = await session(c, bucket, 'shared');
    const writer = session(c, bucket, 'exclusive', 30_000);
    // The writer's lock object stays listed while it waits for the reader.
    for (let i = 0; (await keysUnder(c, bucket, 'st/locks/')).length < 2; i++) {
      expect(i).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    const e = await rejection(session(c, bucket, 'shared', 1_500));
    expect((e as SnapError).code).toBe('STORE_LOCKED');
    expect(e.message).toMatch(/another snap: pid \d+/);
    await a.finish(true);
    const w = await writer;
    expect(await keysUnder(c, bucket, 'st/locks/')).toHaveLength(1);
    await w.finish(true);
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
  });

  it('a lock object without "shared": true (what an older snap writes for every command) and a malformed one keep a shared session out', { timeout: 120_000 }, async () => {
    const live = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    // Neither kind, a kind not `true`, both kinds at once: exclusive.
    for (const body of [JSON.stringify(live), JSON.stringify({ ...live, shared: 'yes' }), JSON.stringify({ ...live, shared: true, append: true }), 'not json']) {
      const { c, bucket } = await sealedStore();
      const key = 'st/locks/0000000000001-eeeeeeeeeeeeeeee.json';
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      const e = await rejection(session(c, bucket, 'shared', 800));
      expect((e as SnapError).code, body).toBe('STORE_LOCKED');
      expect(e.message).toContain(key);
    }
  });

  it('lines two readers append at once are chained one after the other: the later push is re-chained on the earlier, its members kept, and log --verify passes', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await sealedStore();
    const before = await logEntries(store);
    const a = await session(c, bucket, 'shared');
    const b = await session(c, bucket, 'shared', 1_000, true);
    // Both read the log at the same point: each appends its line with the same seq in its working copy.
    const ra = await appendAudit(a.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0, now: new Date('2026-01-01T00:00:00Z') });
    const rb = await appendAudit(b.root, { command: 'diff', ref: 'x@1', outcome: 'ok', exit: 0, now: new Date('2026-01-02T00:00:00Z') });
    expect([ra.written && ra.seq, rb.written && rb.seq]).toEqual([before.length + 1, before.length + 1]);
    await b.finish(true);
    await a.finish(true);
    expect(b.stats.logLinesPushed).toBe(1);
    expect(a.stats.logLinesPushed).toBe(1);
    expect(a.stats.logPushFailed).toBeUndefined();
    const after = await logEntries(store);
    expect(after.slice(before.length).map((l) => [l.seq, l.command])).toEqual([
      [before.length + 1, 'diff'],
      [before.length + 2, 'verify'],
    ]);
    const r = await snapJson(['log', '--json', '--store', store], { env: env() });
    const verifyLine = (r.json.entries as { command: string; time: string }[]).find((l) => l.command === 'verify');
    expect(verifyLine?.time).toBe('2026-01-01T00:00:00Z');
    const v = await snap(['log', '--verify', '--store', store], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // Nothing is left behind: no store lock, no log lock.
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
    expect(await keysUnder(c, bucket, 'st/log.locks/')).toEqual([]);
  });

  it('a session that reads no line of the log pulls only its last line (one GET of log/, not one per line), chains its own after it, and log --verify passes', { timeout: 180_000 }, async () => {
    const { bucket, store, data } = await sealedStore();
    for (let i = 0; i < 5; i++) expect((await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() })).code).toBe(0);
    const before = await logEntries(store);
    expect(before.length).toBe(6);
    const logGets: string[] = [];
    const logLists: (string | undefined)[] = [];
    const spied = spiedClient(server, (cmd) => {
      if (cmd instanceof GetObjectCommand && /\/log\/\d{12}\.jsonl$/.test(String(cmd.input.Key))) logGets.push(String(cmd.input.Key));
      if (cmd instanceof ListObjectsV2Command && cmd.input.Prefix === 'st/log/') logLists.push(cmd.input.StartAfter);
    });
    const s = await session(spied, bucket, 'shared', 1_000, true);
    expect(logGets).toEqual([`st/log/${String(before.length).padStart(12, '0')}.jsonl`]);
    // The log's keys are listed from the line before the one log.head names: not the whole log.
    expect(logLists).toEqual([`st/log/${String(before.length - 1).padStart(12, '0')}.jsonl`]);
    expect((await fsp.readFile(join(s.root, 'log.jsonl'), 'utf8')).split('\n').filter(Boolean).length).toBe(1);
    const r = await appendAudit(s.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0 });
    expect(r.written && r.seq).toBe(before.length + 1);
    await s.finish(true);
    const after = await logEntries(store);
    expect(after.map((l) => l.seq)).toEqual(after.map((_, i) => i + 1));
    expect(after.length).toBe(before.length + 1);
    const v = await snap(['log', '--verify', '--store', store], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // And through the CLI (verify pulls the tail only): its line follows, and the chain holds.
    const d = await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const last = await logEntries(store);
    expect(last.map((l) => [l.seq, l.command]).at(-1)).toEqual([before.length + 2, 'verify']);
    expect((await snap(['log', '--verify', '--store', store], { env: env() })).code).toBe(0);
  });

  it('in a versioned bucket too, such a session reads the log\'s last line only (its first version), and its line follows it', { timeout: 120_000 }, async () => {
    const { bucket, store, data } = await sealedStore('versioned');
    for (let i = 0; i < 3; i++) expect((await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() })).code).toBe(0);
    const logGets: string[] = [];
    const spied = spiedClient(server, (cmd) => {
      if (cmd instanceof GetObjectCommand && /\/log\/\d{12}\.jsonl$/.test(String(cmd.input.Key))) logGets.push(String(cmd.input.Key));
    });
    const s = await session(spied, bucket, 'shared', 1_000, true);
    expect(logGets).toEqual(['st/log/000000000004.jsonl']);
    const r = await appendAudit(s.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0 });
    expect(r.written && r.seq).toBe(5);
    await s.finish(true);
    expect((await logEntries(store)).map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await snap(['log', '--verify', '--store', store], { env: env() })).code).toBe(0);
  });

  it('a last line that is none snap writes (planted) makes such a session read the whole log, so that its line is chained where a command reading it all chains it', { timeout: 120_000 }, async () => {
    const { c, bucket, data, store } = await sealedStore();
    expect((await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() })).code).toBe(0);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/log/000000000003.jsonl', Body: 'planted\n' }));
    const logGets: string[] = [];
    const spied = spiedClient(server, (cmd) => {
      if (cmd instanceof GetObjectCommand && /\/log\/\d{12}\.jsonl$/.test(String(cmd.input.Key))) logGets.push(String(cmd.input.Key));
    });
    const s = await session(spied, bucket, 'shared', 1_000, true);
    expect(logGets.sort()).toEqual(['st/log/000000000001.jsonl', 'st/log/000000000002.jsonl', 'st/log/000000000003.jsonl', 'st/log/000000000003.jsonl']);
    const r = await appendAudit(s.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0 });
    expect(r.written && r.seq).toBe(4);
    await s.finish(true);
    expect(s.stats.logLinesPushed).toBe(1);
  });

  it('a log lock held by someone else for longer than the log lock wait does not fail the command: its push resolves, says its line was not written (naming the holder), and adds no line', { timeout: 120_000 }, async () => {
    const { c, bucket, store } = await sealedStore();
    const before = await logEntries(store);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/log.locks/0000000000001-abababababababab.json', Body: JSON.stringify({ pid: 4242, host: 'build-7', since: new Date().toISOString() }) }));
    const notes: string[] = [];
    // (The CLI waits LOG_LOCK_WAIT_MS, 60 s; a session may be given less. How the CLI reports a line
    // not written, on stderr and in --json, is tested in s3-snapshot-files.test.ts.)
    const s = await openRemoteSession(new S3Backend(c, { bucket, prefix: 'st/' }), { create: false, objects: 'none', lock: 'shared', lockWaitMs: 1_000, logLockWaitMs: 1_000, logTail: true, note: (t) => notes.push(t) });
    await appendAudit(s.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0 });
    await s.finish(true);
    expect(s.stats.logLinesPushed).toBe(0);
    expect(s.stats.logPushFailed).toMatch(/^the audit log of s3:\/\/.* is locked by another snap: pid 4242 on host "build-7"/);
    expect(notes.join('\n')).toMatch(/audit log not written: the audit log of s3:\/\/.* is locked by another snap: pid 4242 on host "build-7"/);
    expect(await logEntries(store)).toEqual(before);
    // The store lock was released all the same.
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
  });

  it('a shared session that changed the store pushes nothing: it throws, and the bucket keeps exactly the keys it had', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const keys = await keysUnder(c, bucket, 'st/');
    const s = await session(c, bucket, 'shared');
    await new LocalBackend(await openStore(s.root)).writeFile('revocations/x.json', Buffer.from('{}'));
    const e = await rejection(s.finish(true));
    expect(e.message).toContain('shared lock');
    expect(e.message).toContain('revocations/x.json');
    expect(await keysUnder(c, bucket, 'st/')).toEqual(keys);
  });

  it('snap verify runs while another reader holds the store (a live shared lock), and three verifies at once all pass and all log', { timeout: 180_000 }, async () => {
    const { c, bucket, store, data } = await sealedStore();
    const key = 'st/locks/0000000000001-ffffffffffffffff.json';
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), shared: true }) }));
    const one = await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(one.code, one.stdout + one.stderr).toBe(0);
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const before = await logEntries(store);
    const runs = [0, 1, 2].map(() => spawnSnap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() }).done);
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = await logEntries(store);
    expect(after.length).toBe(before.length + 3);
    expect(after.slice(before.length).map((l) => l.command)).toEqual(['verify', 'verify', 'verify']);
    expect(after.map((l) => l.seq)).toEqual(after.map((_, i) => i + 1));
    const v = await snap(['log', '--verify', '--store', store], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

describe('a command that only adds to an S3 store (seal, import, sign, …) lets readers run beside it (moto)', () => {
  it('holds the lock kind docs/FORMAT.md §23.4 gives each command in its table', () => {
    const format = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const rows = [...format.matchAll(/^\| (shared|append|exclusive) \| (.*?) \| .* \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['shared', 'append', 'exclusive']);
    let commands = 0;
    for (const [, kind, heldBy] of rows) {
      for (const [, cmd] of (heldBy as string).matchAll(/`([a-z-]+)`/g)) {
        expect(lockKindFor(cmd as string), cmd).toBe(kind);
        commands++;
      }
    }
    expect(commands).toBe(23);
    // A command the table does not name (one added later) holds the exclusive lock.
    expect(lockKindFor('a-command-added-later')).toBe('exclusive');
  });

  it('an append session opens beside two readers, and readers open beside it; a second append session and an exclusive one wait (STORE_LOCKED names the writer)', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const r1 = await session(c, bucket, 'shared');
    const r2 = await session(c, bucket, 'shared');
    const w = await session(c, bucket, 'append');
    const r3 = await session(c, bucket, 'shared');
    const second = await rejection(session(c, bucket, 'append', 1_500));
    expect((second as SnapError).code).toBe('STORE_LOCKED');
    expect(second.message).toContain('a writer that only adds, pid');
    const fsck = await rejection(session(c, bucket, 'exclusive', 1_500));
    expect((fsck as SnapError).code).toBe('STORE_LOCKED');
    for (const s of [r1, r2, r3, w]) await s.finish(true);
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
    const x = await session(c, bucket, 'exclusive');
    await x.finish(true);
  });

  it('an append session waits for an exclusive one, and readers that hold the store do not make it wait', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const x = await session(c, bucket, 'exclusive');
    const e = await rejection(session(c, bucket, 'append', 1_500));
    expect((e as SnapError).code).toBe('STORE_LOCKED');
    await x.finish(true);
    const r = await session(c, bucket, 'shared');
    const w = await session(c, bucket, 'append', 1_500);
    await w.finish(true);
    await r.finish(true);
  });

  it('an append or shared session may not list, remove or replace what the store holds (a seal\'s staged files may be in progress beside it): each throws an internal error, nothing removed', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore();
    const keys = await keysUnder(c, bucket, 'st/');
    for (const kind of ['append', 'shared'] as const) {
      const s = await session(c, bucket, kind);
      for (const call of [() => s.leftovers(), () => s.clean(), () => s.installObject('0'.repeat(64), '/nonexistent', 1)]) {
        const e = await rejection(call());
        expect(e.message).toContain(`${kind} lock`);
        expect(e.message).toContain('only the exclusive lock allows it');
      }
      await s.finish(false);
    }
    expect(await keysUnder(c, bucket, 'st/')).toEqual(keys);
  });

  it('snap verify passes while a seal holds the store (stopped in the middle), without waiting; the seal then commits, and both lines are in one chain that log --verify accepts', { timeout: 180_000 }, async () => {
    const { c, bucket, store, data } = await sealedStore();
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`f${i}.txt`] = `file ${i}\n`;
    const next = await makeTree(files);
    const seal = spawnSnap(['seal', next, '--as', 'x@2', '--key', kp.key, '--store', store], { env: env(), timeoutMs: 150_000 });
    let stopped = false;
    try {
      // Stop the seal once it holds the store lock, before it takes the log's.
      for (let i = 0; (await keysUnder(c, bucket, 'st/locks/')).length === 0; i++) {
        expect(i, 'the seal took no lock').toBeLessThan(1_000);
        await new Promise((r) => setTimeout(r, 20));
      }
      stopped = stop(seal.child);
      expect(await keysUnder(c, bucket, 'st/log.locks/')).toEqual([]);
      const [lockKey] = await keysUnder(c, bucket, 'st/locks/');
      const body = JSON.parse(await bodyOf(c, bucket, lockKey as string)) as { append?: unknown; shared?: unknown };
      expect(body).toMatchObject({ append: true });
      expect(body.shared).toBeUndefined();
      const started = Date.now();
      const v = await snapJson(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() });
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(v.json.log).toMatchObject({ written: true });
      // It did not wait for the seal's lock (a lock wait is 60 s).
      expect(Date.now() - started).toBeLessThan(45_000);
      expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([lockKey]);
    } finally {
      if (stopped) seal.child.kill('SIGCONT');
    }
    const done = await seal.done;
    expect(done.code, done.stdout + done.stderr).toBe(0);
    const entries = await logEntries(store);
    expect(entries.map((l) => l.command)).toEqual(['seal', 'verify', 'seal']);
    expect(entries.map((l) => l.seq)).toEqual([1, 2, 3]);
    const lv = await snap(['log', '--verify', '--store', store], { env: env() });
    expect(lv.code, lv.stdout + lv.stderr).toBe(0);
    const v2 = await snap(['verify', next, '--against', 'x@2', '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(v2.code, v2.stdout + v2.stderr).toBe(0);
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
  });
});

/** Stop `child` (SIGSTOP): it stays alive, its lock live, until SIGCONT. */
function stop(child: ChildProcess): boolean {
  return child.kill('SIGSTOP');
}

/** Every version and every delete marker under `prefix` of `bucket` (their keys). */
async function versionsUnder(c: S3Client, bucket: string, prefix: string): Promise<{ versions: string[]; markers: string[] }> {
  const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return { versions: (r.Versions ?? []).map((v) => v.Key as string), markers: (r.DeleteMarkers ?? []).map((v) => v.Key as string) };
}

describe('lock objects in a versioned bucket (moto)', () => {
  it('a seal and a verify leave no version and no delete marker of their lock objects (each version they wrote is deleted by its id)', { timeout: 120_000 }, async () => {
    const { c, bucket, store, data } = await sealedStore('versioned');
    const v = await snap(['verify', data, '--against', 'x@1', '--pubkey', kp.pub, '--store', store], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    for (const folder of ['st/locks/', 'st/log.locks/']) expect(await versionsUnder(c, bucket, folder), folder).toEqual({ versions: [], markers: [] });
    expect((await logEntries(store)).map((e) => e.command)).toEqual(['seal', 'verify']); // the log lock was taken and given back each time
  });

  it('a version someone else wrote under a held lock object\'s key is hidden when the lock is released: no live lock object stays behind', { timeout: 120_000 }, async () => {
    const { c, bucket } = await sealedStore('versioned');
    const s = await session(c, bucket, 'append');
    const [mine] = await keysUnder(c, bucket, 'st/locks/');
    expect(mine).toBeDefined();
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: mine as string, Body: JSON.stringify({ pid: 1, host: 'elsewhere', since: new Date().toISOString() }) }));
    await s.finish(false);
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
    const left = await versionsUnder(c, bucket, 'st/locks/');
    expect(left.versions).toEqual([mine]); // only the planted version, under the delete marker that hides it
    expect(left.markers).toEqual([mine]);
    await (await session(c, bucket, 'exclusive')).finish(false); // the store is not locked
  });

  it('when a version may not be deleted by its id (no s3:DeleteObjectVersion, a retention), the lock object is deleted as before and the next session is not kept out', { timeout: 120_000 }, async () => {
    const { bucket } = await sealedStore('versioned');
    const refused = spiedClient(server, (cmd) => {
      if (cmd instanceof DeleteObjectCommand && cmd.input.VersionId !== undefined) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    });
    const s = await session(refused, bucket, 'append');
    await s.finish(false);
    const c = clientFor(server);
    expect(await keysUnder(c, bucket, 'st/locks/')).toEqual([]);
    expect((await versionsUnder(c, bucket, 'st/locks/')).markers).toHaveLength(1); // as before: hidden by a delete marker
    await (await session(c, bucket, 'exclusive')).finish(false);
  });
});

/** The body of `key` in `bucket`, as text. */
async function bodyOf(c: S3Client, bucket: string, key: string): Promise<string> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await (r.Body as { transformToString(): Promise<string> }).transformToString();
}
