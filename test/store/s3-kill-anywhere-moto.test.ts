/**
 * SIGKILL at any moment of a command on an S3 store (moto, started here; never skipped) — no
 * handler runs, the lock object stays in the bucket, the working copy stays in $TMPDIR — loses
 * nothing and passes off nothing half-written as good (docs/FORMAT.md §23.3–§23.5), as
 * test/cli/kill-anywhere.test.ts checks for a local store.
 *
 * Each writing command — `seal` (a first seal, and a seal with a parent), `sign` (co-signing),
 * `fsck --clean`, `fsck --repair-from`, `import`, `log checkpoint` — is killed at each of the
 * chosen moments of src/io/test-kill-point.ts that it reaches (SNAP_TEST_KILL_AT: after the lock,
 * after the pull, after an upload batch, after the objects and before the staged files, after the
 * staged files and before the commit object, after the commit object, after a co-signature, after
 * the other files, after the log lines and before log.head, after the whole push), and at seeded
 * random moments over the length of one whole run. After each kill:
 *
 * - the snapshot (co-signature, checkpoint) is there exactly when the command got past the write
 *   that makes it so (the commit object …): a half-finished seal is not a snapshot;
 * - `snap fsck` passes (a killed writer's leftovers are warnings) and reads exactly the
 *   NAME@VERSIONs with a commit object, every one of them verifies, and `log --verify` passes;
 * - the same command run again — with the killed run's working copy still in its $TMPDIR and its
 *   lock object still in the bucket — succeeds (a seal or import whose commit landed: refused
 *   SNAPSHOT_EXISTS, exit 3, and the snapshot is whole), and the store is sound after it.
 *
 * By default one telling point per command (the file stays under about a minute, moto's start
 * included); SNAP_KILL_POINTS=all kills at every point, and SNAP_KILL_RUNS=N adds N random moments
 * per command (SNAP_KILL_SEED picks other moments), e.g.
 * `SNAP_KILL_POINTS=all SNAP_KILL_RUNS=10 npx vitest run test/store/s3-kill-anywhere-moto.test.ts`.
 *
 * Also: the working copy's disk full during a seal into an S3 store (a 4 MiB tmpfs as $TMPDIR,
 * which needs root, as test/ops/disk-full.test.ts): DISK_FULL, exit 3, nothing committed, the lock
 * released and the tmpfs left empty; the same seal with room succeeds.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket, plantOnMoto } from './s3-fixture.js';
import { Rng } from '../../src/drill/rng.js';
import type { KillPoint } from '../../src/io/test-kill-point.js';

/** Random moments per command, besides the chosen points: none by default, more by hand. */
const RUNS = Number(process.env.SNAP_KILL_RUNS ?? 0);
/** Every chosen point of each command (SNAP_KILL_POINTS=all), or by default only its telling one (`quick`). */
const ALL_POINTS = process.env.SNAP_KILL_POINTS === 'all';
/** The seed of the random moments (the drill's PRNG): the same moments on every run unless changed. */
const SEED = Number(process.env.SNAP_KILL_SEED ?? 0x53b111);
/** Small upload batches, so that a seal hands objects over more than once before its push. */
const STAGE_BYTES = String(256 * 1024);

const server = useS3Server('moto');
const producer = useKeyPair('s3kill-producer');
const cosigner = useKeyPair('s3kill-cosigner');

/** A 1.5 MiB file, 40 small ones in folders and a symbolic link. */
function spec(changed = false): Record<string, Buffer | string | { symlink: string }> {
  const s: Record<string, Buffer | string | { symlink: string }> = { 'shard.bin': Buffer.alloc(3 << 19, 7) };
  for (let i = 0; i < 40; i++) s[`rows/${i % 4}/${String(i).padStart(2, '0')}.txt`] = `row ${i}${changed && i % 8 === 0 ? ' changed' : ''}\n`;
  if (changed) s['extra.bin'] = Buffer.alloc(1 << 19, 9);
  s['latest'] = { symlink: 'shard.bin' };
  return s;
}

