/**
 * Several snap commands at once on one local store, as CI jobs sharing a store run them: real
 * processes, started at random offsets, one of them SIGKILLed at a random moment in some rounds.
 * Afterwards every snapshot a command reported committed still verifies, `fsck` passes, `log
 * --verify` passes (a line torn by the kill is the only problem allowed, sealed off by the next
 * append), no co-signature is lost, and the store lock is never held by two processes at once.
 *
 * One or two rounds per case by default (the file stays under about half a minute); SNAP_RACE_RUNS=N
 * runs N, e.g. `SNAP_RACE_RUNS=40 npx vitest run test/cli/concurrent-writers.test.ts`.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, spawnSnap, snapJson, tempDir, REPO, type BinResult, type KeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

/** Rounds per case: one or two by default, more by hand. */
const RUNS = Number(process.env.SNAP_RACE_RUNS ?? 1);
/** The latest random start offset of a command (ms). */
const MAX_OFFSET_MS = 150;

const rnd = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `snap ARGS` as a process after `offset` ms, SIGKILLed `killAfter` ms after its start when given. */
async function later(args: string[], offset: number, killAfter?: number): Promise<BinResult> {
  await sleep(offset);
  const { child, done } = spawnSnap(args);
  if (killAfter !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfter);
  return done;
}

/** What must hold of `store` after a round: fsck and log --verify pass (a torn last line aside), and each snapshot given verifies. */
async function expectIntact(store: string, committed: { data: string; ref: string }[], pub: string): Promise<void> {
  const f = await snapJson(['fsck', '--store', store]);
  expect(f.code, f.stdout).toBe(0);
  const l = await snapJson(['log', '--verify', '--store', store]);
  const kinds = (l.json.problems ?? []).map((p: { kind: string }) => p.kind);
  expect(kinds.filter((k: string) => k !== 'truncated'), l.stdout).toEqual([]);
  for (const c of committed) {
    const v = await snapJson(['verify', c.data, '--against', c.ref, '--pubkey', pub, '--store', store]);
    expect(v.code, `${c.ref}: ${v.stdout}`).toBe(0);
  }
}

const keys: KeyPair[] = [];
const fx = { a: '', b: '' };
beforeAll(async () => {
  for (const n of ['producer', 'reviewer-1', 'reviewer-2']) keys.push(await makeKeyPair(n));
  // Two datasets that share most of their bytes: their seals race for the same objects.
  const shared = Buffer.alloc(3 << 20, 7);
  fx.a = await makeTree({ 'big.bin': shared, 'a.txt': 'a\n', ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`rows/${i}.txt`, `row ${i}\n`])) });
  fx.b = await makeTree({ 'big.bin': shared, 'b.txt': 'b\n', ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`rows/${i}.txt`, `row ${i}\n`])) });
});

describe('two seals at once, one of them killed in every other round', () => {
  it('lose no committed snapshot and leave a store that fsck and log --verify pass', async () => {
    const store = await newStorePath();
    expect((await snapJson(['init', '--store', store])).code).toBe(0);
    const committed: { data: string; ref: string }[] = [];
    for (let r = 0; r < 2 * RUNS; r++) {
      const victim = r % 2 === 1 ? rnd(2) : -1;
      const jobs = [fx.a, fx.b].map((data, i) => ({ data, ref: `ds@r${r}-${i}` }));
      const res = await Promise.all(jobs.map((j, i) => later(['seal', j.data, '--as', j.ref, '--key', keys[0]!.key, '--store', store, '--quiet'], rnd(MAX_OFFSET_MS), i === victim ? 20 + rnd(600) : undefined)));
      res.forEach((x, i) => {
        if (x.signal === null) expect(x.code, x.stderr).toBe(0);
        if (x.code === 0) committed.push(jobs[i]!);
      });
    }
    await expectIntact(store, committed, keys[0]!.pub);
  }, 120_000);
});

describe('co-signers at once', () => {
  it('each keep their signature: the envelope holds the producer\'s and every co-signer\'s that exited 0', async () => {
    const store = await newStorePath();
    for (let r = 0; r < RUNS; r++) {
      const ref = `cs@r${r}`;
      expect((await snapJson(['seal', fx.a, '--as', ref, '--key', keys[0]!.key, '--store', store])).code).toBe(0);
      const res = await Promise.all([1, 2].map((k) => later(['sign', ref, '--key', keys[k]!.key, '--store', store, '--quiet'], rnd(MAX_OFFSET_MS))));
      for (const x of res) expect(x.code, x.stderr).toBe(0);
      const envelope = JSON.parse(readFileSync(join(store, 'snapshots', 'cs', `r${r}`, 'envelope.json'), 'utf8')) as { signatures: { keyid: string }[] };
      expect(envelope.signatures.map((s) => s.keyid).sort()).toEqual(keys.map((k) => k.keyid).sort());
    }
  }, 120_000);
});

