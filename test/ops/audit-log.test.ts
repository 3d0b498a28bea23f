/**
 * The audit log `STORE/log.jsonl` and its anchor `STORE/log.head`: one hash-chained line per seal,
 * verify and fsck; `snap log` shows it; `snap log --verify` finds edited, removed, reordered,
 * inserted and malformed lines; a torn line from a crash is sealed off and recorded; a read-only
 * store still verifies and says the log was not written.
 */
import { cpSync, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, REPO, shareWithEveryone, snap, snapBin, snapJson, spawnSnap, tempDir, unprivileged, useKeyPair, heapLimit } from '../helpers/tree.js';
import { newStorePath, sealTree, sha256, type Sealed } from '../helpers/store.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { appendAudit, MAX_LOG_LINE_BYTES, MAX_LOG_SEQ } from '../../src/io/audit-log.js';
import { logRoots } from '../../src/trust/log-checkpoints.js';
import { merkleRoot } from '../../src/core/merkle.js';

const keys = useKeyPair();

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n' };
const ZEROS = '0'.repeat(64);
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const logFile = (store: string) => join(store, 'log.jsonl');
const headFile = (store: string) => join(store, 'log.head');

/** The log's lines, as text without their newlines. */
async function rawLines(store: string): Promise<string[]> {
  const text = await fsp.readFile(logFile(store), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** Replace the log with these lines. */
async function writeLines(store: string, lines: string[]): Promise<void> {
  await fsp.writeFile(logFile(store), lines.map((l) => l + '\n').join(''));
}

/** `snap verify` of the sealed data against its snapshot. */
function verifyArgs(s: Sealed): string[] {
  return ['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store];
}

/**
 * The sealed store (and its data) that {@link storeWithLog} copies, made once for the file and
 * never changed: its log has four lines, seal, verify, verify, fsck.
 */
let withLog: Sealed;
beforeAll(async () => {
  const s = await sealTree(TREE, keys);
  expect((await snap(verifyArgs(s))).code).toBe(0);
  expect((await snap(verifyArgs(s))).code).toBe(0);
  expect((await snap(['fsck', '--store', s.store])).code).toBe(0);
  expect(await rawLines(s.store)).toHaveLength(4);
  withLog = s;
});

/**
 * A sealed store whose log has four lines: seal, verify, verify, fsck — a copy of {@link withLog}'s
 * store and data for this test alone (its verify lines name the data folder they were run on).
 */
async function storeWithLog(): Promise<Sealed> {
  const root = await tempDir('snap-log-');
  const s: Sealed = { ...withLog, data: join(root, 'data'), store: join(root, 'store'), dir: join(root, 'store', relative(withLog.store, withLog.dir)) };
  cpSync(withLog.data, s.data, { recursive: true });
  cpSync(withLog.store, s.store, { recursive: true });
  expect(await rawLines(s.store)).toHaveLength(4);
  return s;
}

/** `snap log --verify --json`. */
function logVerify(store: string) {
  return snapJson(['log', '--verify', '--store', store]);
}

/**
 * appendAudit in a process of its own, and the peak of that process's memory in KiB (VmHWM where
 * there is /proc: getrusage's maxRSS keeps the forking parent's peak across exec on Linux).
 */
function appendInChild(store: string): { r: { written: boolean; seq?: number; reason?: string }; maxRssKiB: number } {
  const script = `const { appendAudit } = await import(${JSON.stringify(join(REPO, 'dist', 'io', 'audit-log.js'))});
const r = await appendAudit(${JSON.stringify(store)}, { command: 'verify', outcome: 'ok', exit: 0 });
const fs = await import('node:fs');
const hwm = fs.existsSync('/proc/self/status') ? /VmHWM:\\s*(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8')) : null;
process.stdout.write(JSON.stringify({ r, maxRssKiB: hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 }));
}

/** What an appending process may use at most, in KiB, whatever was planted (node itself takes about 50 MiB). */
const MAX_RSS_KIB = 160 * 1024;

describe('the audit log', () => {
  it('has one line per seal, verify and fsck, with time, command, ref, snapshot, outcome, user, host and pid', async () => {
    const s = await sealTree(TREE, keys);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    await fsp.writeFile(join(s.data, 'a.txt'), 'poisoned\n');
    expect((await snap(verifyArgs(s))).code).toBe(1);
    expect((await snap(['fsck', '--store', s.store])).code).toBe(0);
    const lines = (await rawLines(s.store)).map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.command, l.ref, l.snapshot, l.outcome, l.exit])).toEqual([
      [1, 'seal', s.ref, s.snapshot, 'ok', 0],
      [2, 'verify', s.ref, s.snapshot, 'ok', 0],
      [3, 'verify', s.ref, s.snapshot, 'failed', 1],
      [4, 'fsck', undefined, undefined, 'ok', 0],
    ]);
    for (const l of lines) {
      expect(l.time).toMatch(RFC3339_UTC);
      expect(l).toMatchObject({ user: userInfo().username, host: hostname(), pid: process.pid });
    }
  });

  it('writes each line as canonical JSON chained to the SHA-256 of the line before it, and anchors the last in log.head', async () => {
    const s = await storeWithLog();
    const raw = await rawLines(s.store);
    raw.forEach((line, i) => {
      const o = JSON.parse(line);
      expect(canonicalJson(o)).toBe(line);
      expect(o.prev).toBe(i === 0 ? ZEROS : sha256(raw[i - 1] + '\n'));
    });
    expect(JSON.parse(await fsp.readFile(headFile(s.store), 'utf8'))).toEqual({ seq: 4, sha256: sha256(raw[3] + '\n') });
  });

  it('records a command that stops with an error, with its error code and exit code', async () => {
    const s = await sealTree(TREE, keys);
    const again = await snap(['seal', s.data, '--as', s.ref, '--key', keys.key, '--store', s.store]);
    expect(again.code).toBe(3);
    const last = JSON.parse((await rawLines(s.store)).at(-1) as string);
    expect(last).toMatchObject({ seq: 2, command: 'seal', ref: s.ref, outcome: 'error', error: 'SNAPSHOT_EXISTS', exit: 3 });
  });

  it('records a verify whose signature is not trusted as failed', async () => {
    const s = await sealTree(TREE, keys);
    const other = await makeTree({});
    await snap(['keygen', 'other', '--out-dir', other]);
    const v = await snap(['verify', s.data, '--against', s.ref, '--pubkey', join(other, 'other.pub'), '--store', s.store]);
    expect(v.code).toBe(1);
    expect(JSON.parse((await rawLines(s.store)).at(-1) as string)).toMatchObject({ command: 'verify', outcome: 'failed', exit: 1 });
  });

  it('says in verify --json that the line was written, and its seq', async () => {
    const s = await sealTree(TREE, keys);
    const v = await snapJson(verifyArgs(s));
    expect(v.code).toBe(0);
    expect(v.json.log).toEqual({ written: true, seq: 2 });
  });

  it('keeps every line when many commands append at once', async () => {
    const s = await sealTree(TREE, keys);
    const results = await Promise.all(Array.from({ length: 12 }, () => appendAudit(s.store, { command: 'verify', ref: s.ref, outcome: 'ok', exit: 0 })));
    expect(results.every((r) => r.written)).toBe(true);
    const seqs = (await rawLines(s.store)).map((l) => JSON.parse(l).seq);
    expect(seqs).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it('keeps every line when several snap processes append at once', async () => {
    const s = await sealTree(TREE, keys);
    const runs = Array.from({ length: 4 }, () => spawnSnap(['fsck', '--store', s.store]).done);
    for (const r of await Promise.all(runs)) expect(r.code, r.stderr).toBe(0);
    expect(await rawLines(s.store)).toHaveLength(5);
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it('takes over a log lock left by a process that died', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'log.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    expect((await snap(verifyArgs(s))).code).toBe(0);
    expect(await rawLines(s.store)).toHaveLength(2);
  });

  it('reads a planted log.lock of any length no further than a lock can be: the append takes over a stale one of 256 MiB and writes, its memory far below the file\'s length', async () => {
    const s = await sealTree(TREE, keys);
    const lock = join(s.store, 'log.lock');
    await fsp.writeFile(lock, '');
    await fsp.truncate(lock, 256 << 20); // sparse: names no holder
    const old = new Date(Date.now() - 60_000);
    await fsp.utimes(lock, old, old); // older than GUARD_STALE_MS: stale, taken over
    const out = appendInChild(s.store);
    expect(out.r).toMatchObject({ written: true, seq: 2 });
    expect(await rawLines(s.store)).toHaveLength(2);
    expect(out.maxRssKiB).toBeLessThan(MAX_RSS_KIB);
  }, 60_000);

  it('gives up on a log locked by a live process, writes nothing and says why', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.writeFile(join(s.store, 'log.lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00Z' }));
    const r = await appendAudit(s.store, { command: 'verify', outcome: 'ok', exit: 0 }, process.env, { lockWaitMs: 150 });
    expect(r).toMatchObject({ written: false, reason: expect.any(String) });
    expect(await rawLines(s.store)).toHaveLength(1);
  });

  it('never writes a line longer than log --verify reads: details of 2 MiB are replaced by their size, and the log still verifies', async () => {
    const s = await storeWithLog();
    const huge = { blockers: Array.from({ length: 8000 }, (_, i) => `snapshots/${'x'.repeat(250)}${i}`) };
    const r = await appendAudit(s.store, { command: 'prune', outcome: 'failed', exit: 1, details: huge });
    expect(r.written).toBe(true);
    const lines = await rawLines(s.store);
    expect(lines).toHaveLength(5);
    const last = lines[4] as string;
    expect(Buffer.byteLength(last) + 1).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    const o = JSON.parse(last);
    expect(o).toMatchObject({ command: 'prune', outcome: 'failed', exit: 1, seq: 5 });
    expect(o.details).toEqual({ omitted: true, bytes: Buffer.byteLength(canonicalJson(huge)) });
    const v = await logVerify(s.store);
    expect(v.code, JSON.stringify(v.json.problems)).toBe(0);
    expect(v.json).toMatchObject({ ok: true, lines: 5, lastSeq: 5 });
  });

  it('gives up at once on a folder planted as log.lock, and says what it is and how to remove it (it waited 10 s at every command, then said "names no holder")', async () => {
    const s = await sealTree(TREE, keys);
    await fsp.mkdir(join(s.store, 'log.lock'));
    const r = await appendAudit(s.store, { command: 'verify', outcome: 'ok', exit: 0 }, process.env, { lockWaitMs: 3_000 });
    expect(r).toMatchObject({ written: false, reason: expect.stringMatching(/^the audit log of .+ is locked by .+\/log\.lock, which is a folder, not a lock file snap writes: no snap takes it over; remove it \(rm -r .+\/log\.lock\) once you know what put it there$/) });
    expect(await rawLines(s.store)).toHaveLength(1);
  });
});

describe('snap log', () => {
  it('shows every line in a table, and --json lists them', async () => {
    const s = await storeWithLog();
    const r = await snap(['log', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(5); // a header and four rows
    const j = await snapJson(['log', '--store', s.store]);
    expect(j.json.entries.map((e: { command: string }) => e.command)).toEqual(['seal', 'verify', 'verify', 'fsck']);
  });

  it('shows only the lines of one dataset NAME', async () => {
    const s = await sealTree(TREE, keys);
    const other = await sealTree(TREE, keys, { store: s.store });
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const j = await snapJson(['log', s.ref.split('@')[0] as string, '--store', s.store]);
    expect(j.code).toBe(0);
    expect(j.json.entries.map((e: { command: string; ref: string }) => `${e.command} ${e.ref}`)).toEqual([`seal ${s.ref}`, `verify ${s.ref}`]);
    expect(j.json.entries.some((e: { ref: string }) => e.ref === other.ref)).toBe(false);
  });

  it('says an empty log is empty, and a store without a log verifies', async () => {
    const store = await newStorePath();
    const { openStore } = await import('../../src/io/store.js');
    await openStore(store, { create: true });
    expect((await snapJson(['log', '--store', store])).json.entries).toEqual([]);
    expect((await logVerify(store)).code).toBe(0);
  });

  it('exits 3 without a store, and 2 for a NAME that cannot be one', async () => {
    expect((await snap(['log', '--store', await newStorePath()])).code).toBe(3);
    const s = await sealTree(TREE, keys);
    expect((await snap(['log', 'Not/A/Name', '--store', s.store])).code).toBe(2);
  });
});

describe('snap log --verify', () => {
  it('exits 0 on an intact log', async () => {
    const s = await storeWithLog();
    const v = await logVerify(s.store);
    expect(v.code).toBe(0);
    expect(v.json).toMatchObject({ ok: true, lines: 4, lastSeq: 4, problems: [] });
  });

  it('exits 1 for an edited line and names it', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    const o = JSON.parse(lines[1] as string);
    lines[1] = canonicalJson({ ...o, outcome: 'failed', exit: 1 }); // still a perfectly formed line
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'edited', line: 2, seq: 2 })]);
  });

  it('exits 1 for a removed line in the middle', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines.splice(1, 1);
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'removed', seq: 2, toSeq: 2 })]);
  });

  it('exits 1 for a removed last line, seen through log.head', async () => {
    const s = await storeWithLog();
    await writeLines(s.store, (await rawLines(s.store)).slice(0, 3));
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'removed', seq: 4, toSeq: 4 })]);
  });

  it('exits 1 for an edited last line, seen through log.head', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines[3] = canonicalJson({ ...JSON.parse(lines[3] as string), outcome: 'failed', exit: 1 });
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'head-mismatch', line: 4, seq: 4 })]);
  });

  it('exits 1 for two swapped lines', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    [lines[1], lines[2]] = [lines[2] as string, lines[1] as string];
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'reordered', line: 3, seq: 2 })]);
  });

  it('exits 1 for a copied line', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines.splice(3, 0, lines[1] as string);
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'inserted', line: 4, seq: 2 })]);
  });

  it('exits 1 for a line that is not a log line', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines[1] = 'not json';
    await writeLines(s.store, lines);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'malformed', line: 2 })]);
  });

  it('exits 1 when log.head is gone', async () => {
    const s = await storeWithLog();
    await fsp.rm(headFile(s.store));
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'head-mismatch' })]);
  });

  it('still sees a removed last line after later appends (the next seq continues from log.head)', async () => {
    const s = await storeWithLog();
    await writeLines(s.store, (await rawLines(s.store)).slice(0, 3));
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'removed', seq: 4, toSeq: 4 })]);
  });

  it('still sees an edited last line after later appends (the next line chains to log.head)', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines[3] = canonicalJson({ ...JSON.parse(lines[3] as string), user: 'someone-else' });
    await writeLines(s.store, lines);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'edited', line: 4, seq: 4 })]);
  });
});

describe('log.head and the end of the log', () => {
  it('accepts a head one line behind the log (a crash after the line was written, before the head moved)', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    await fsp.writeFile(headFile(s.store), canonicalJson({ seq: 3, sha256: sha256(lines[2] + '\n') }) + '\n');
    expect((await logVerify(s.store)).code).toBe(0);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    expect(JSON.parse(await fsp.readFile(headFile(s.store), 'utf8')).seq).toBe(5);
  });

  it(`takes no head past seq ${MAX_LOG_SEQ} (an S3 store keys a line by 12 digits): a forged one is not a valid anchor, and the next line continues the log`, async () => {
    const s = await storeWithLog();
    const hex = sha256('x');
    for (const seq of [MAX_LOG_SEQ + 1, Number.MAX_SAFE_INTEGER]) {
      await fsp.writeFile(headFile(s.store), canonicalJson({ seq, sha256: hex }) + '\n');
      const v = await logVerify(s.store);
      expect(v.code).toBe(1);
      expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'head-mismatch', message: expect.stringContaining('not a valid anchor') })]);
    }
    const before = (await rawLines(s.store)).length;
    expect(await appendAudit(s.store, { command: 'export', outcome: 'ok', exit: 0 })).toEqual({ written: true, seq: before + 1 });
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it(`refuses to append past seq ${MAX_LOG_SEQ} (a head at the last seq, written by someone else), saying why`, async () => {
    const s = await storeWithLog();
    await fsp.writeFile(headFile(s.store), canonicalJson({ seq: MAX_LOG_SEQ, sha256: sha256('x') }) + '\n');
    const r = await appendAudit(s.store, { command: 'export', outcome: 'ok', exit: 0 });
    expect(r).toEqual({ written: false, reason: expect.stringContaining(`the audit log cannot go past seq ${MAX_LOG_SEQ}: log.head names seq ${MAX_LOG_SEQ} but the log ends at seq 4`) });
  });

  it('chains past lines longer than the block it reads the end of the log in', async () => {
    const s = await sealTree(TREE, keys);
    const big = { blob: 'x'.repeat(150_000) };
    expect(await appendAudit(s.store, { command: 'export', outcome: 'ok', exit: 0, details: big })).toEqual({ written: true, seq: 2 });
    expect(await appendAudit(s.store, { command: 'export', outcome: 'ok', exit: 0, details: big })).toEqual({ written: true, seq: 3 });
    const lines = await rawLines(s.store);
    expect(JSON.parse(lines[2] as string).prev).toBe(sha256(lines[1] + '\n'));
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it('after a malformed last line, keeps counting and reports only that line', async () => {
    const s = await storeWithLog();
    const lines = await rawLines(s.store);
    lines[3] = 'garbage';
    await writeLines(s.store, lines);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    expect(JSON.parse((await rawLines(s.store))[4] as string).seq).toBe(5);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'malformed', line: 4 })]);
  });
});

describe('a torn last line (an append cut short by a crash)', () => {
  const TORN = '{"command":"verify","exit":0,"ho';

  it('makes log --verify exit 1 until the next append', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), TORN);
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'truncated', line: 5 })]);
  });

  it('is sealed off by the next append, kept in the file, and recorded in the new line', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), TORN);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const lines = await rawLines(s.store);
    expect(lines).toHaveLength(6);
    expect(lines[4]).toBe(TORN);
    expect(JSON.parse(lines[5] as string)).toMatchObject({ seq: 5, prev: sha256(lines[3] + '\n'), recovered: { bytes: TORN.length, sha256: sha256(TORN) } });
    const v = await logVerify(s.store);
    expect(v.code).toBe(0);
    expect(v.json.recovered).toEqual([{ line: 5, bytes: TORN.length }]);
  });

  it('is completed, not recorded as debris, when only its newline is missing', async () => {
    const s = await storeWithLog();
    const text = await fsp.readFile(logFile(s.store), 'utf8');
    await fsp.writeFile(logFile(s.store), text.slice(0, -1));
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const lines = await rawLines(s.store);
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[4] as string).recovered).toBeUndefined();
    expect((await logVerify(s.store)).code).toBe(0);
  });
});

describe('a planted line of any length', () => {
  /** 96 MiB: read in 1 MiB chunks, a line this long took minutes when each chunk was joined to the ones before. */
  const LONG = 96 << 20;

  it('is read in one pass: log --verify reports it malformed (exit 1) in seconds, and log shows the other lines', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), Buffer.alloc(LONG, 0x78));
    await fsp.appendFile(logFile(s.store), '\n');
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.problems).toEqual([expect.objectContaining({ kind: 'malformed', line: 5 })]);
    const shown = await snapJson(['log', '--store', s.store]);
    expect(shown.json.entries.map((e: { command?: string }) => e.command ?? 'malformed')).toEqual(['seal', 'verify', 'verify', 'fsck', 'malformed']);
    expect(shown.json.entries[4]).toMatchObject({ line: 5, malformed: true, raw: 'x'.repeat(200) });
  }, 30_000);

  it('torn, is sealed off by the next append and recorded by its whole length and digest; its leaf is that of its bytes', async () => {
    const s = await storeWithLog();
    const torn = Buffer.alloc(LONG, 0x79);
    await fsp.appendFile(logFile(s.store), torn);
    expect((await snap(verifyArgs(s))).code).toBe(0);
    const v = await logVerify(s.store);
    expect(v.code).toBe(0);
    expect(v.json.recovered).toEqual([{ line: 5, bytes: LONG }]);
    // The root of the six lines, from their bytes: the torn line's leaf is that of all its bytes.
    const lines = (await fsp.readFile(logFile(s.store))).toString('latin1').split('\n').slice(0, -1);
    expect(lines).toHaveLength(6);
    expect(lines[4]).toBe(torn.toString('latin1'));
    const leaf = (l: string) => createHash('sha256').update(Buffer.from([0])).update(Buffer.from(l, 'latin1')).digest();
    const log = await logRoots(s.store, [5]);
    expect(log.lines).toBe(6);
    expect(Buffer.from(log.roots.get(6) as Uint8Array).toString('hex')).toBe(Buffer.from(merkleRoot(lines.map(leaf))).toString('hex'));
    expect(Buffer.from(log.roots.get(5) as Uint8Array).toString('hex')).toBe(Buffer.from(merkleRoot(lines.slice(0, 5).map(leaf))).toString('hex'));
  }, 30_000);
});

describe('a planted last line of any length, complete', () => {
  /** 256 MiB: held whole, it cost the append about 2.3 times its length (a 300 MiB line: 683 MB of memory for one verify). */
  const LONG = 256 << 20;

  it('is chained to by the next append from its digest, read in blocks: the appender\'s memory stays far below the line\'s length', async () => {
    const s = await storeWithLog();
    const before = (await fsp.stat(logFile(s.store))).size;
    // A sparse line of zero bytes, then its newline: planted by whoever can write the store.
    await fsp.truncate(logFile(s.store), before + LONG);
    await fsp.appendFile(logFile(s.store), '\n');
    const out = appendInChild(s.store);
    expect(out.r).toMatchObject({ written: true, seq: 6 });
    const text = await fsp.readFile(logFile(s.store));
    const appended = text.subarray(before + LONG + 1).toString('utf8');
    const planted = createHash('sha256').update(Buffer.alloc(LONG)).update('\n').digest('hex');
    expect(appended.endsWith('\n')).toBe(true);
    expect(JSON.parse(appended)).toMatchObject({ seq: 6, prev: planted });
    expect(out.maxRssKiB).toBeLessThan(MAX_RSS_KIB);
  }, 60_000);
});

describe('a planted log of many lines', () => {
  const MANY = 200_000;

  it('makes log --verify exit 1 listing the first 1000 problems and counting the rest, and refuses a checkpoint', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), '\n'.repeat(MANY));
    const v = await logVerify(s.store);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(v.json.problems).toHaveLength(1000);
    expect(v.json.problems[0]).toMatchObject({ kind: 'malformed', line: 5 });
    expect(v.json.unlisted).toBe(MANY - 1000);
    const human = await snap(['log', '--verify', '--store', s.store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`FAIL`);
    expect(human.stdout).toContain('… and 199,000 more problems, not listed (the first 1000 are)');
    const c = await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', s.store]);
    expect(c.code).toBe(1);
    expect(c.json.error.code).toBe('LOG_INCONSISTENT');
  }, 120_000);

  it('is shown by snap log in a table of every row (exit 0), not a stack overflow', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), '\n'.repeat(MANY));
    const r = await snap(['log', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1 + 4 + MANY);
  }, 120_000);

  it('is listed by snap log in bounded memory: 2,000,000 planted empty lines, a 48 MiB heap, only the 3 rows of NAME shown (every row was held at once: out of memory)', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), '\n'.repeat(2_000_000));
    const name = s.ref.slice(0, s.ref.indexOf('@'));
    const r = await snapBin(['log', name, '--store', s.store], { env: { NODE_OPTIONS: heapLimit(48) }, timeoutMs: 110_000 });
    expect(r.code, r.stderr.slice(0, 400)).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1 + 3); // the header, seal and two verifies (fsck names no snapshot)
  }, 120_000);

  it('gives --json as the bytes JSON.stringify(value, null, 2) gives, streamed: rows and malformed lines alike, and an empty list for an empty log', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), '\nnot json\n');
    const r = await snap(['log', '--json', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    const value = JSON.parse(r.stdout);
    expect(r.stdout).toBe(JSON.stringify(value, null, 2) + '\n');
    expect(value.entries).toHaveLength(6);
    expect(value.entries[5]).toEqual({ line: 6, malformed: true, complete: true, raw: 'not json' });
    const named = await snap(['log', s.ref.slice(0, s.ref.indexOf('@')), '--json', '--store', s.store]);
    expect(named.stdout).toBe(JSON.stringify(JSON.parse(named.stdout), null, 2) + '\n');
    expect(JSON.parse(named.stdout).entries.map((e: { command: string }) => e.command)).toEqual(['seal', 'verify', 'verify']);
    const empty = join(await tempDir('snap-log-empty-'), 'store');
    expect((await snap(['init', '--store', empty])).code).toBe(0);
    await fsp.rm(logFile(empty)); // init logs itself: a store with no log at all
    const none = await snap(['log', '--json', '--store', empty]);
    expect([none.code, none.stdout]).toEqual([0, JSON.stringify({ store: empty, entries: [], ok: true }, null, 2) + '\n']);
  }, 60_000);
});

  it('keeps --json one document when Ctrl-C stops it while it streams the rows: the rows written so far, then "ok": false and the error (it was a document saying "ok": true, cut off, with the error document run on after it)', async () => {
    const s = await storeWithLog();
    await fsp.appendFile(logFile(s.store), 'x\n'.repeat(1_000_000)); // a million rows to list: seconds of output
    const { child, done } = spawnSnap(['log', '--json', '--store', s.store], { timeoutMs: 110_000 });
    // Stopped once the document has begun (its first 64 KiB are on stdout), long before it ends.
    await new Promise<void>((res) => child.stdout?.once('data', () => res()));
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(doc).toMatchObject({ ok: false, store: s.store, error: { code: 'INTERRUPTED' } });
    expect(doc.entries.length).toBeGreaterThan(4);
    expect(doc.entries.length).toBeLessThan(4 + 1_000_000);
    expect(doc.entries[4]).toEqual({ line: 5, malformed: true, complete: true, raw: 'x' });
  }, 120_000);

describe('a FIFO planted in place of a file of the log', () => {
  /** In a subprocess, killed after 15 s: a command blocked on a FIFO would otherwise hang the test. */
  const run = (args: string[]) => snapBin(args, { timeoutMs: 15_000 });

  it('as log.head: verify still exits 0, its append replaces the anchor, and log --verify then agrees', async () => {
    const s = await storeWithLog();
    await fsp.rm(headFile(s.store));
    execFileSync('mkfifo', [headFile(s.store)]);
    const r = await run(verifyArgs(s));
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.lstat(headFile(s.store))).isFile()).toBe(true);
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it('as log.jsonl: verify exits 0 and says the log was not written; log and log --verify exit 3 (IO_ERROR) at once', async () => {
    const s = await storeWithLog();
    await fsp.rm(logFile(s.store));
    execFileSync('mkfifo', [logFile(s.store)]);
    const r = await run([...verifyArgs(s), '--json']);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).log).toMatchObject({ written: false });
    for (const args of [['log', '--verify'], ['log']]) {
      const l = await run([...args, '--store', s.store]);
      expect(l.signal).toBeNull();
      expect(l.code).toBe(3);
      expect(l.stderr).toContain('not a regular file [IO_ERROR]');
    }
  });
});

describe('a symbolic link planted in place of log.jsonl', () => {
  it('is never followed: verify exits 0 and says the log was not written, the file it names is neither made nor appended to, and log exits 3 without printing that file', async () => {
    const s = await storeWithLog();
    const outside = await tempDir('snap-log-link-');
    const existing = join(outside, 'train.csv');
    await fsp.writeFile(existing, 'id,label\n1,ham\n');
    for (const target of [join(outside, 'made-by-snap'), existing]) {
      await fsp.rm(logFile(s.store), { force: true });
      await fsp.symlink(target, logFile(s.store));
      const r = await snapBin([...verifyArgs(s), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).log).toMatchObject({ written: false });
      expect(JSON.parse(r.stdout).log.reason).toContain('is a symbolic link');
      const l = await snapBin(['log', '--json', '--store', s.store]);
      expect(l.code).toBe(3);
      expect(JSON.parse(l.stdout).error.code).toBe('IO_ERROR');
      expect(l.stdout).not.toContain('ham');
      expect((await logVerify(s.store)).code).toBe(3);
    }
    expect(await fsp.readdir(outside)).toEqual(['train.csv']);
    expect(await fsp.readFile(existing, 'utf8')).toBe('id,label\n1,ham\n');
  });
});

describe('verify with a store it cannot write', () => {
  it('still verifies (exit 0) and says in --json that the log was not written', async () => {
    const s = await sealTree(TREE, keys);
    const before = await fsp.readFile(logFile(s.store));
    const args = [...verifyArgs(s), '--json'];
    let r: { code: number; stdout: string; stderr: string };
    const as = unprivileged();
    if (process.getuid?.() === 0 && as.uid !== undefined) {
      // As root, permissions do not apply: run as "nobody" on a store everyone may read but only root may write.
      await shareWithEveryone(s.data);
      await shareWithEveryone(join(s.store, '..'));
      await shareWithEveryone(keys.dir).catch(() => {});
      await fsp.chmod(keys.key, 0o600);
      r = await snapBin(args, as);
    } else if (process.getuid?.() === 0) {
      // "nobody" cannot reach the checkout: stay root without the permission-override capabilities.
      await makeReadOnly(s.store);
      r = await snapBin(args, as);
    } else {
      await makeReadOnly(s.store);
      r = await snap(args);
    }
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.ok).toBe(true);
    expect(json.log).toMatchObject({ written: false, reason: expect.any(String) });
    expect(r.stderr).toContain('audit log not written');
    expect(await fsp.readFile(logFile(s.store))).toEqual(before);
  });

  it('logs nothing, silently, when the snapshot is a folder and there is no store', async () => {
    const s = await sealTree(TREE, keys);
    const noStore = await newStorePath();
    const r = await snapJson(['verify', s.data, '--against', s.dir, '--pubkey', keys.pub, '--store', noStore]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.log).toMatchObject({ written: false, noStore: true });
    expect(r.stderr).toBe('');
  });
});

/** chmod a-w every folder and file under `path` (not root: there, permissions do not apply). */
async function makeReadOnly(path: string): Promise<void> {
  const st = await fsp.lstat(path);
  if (st.isDirectory()) for (const n of await fsp.readdir(path)) await makeReadOnly(join(path, n));
  if (!st.isSymbolicLink()) await fsp.chmod(path, st.mode & 0o555);
}

describe('the archive commands in the log', () => {
  it('logs export and restore in the store they read, and import in the store it fills, each with its snapshot id', async () => {
    const s = await sealTree(TREE, keys);
    const work = await tempDir('snap-log-archive-');
    const archive = join(work, 'out.snap.tar');
    const ex = await snapJson(['export', s.ref, '-o', archive, '--store', s.store]);
    expect(ex.code, ex.stderr).toBe(0);
    const re = await snapJson(['restore', s.ref, join(work, 'restored'), '--pubkey', keys.pub, '--store', s.store]);
    expect(re.code, re.stderr).toBe(0);
    const other = await newStorePath();
    const im = await snapJson(['import', archive, '--pubkey', keys.pub, '--store', other]);
    expect(im.code, im.stderr).toBe(0);

    const here = (await snapJson(['log', '--store', s.store])).json.entries as { command: string; outcome: string; snapshot?: string }[];
    expect(here.map((e) => e.command)).toEqual(['seal', 'export', 'restore']);
    for (const e of here) expect(e).toMatchObject({ outcome: 'ok', snapshot: ex.json.snapshot });
    const there = (await snapJson(['log', '--store', other])).json.entries as { command: string; outcome: string; snapshot?: string }[];
    expect(there).toEqual([expect.objectContaining({ command: 'import', outcome: 'ok', snapshot: ex.json.snapshot })]);
    expect((await logVerify(s.store)).code).toBe(0);
  });

  it('logs an export that fails, with its error code', async () => {
    const s = await sealTree(TREE, keys);
    const r = await snapJson(['export', 'nope@v9', '-o', join(await tempDir('snap-log-archive-'), 'x.snap.tar'), '--store', s.store]);
    expect(r.code).toBe(3);
    const last = ((await snapJson(['log', '--store', s.store])).json.entries as { command: string; outcome: string; error?: string }[]).at(-1);
    expect(last).toMatchObject({ command: 'export', outcome: 'error', error: 'REF_NOT_FOUND' });
  });
});