/** What every run starts from: the datasets of ds@v1 and ds@v2, a template bucket holding ds@v1, its archive. */
const fx = { v1: '', v2: '', template: '', archive: '', scratch: '' };
let c: S3Client;

/** A run of snap against the server, in this process. */
const run = (args: string[]) => snapJson(args, { env: { ...server.env } });

beforeAll(async () => {
  c = clientFor(server);
  fx.v1 = await makeTree(spec());
  fx.v2 = await makeTree(spec(true));
  fx.template = await newBucket(c, 'plain');
  const s = await run(['seal', fx.v1, '--as', 'ds@v1', '--key', producer.key, '--store', `s3://${fx.template}/st`, '--quiet']);
  expect(s.code, s.stderr).toBe(0);
  const work = await tempDir('snap-s3kill-');
  fx.archive = join(work, 'ds@v1.snap.tar');
  const e = await run(['export', 'ds@v1', '-o', fx.archive, '--store', `s3://${fx.template}/st`, '--quiet']);
  expect(e.code, e.stderr).toBe(0);
  fx.scratch = work;
}, 120_000);

/** Every key under `prefix` of `bucket`. */
async function keysOf(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) out.push({ key: o.Key as string, size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** A new plain bucket holding a copy of the template's store (ds@v1, its log). */
async function bucketWithV1(): Promise<string> {
  const b = await newBucket(c, 'plain');
  const keys = (await keysOf(fx.template, 'st/')).filter((k) => !k.key.startsWith('st/locks/'));
  await Promise.all(keys.map((k) => c.send(new CopyObjectCommand({ Bucket: b, Key: k.key, CopySource: `${fx.template}/${k.key}` }))));
  return b;
}

/** The NAME@VERSIONs whose commit object is in the bucket. */
async function committed(bucket: string): Promise<string[]> {
  return (await keysOf(bucket, 'st/snapshots/'))
    .map((k) => /^st\/snapshots\/([^/]+)\/([^/]+)\/commit\.json$/.exec(k.key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}@${m[2]}`)
    .sort();
}

/** The dataset each ref was sealed from. */
const DATA: Record<string, () => string> = { 'ds@v1': () => fx.v1, 'ds@v2': () => fx.v2 };

/**
 * The store is what a reader may trust: fsck passes (`fsckCodes`: leftovers are warnings, exit 0)
 * and reads exactly the NAME@VERSIONs with a commit object, each of those verifies against its
 * dataset, and the audit log verifies.
 * @returns the refs listed
 */
async function expectSound(bucket: string, what: string, fsckCodes = [0]): Promise<string[]> {
  const store = `s3://${bucket}/st`;
  const f = await run(['fsck', '--store', store, '--quiet']);
  expect(fsckCodes, `${what}: fsck exit ${f.code} ${JSON.stringify(f.json).slice(0, 3000)}`).toContain(f.code);
  const listed = (f.json.snapshots as { ref: string }[]).map((x) => x.ref).sort();
  expect(listed, `${what}: the snapshots fsck reads are those with a commit object`).toEqual(await committed(bucket));
  for (const ref of listed) {
    const v = await run(['verify', (DATA[ref] as () => string)(), '--against', ref, '--store', store, '--pubkey', producer.pub, '--quiet']);
    expect(v.code, `${what}: verify --against ${ref}: ${v.stderr}`).toBe(0);
  }
  const log = await run(['log', '--verify', '--store', store, '--quiet']);
  expect(log.code, `${what}: log --verify ${JSON.stringify(log.json).slice(0, 2000)}`).toBe(0);
  // The killed run's lock object was taken for stale (its process is gone) and removed; no other is left.
  expect(await keysOf(bucket, 'st/locks/'), `${what}: lock objects left`).toEqual([]);
  return listed;
}

/** The sha256 of a body. */
const hexOf = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A point of src/io/test-kill-point.ts, or `POINT:N`: the N-th time it is reached. */
type Point = KillPoint | `${KillPoint}:${number}`;

/** One command killed at a chosen point or a random moment: how to set it up, what must hold after the kill and after a re-run. */
interface Case {
  name: string;
  /** The points this command reaches, in order. */
  points: Point[];
  /** The one point of a default run. */
  quick: Point;
  /** The point from which on the command's effect is in the bucket (a commit object, a co-signature …). */
  doneFrom?: Point;
  /** A new bucket for the run `i` (and what else the run needs). */
  prepare: (i: number) => Promise<string>;
  args: (bucket: string) => string[];
  env?: Record<string, string>;
  /** What must hold after the kill; `reached`: whether the kill came at or after `doneFrom` (undefined for a random moment). Returns whether the effect is there. */
  afterKill: (bucket: string, what: string, reached: boolean | undefined) => Promise<boolean>;
  /** What the re-run must answer when the effect is there already (default: exit 0). */
  rerunWhenDone?: { code: number; error: string };
  afterRerun: (bucket: string, what: string) => Promise<void>;
}

const storeOf = (bucket: string): string => `s3://${bucket}/st`;
const SEAL_POINTS: Point[] = ['s3-locked', 's3-pulled', 's3-handed-over', 's3-ran', 's3-objects-pushed', 's3-staged', 's3-committed', 's3-log-lines', 's3-pushed'];

/** A seal (or import) of `ref`: committed exactly when the kill came after its commit object; whole when committed. */
function sealLike(ref: string, rerunWhenDone?: Case['rerunWhenDone']) {
  return {
    doneFrom: 's3-committed' as Point,
    afterKill: async (bucket: string, what: string, reached: boolean | undefined): Promise<boolean> => {
      const listed = (await keysOf(bucket, 'st/store.json')).length === 0 ? [] : await expectSound(bucket, `${what}: after the kill`);
      const there = listed.includes(ref);
      if (reached !== undefined) expect(there, `${what}: ${ref} is a snapshot exactly when its commit object was written`).toBe(reached);
      return there;
    },
    ...(rerunWhenDone ? { rerunWhenDone } : {}),
    afterRerun: async (bucket: string, what: string): Promise<void> => {
      expect(await expectSound(bucket, `${what}: after the re-run`)).toContain(ref);
    },
  };
}

const CASES: Case[] = [
  {
    name: 'a first seal',
    points: SEAL_POINTS,
    quick: 's3-staged',
    // Half the runs into a bucket the seal makes the store in, half into a versioned one.
    prepare: async (i) => newBucket(c, i % 2 === 0 ? 'plain' : 'versioned'),
    args: (b) => ['seal', fx.v1, '--as', 'ds@v1', '--key', producer.key, '--store', storeOf(b), '--quiet'],
    env: { SNAP_S3_STAGE_BYTES: STAGE_BYTES },
    ...sealLike('ds@v1', { code: 3, error: 'SNAPSHOT_EXISTS' }),
  },
  {
    name: 'a seal with a parent',
    points: SEAL_POINTS,
    quick: 's3-committed',
    prepare: async () => bucketWithV1(),
    args: (b) => ['seal', fx.v2, '--as', 'ds@v2', '--key', producer.key, '--store', storeOf(b), '--quiet'],
    env: { SNAP_S3_STAGE_BYTES: STAGE_BYTES },
    ...sealLike('ds@v2', { code: 3, error: 'SNAPSHOT_EXISTS' }),
  },
  {
    name: 'import',
    points: ['s3-locked', 's3-pulled', 's3-ran', 's3-objects-pushed', 's3-staged', 's3-committed', 's3-log-lines', 's3-pushed'],
    quick: 's3-staged',
    prepare: async (i) => {
      const b = await newBucket(c, 'plain');
      if (i % 2 === 0) expect((await run(['init', '--store', storeOf(b)])).code).toBe(0);
      return b;
    },
    args: (b) => ['import', fx.archive, '--pubkey', producer.pub, '--store', storeOf(b), '--quiet'],
    // The snapshot already there, the re-run of an import has nothing to do: exit 0.
    ...sealLike('ds@v1'),
  },
  {
    name: 'sign (co-signing)',
    points: ['s3-locked', 's3-pulled', 's3-ran', 's3-cosigned', 's3-log-lines', 's3-pushed'],
    quick: 's3-cosigned',
    doneFrom: 's3-cosigned',
    prepare: async () => bucketWithV1(),
    args: (b) => ['sign', 'ds@v1', '--key', cosigner.key, '--pubkey', producer.pub, '--store', storeOf(b), '--quiet'],
    afterKill: async (b, what, reached) => {
      await expectSound(b, `${what}: after the kill`);
      const both = await run(['verify', fx.v1, '--against', 'ds@v1', '--store', storeOf(b), '--pubkey', producer.pub, '--pubkey', cosigner.pub, '--threshold', '2', '--quiet']);
      expect([0, 1], `${what}: verify --threshold 2 ${both.stderr}`).toContain(both.code);
      if (reached !== undefined) expect(both.code === 0, `${what}: co-signed exactly when its co-signature file was written`).toBe(reached);
      return both.code === 0;
    },
    afterRerun: async (b, what) => {
      await expectSound(b, `${what}: after the re-run`);
      const both = await run(['verify', fx.v1, '--against', 'ds@v1', '--store', storeOf(b), '--pubkey', producer.pub, '--pubkey', cosigner.pub, '--threshold', '2', '--quiet']);
      expect(both.code, `${what}: verify --threshold 2 after the re-run: ${both.stderr}`).toBe(0);
      expect(await keysOf(b, 'st/signatures/'), `${what}: one co-signature file`).toHaveLength(1);
    },
  },
  {
    name: 'fsck --clean',
    // fsck --clean removes 1,000 keys a request (DeleteObjects): 1,013 keys, two requests.
    points: ['s3-locked', 's3-pulled', 's3-leftover-key-removed:1', 's3-leftover-key-removed:2', 's3-ran', 's3-log-lines', 's3-pushed'],
    // Part of a staged folder removed: the first request ends inside the folder of 1,001 keys.
    quick: 's3-leftover-key-removed:1',
    prepare: async () => {
      // ds@v1 and four staged folders of commits of it that lost (removable at once, whatever their
      // age): three copies of its own, one of 1,001 keys.
      const b = await bucketWithV1();
      const staged = (await keysOf(b, 'st/snapshots/ds/v1/staged/')).map((k) => k.key);
      for (let t = 0; t < 3; t++) {
        const token = hexOf(`lost ${t} ${b}`).slice(0, 32);
        for (const k of staged) await c.send(new CopyObjectCommand({ Bucket: b, Key: k.replace(/staged\/[0-9a-f]{32}\//, `staged/${token}/`), CopySource: `${b}/${k}` }));
      }
      const big = hexOf(`lost big ${b}`).slice(0, 32);
      await plantOnMoto(server, b, Array.from({ length: 1001 }, (_, i) => `st/snapshots/ds/v1/staged/${big}/f${String(i).padStart(4, '0')}`));
      return b;
    },
    args: (b) => ['fsck', '--clean', '--store', storeOf(b), '--quiet'],
    afterKill: async (b, what) => {
      await expectSound(b, `${what}: after the kill`);
      return false;
    },
    afterRerun: async (b, what) => {
      await expectSound(b, `${what}: after the re-run`);
      const f = await run(['fsck', '--store', storeOf(b), '--quiet']);
      expect(f.json.leftovers, `${what}: leftovers after the re-run`).toEqual([]);
      expect(new Set((await keysOf(b, 'st/snapshots/ds/v1/staged/')).map((k) => k.key.split('/')[5])).size, `${what}: only the winning staged folder is left`).toBe(1);
    },
  },
  {
    name: 'fsck --repair-from',
    points: ['s3-locked', 's3-pulled', 's3-object-repaired:1', 's3-object-repaired:3', 's3-ran', 's3-log-lines', 's3-pushed'],
    quick: 's3-object-repaired:2',
    prepare: async () => {
      // The large object corrupt (same size), three small ones gone.
      const b = await bucketWithV1();
      const objects = await keysOf(b, 'st/objects/');
      const large = objects.find((o) => o.size > 1 << 20) as { key: string; size: number };
      await c.send(new PutObjectCommand({ Bucket: b, Key: large.key, Body: Buffer.alloc(large.size, 0x55) }));
      for (const o of objects.filter((x) => x.size < 100).slice(0, 3)) await c.send(new DeleteObjectCommand({ Bucket: b, Key: o.key }));
      return b;
    },
    args: (b) => ['fsck', '--repair-from', fx.archive, '--store', storeOf(b), '--quiet'],
    afterKill: async (b, what) => {
      // Still damaged (fsck exit 1) or repaired (exit 0); never an object fsck passes that does not hash to its name.
      await expectSoundUnlessDamaged(b, what);
      return false;
    },
    afterRerun: async (b, what) => {
      await expectSound(b, `${what}: after the re-run`);
      for (const o of await keysOf(b, 'st/objects/')) expect(hexOf(await bodyOf(b, o.key)), `${what}: ${o.key}`).toBe(o.key.split('/').slice(-2).join(''));
    },
  },
  {
    name: 'log checkpoint',
    // s3-ran: the checkpoint made in the working copy (and, before the fix, the trusted state's
    // note of the store's log origin), none in the bucket.
    points: ['s3-locked', 's3-pulled', 's3-ran', 's3-files-pushed', 's3-log-lines', 's3-pushed'],
    quick: 's3-ran',
    doneFrom: 's3-files-pushed',
    prepare: async () => bucketWithV1(),
    args: (b) => ['log', 'checkpoint', '--key', producer.key, '--store', storeOf(b), '--quiet'],
    afterKill: async (b, what, reached) => {
      await expectSound(b, `${what}: after the kill`);
      const there = (await keysOf(b, 'st/log.checkpoints/')).length > 0;
      if (reached !== undefined) expect(there, `${what}: a checkpoint exactly when its file was written`).toBe(reached);
      if (there) {
        const v = await run(['log', '--verify', '--pubkey', producer.pub, '--store', storeOf(b), '--quiet']);
        expect(v.code, `${what}: log --verify --pubkey ${JSON.stringify(v.json).slice(0, 2000)}`).toBe(0);
      }
      return false; // a second checkpoint of the longer log is what a re-run makes: always run it
    },
    afterRerun: async (b, what) => {
      await expectSound(b, `${what}: after the re-run`);
      const v = await run(['log', '--verify', '--pubkey', producer.pub, '--store', storeOf(b), '--quiet']);
      expect(v.code, `${what}: log --verify --pubkey ${JSON.stringify(v.json).slice(0, 2000)}`).toBe(0);
    },
  },
];

/** The bytes of a key. */
async function bodyOf(bucket: string, key: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** After a killed repair: fsck exit 1 (still damaged) or 0; when 0, every object hashes to its name. */
async function expectSoundUnlessDamaged(bucket: string, what: string): Promise<void> {
  await expectSound(bucket, `${what}: after the kill`, [0, 1]);
  const f = await run(['fsck', '--store', storeOf(bucket), '--quiet']);
  const wrong: string[] = [];
  for (const o of await keysOf(bucket, 'st/objects/')) if (hexOf(await bodyOf(bucket, o.key)) !== o.key.split('/').slice(-2).join('')) wrong.push(o.key);
  if (wrong.length > 0 || f.json.missingObjects.length > 0) expect(f.code, `${what}: objects ${wrong.join(', ')} do not hash to their names, yet fsck passed`).toBe(1);
}

/** The snap scratch folders (working copies) under `dir`. */
async function workingCopies(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).filter((n) => n.startsWith('snap-s3-'));
}

/** Kill `c`'s command at `point` (or after `delay` ms), check the store, re-run it with the same $TMPDIR, check again. */
async function killAndRerun(cs: Case, i: number, at: { point: Point } | { delay: number; length: number }): Promise<void> {
  const bucket = await cs.prepare(i);
  const tmp = await tempDir('snap-s3kill-tmp-');
  const env = { ...server.env, ...cs.env, TMPDIR: tmp };
  const what = 'point' in at ? `${cs.name}, killed at ${at.point}` : `${cs.name}, run ${i}, killed after ${at.delay} ms of ${at.length}`;
  const { child, done } = spawnSnap(cs.args(bucket), { env: 'point' in at ? { ...env, SNAP_TEST_KILL_AT: at.point } : env, timeoutMs: 60_000 });
  if ('delay' in at) {
    await new Promise((r) => setTimeout(r, at.delay));
    child.kill('SIGKILL');
  }
  const r = await done;
  if ('point' in at) expect(r.signal, `${what}: the command was not killed there (exit ${r.code}): ${r.stderr}`).toBe('SIGKILL');
  else expect(r.signal === 'SIGKILL' || r.code === 0, `${what}: exit ${r.code} ${r.stderr}`).toBe(true);
  const reached = 'point' in at && cs.doneFrom ? cs.points.indexOf(at.point) >= cs.points.indexOf(cs.doneFrom) : undefined;
  const done_ = (await cs.afterKill(bucket, what, reached)) || r.code === 0;
  // The re-run starts with the killed run's working copy (if it had made one) still in its $TMPDIR.
  const left = await workingCopies(tmp);
  const again = await spawnSnap([...cs.args(bucket), '--json'], { env, timeoutMs: 60_000 }).done;
  if (done_ && cs.rerunWhenDone) {
    expect([again.code, JSON.parse(again.stdout).error?.code], `${what}: the re-run of a command whose effect landed: ${again.stderr}`).toEqual([cs.rerunWhenDone.code, cs.rerunWhenDone.error]);
  } else {
    expect(again.code, `${what}: the re-run (working copies left: ${left.length}): ${again.stdout.slice(0, 2000)} ${again.stderr}`).toBe(0);
  }
  await cs.afterRerun(bucket, what);
  // The re-run removed its own working copy; the killed run's stays until it is stale (io/scratch-dir.ts).
  expect((await workingCopies(tmp)).filter((n) => !left.includes(n)), `${what}: the re-run left a working copy`).toEqual([]);
  await fsp.rm(tmp, { recursive: true, force: true });
}

describe('a command on an S3 store killed (SIGKILL) at a chosen point or a random moment (moto)', () => {
  for (const cs of CASES) {
    it(`${cs.name}: at each point it reaches and at random moments, leaves a store that passes fsck, no half-written snapshot, and a re-run succeeds`, async () => {
      for (const [k, point] of (ALL_POINTS ? cs.points : [cs.quick]).entries()) await killAndRerun(cs, k, { point });
      if (RUNS === 0) return;
      // How long one whole run takes here: the random moments fall over it.
      const probe = await cs.prepare(0);
      const t0 = Date.now();
      const whole = await spawnSnap(cs.args(probe), { env: { ...server.env, ...cs.env }, timeoutMs: 60_000 }).done;
      const length = Date.now() - t0;
      expect(whole.code, whole.stderr).toBe(0);
      const rng = new Rng(SEED ^ [...cs.name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7));
      for (let i = 0; i < RUNS; i++) await killAndRerun(cs, i, { delay: Math.floor(rng.next() * length * 1.1), length });
    }, 60_000 + (ALL_POINTS ? 200_000 : 0) + RUNS * 30_000);
  }
});

describe("the working copy's disk full during a seal into an S3 store (moto; $TMPDIR on a 4 MiB tmpfs, which needs root)", () => {
  const small = { mnt: '', mounted: false };
  beforeAll(async () => {
    small.mnt = join(await tempDir('snap-s3full-'), 'disk');
    await fsp.mkdir(small.mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small.mnt], { encoding: 'utf8' });
    small.mounted = m.status === 0;
    expect(m.status, `mount -t tmpfs (needs root): ${m.error?.message ?? m.stderr}`).toBe(0);
  });
  afterAll(() => {
    if (small.mounted) spawnSync('umount', [small.mnt]);
  });

  /** Fill the small disk but for `pages` free blocks. */
  async function fillLeaving(pages: number): Promise<void> {
    const st = await fsp.statfs(small.mnt);
    await fsp.writeFile(join(small.mnt, 'filler'), Buffer.alloc(Math.max(0, st.bavail - pages) * st.bsize));
  }

  /**
   * Seal `data` as `ref` into `bucket` with $TMPDIR on the small disk: DISK_FULL, exit 3, nothing
   * committed, no lock object left, nothing of the working copy left on the disk (but `filler`);
   * the store still sound, and the same seal with room (another $TMPDIR) commits `ref`.
   */
  async function expectFullThenRoom(bucket: string, data: string, ref: string, what: string): Promise<void> {
    const args = ['seal', data, '--as', ref, '--key', producer.key, '--store', storeOf(bucket), '--json'];
    const r = await spawnSnap(args, { env: { ...server.env, TMPDIR: small.mnt }, timeoutMs: 60_000 }).done;
    expect([r.code, JSON.parse(r.stdout).error?.code], `${what}: ${r.stdout} ${r.stderr}`).toEqual([3, 'DISK_FULL']);
    expect(await committed(bucket), `${what}: committed`).not.toContain(ref);
    expect(await keysOf(bucket, 'st/locks/'), `${what}: lock objects left`).toEqual([]);
    expect((await fsp.readdir(small.mnt)).filter((n) => n !== 'filler'), `${what}: left on the full disk`).toEqual([]);
    if ((await keysOf(bucket, 'st/store.json')).length > 0) await expectSound(bucket, `${what}: after DISK_FULL`);
    const again = await spawnSnap(args, { env: { ...server.env, TMPDIR: await tempDir('snap-s3room-') }, timeoutMs: 60_000 }).done;
    expect(again.code, `${what}: the seal with room: ${again.stderr}`).toBe(0);
    DATA[ref] = () => data;
    expect(await expectSound(bucket, `${what}: after the seal with room`)).toContain(ref);
  }

  it('a first seal of a file larger than the disk (its object staged in the working copy): DISK_FULL, exit 3, nothing committed, the disk left empty; with room it seals', async () => {
    const data = await makeTree({ 'big.bin': Buffer.alloc(6 << 20, 3), 'a.txt': 'alpha\n' });
    await expectFullThenRoom(await newBucket(c, 'versioned'), data, 'big@v1', 'a first seal');
  }, 120_000);

  // One more case in the full sweep only (SNAP_KILL_POINTS=all), as SNAP_KILL_RUNS adds its kills.
  if (ALL_POINTS) {
    it('a seal with a parent of a file larger than the disk: the same', async () => {
      const data = await makeTree({ ...spec(true), 'big.bin': Buffer.alloc(6 << 20, 4) });
      await expectFullThenRoom(await bucketWithV1(), data, 'ds@v3', 'a seal with a parent');
    }, 120_000);
  }

  it('a seal with a parent on a disk left with a few free pages: DISK_FULL, exit 3, nothing committed; with room it seals', async () => {
    // The disk fills while the working copy is filled: at 1 page free its snapshot files (was
    // IO_ERROR "S3: cannot read …"), at 5 its audit log (was INTERNAL, "unexpected error: ENOSPC");
    // with 200 (800 KiB) the seal fits.
    for (const pages of ALL_POINTS ? [0, 1, 2, 3, 5, 8, 14, 30, 80, 120] : [1, 5]) {
      await fillLeaving(pages);
      try {
        await expectFullThenRoom(await bucketWithV1(), fx.v2, 'ds@v2', `${pages} pages free`);
      } finally {
        await fsp.rm(join(small.mnt, 'filler'));
      }
    }
  }, 180_000);
});