describe('audit log appends racing a checkpoint', () => {
  it('interleave no lines: log --verify passes after three verifies and a log checkpoint at once', async () => {
    const store = await newStorePath();
    expect((await snapJson(['seal', fx.a, '--as', 'lg@v1', '--key', keys[0]!.key, '--store', store])).code).toBe(0);
    for (let r = 0; r < RUNS; r++) {
      const res = await Promise.all([
        ...[0, 1, 2].map(() => later(['verify', fx.a, '--against', 'lg@v1', '--pubkey', keys[0]!.pub, '--store', store, '--quiet'], rnd(MAX_OFFSET_MS))),
        later(['log', 'checkpoint', '--key', keys[1]!.key, '--store', store, '--quiet'], rnd(MAX_OFFSET_MS)),
      ]);
      for (const x of res) expect(x.code, x.stderr).toBe(0);
      for (const x of res) expect(x.stderr, 'every line written').toBe('');
    }
    expect((await snapJson(['log', '--store', store])).json.entries, 'the seal\'s line and each command\'s').toHaveLength(1 + 4 * RUNS);
    await expectIntact(store, [], keys[0]!.pub);
  }, 120_000);
});

describe('a new store made by several seals at once, some of them failing', () => {
  it('is never refused as "not a snap store" (STORE_MALFORMED), nor told the store was removed (NOT_FOUND), by a seal that should go in; a failing seal says only why it failed', async () => {
    // Eight rounds (about 6 s): the races this catches (a store discarded and made again while
    // another seal opens it, waits for its lock or makes it) each showed within 60 rounds.
    for (let r = 0; r < 8 * RUNS; r++) {
      const store = await newStorePath();
      const res = await Promise.all([
        ...[0, 1, 2].map((i) => later(['seal', fx.a, '--as', `bad${i}@v1`, '--parent', 'nope@v9', '--key', keys[0]!.key, '--store', store, '--quiet'], rnd(60))),
        ...[0, 1, 2].map((i) => later(['seal', fx.a, '--as', `good${i}@v1`, '--key', keys[0]!.key, '--store', store, '--quiet'], rnd(60))),
      ]);
      res.slice(0, 3).forEach((x) => expect(x.stderr).toContain('[REF_NOT_FOUND]'));
      res.slice(3).forEach((x) => expect(x.code, x.stderr).toBe(0));
    }
  }, 120_000);
});

describe('many waiters on a lock whose holder was killed (and, every other round, a takeover guard left by a killed waiter)', () => {
  it('let exactly one process in at a time', async () => {
    const dir = await tempDir();
    const path = join(dir, 'lock');
    const log = join(dir, 'inside.log');
    // Each child waits for the same moment, takes the lock, says so, holds it 30 ms, says so, gives it back.
    const child = `import { acquireLockFile } from ${JSON.stringify(join(REPO, 'dist', 'io', 'store.js'))};
import { appendFileSync } from 'node:fs';
const [path, at, log] = process.argv.slice(1);
while (Date.now() < Number(at)) await new Promise((r) => setTimeout(r, 1));
const release = await acquireLockFile(path, 'the test lock', 20_000);
appendFileSync(log, 'in\\n');
await new Promise((r) => setTimeout(r, 30));
appendFileSync(log, 'out\\n');
await release();`;
    for (let r = 0; r < 2 * RUNS; r++) {
      await fsp.writeFile(log, '');
      await fsp.writeFile(path, JSON.stringify({ pid: 2 ** 22 + 11, host: hostname(), since: new Date().toISOString() }));
      if (r % 2 === 1) {
        await fsp.writeFile(`${path}.takeover`, '');
        const old = new Date(Date.now() - 60_000);
        await fsp.utimes(`${path}.takeover`, old, old);
      }
      const at = String(Date.now() + 1_500);
      const codes = await Promise.all(Array.from({ length: 8 }, () => new Promise<number | null>((res) => spawn(process.execPath, ['--input-type=module', '-e', child, path, at, log], { stdio: 'ignore' }).on('close', res))));
      expect(codes).toEqual(Array(8).fill(0));
      let inside = 0;
      let most = 0;
      for (const l of (await fsp.readFile(log, 'utf8')).trim().split('\n')) {
        inside += l === 'in' ? 1 : -1;
        most = Math.max(most, inside);
      }
      expect(most, `round ${r}`).toBe(1);
    }
  }, 120_000);
});
