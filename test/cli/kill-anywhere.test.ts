/**
 * SIGKILL at any moment — no handler runs, nothing is unwound — loses nothing and passes off
 * nothing half-written as good. Each writing command (seal, import, restore, export, prune --yes,
 * fsck --repair-from, policy sign) is killed at seeded random moments over the length of one whole
 * run of it; afterwards the store passes `snap fsck`, the same command run again succeeds, and no
 * half-written archive, folder or policy is taken for a good one: whatever `verify` (or
 * `policy show`) accepts is exactly what a run that was not killed writes.
 *
 * A few moments per command by default; SNAP_KILL_RUNS=N runs N per command (SNAP_KILL_SEED picks
 * other moments), e.g. `SNAP_KILL_RUNS=40 npx vitest run test/cli/kill-anywhere.test.ts`.
 */
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { objectFiles, sha256File } from '../helpers/store.js';
import { Rng } from '../../src/drill/rng.js';

/** Moments per command: a few by default (the file stays under about 20 s), more by hand. */
const RUNS = Number(process.env.SNAP_KILL_RUNS ?? 2);
/** The seed of the moments (the drill's PRNG): the same moments on every run unless changed. */
const SEED = Number(process.env.SNAP_KILL_SEED ?? 0x6b111);
/** The latest moment of a kill, whatever the length of a whole run (the brief's 0–2 s). */
const MAX_DELAY_MS = 2_000;

const producer = useKeyPair('producer');
const root = useKeyPair('root');

/** Two 6 MiB files, 300 small ones in folders and a symbolic link: a run takes a few hundred ms. */
function spec(): Record<string, Buffer | string | { symlink: string }> {
  const s: Record<string, Buffer | string | { symlink: string }> = {};
  for (let i = 0; i < 2; i++) s[`shard-${i}.bin`] = Buffer.alloc(6 << 20, i + 7);
  for (let i = 0; i < 300; i++) s[`rows/${i % 10}/${String(i).padStart(3, '0')}.txt`] = `row ${i}\n`;
  s['latest'] = { symlink: 'shard-1.bin' };
  return s;
}

/** What every run starts from: a dataset, a store holding it as ds@v1, its archive, an unsigned policy. */
const fx = { data: '', store: '', archive: '', archiveSha: '', policy: '' };

beforeAll(async () => {
  fx.data = await makeTree(spec());
  const work = await tempDir('snap-kill-');
  fx.store = join(work, 'store');
  const s = await snapJson(['seal', fx.data, '--as', 'ds@v1', '--key', producer.key, '--store', fx.store, '--quiet']);
  expect(s.code, s.stderr).toBe(0);
  fx.archive = join(work, 'ds@v1.snap.tar');
  const e = await snapJson(['export', 'ds@v1', '-o', fx.archive, '--store', fx.store]);
  expect(e.code, e.stderr).toBe(0);
  fx.archiveSha = await sha256File(fx.archive);
  fx.policy = join(work, 'policy.json');
  for (const args of [
    ['policy', 'init', fx.policy, '--name', 'acme', '--root-key', root.pub],
    ['policy', 'add-key', fx.policy, '--pub', producer.pub, '--role', 'producer'],
    ['policy', 'rule', fx.policy, '--datasets', '*', '--require', 'producer=1'],
  ]) {
    const r = await snapJson(args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 60_000);

/** One command killed at a random moment: how to set it up, what must hold after, and after a re-run. */
interface Case {
  name: string;
  /** Set up the run's own folder `dir` (a copy of what the command changes). */
  prepare: (dir: string, i: number) => Promise<void>;
  args: (dir: string) => string[];
  /** What must hold after the kill; returns whether the command's effect is already there (no re-run needed). */
  afterKill: (dir: string) => Promise<boolean>;
  /** Undo what the message of a refused re-run says to undo (restore: remove the folder it left). */
  beforeRerun?: (dir: string) => Promise<void>;
  /** What must hold once the command ran again to the end. */
  afterRerun: (dir: string) => Promise<void>;
}

const storeOf = (dir: string) => join(dir, 'store');

/** The store passes fsck (leftovers of a killed writer are warnings: exit 0), and every object hashes to its name. */
async function expectStoreSound(store: string, what: string): Promise<void> {
  const f = await snapJson(['fsck', '--store', store, '--quiet']);
  expect(f.code, `${what}: fsck ${JSON.stringify(f.json).slice(0, 2000)}`).toBe(0);
  for (const o of await objectFiles(store)) expect(await sha256File(o.path), `${what}: object ${o.name}`).toBe(o.name);
}

/** `fsck --clean` removes what the killed run left, after which fsck finds no leftovers; the log still verifies. */
async function expectCleanable(store: string, what: string): Promise<void> {
  const c = await snapJson(['fsck', '--clean', '--store', store, '--quiet']);
  expect(c.code, `${what}: fsck --clean ${c.stderr}`).toBe(0);
  const f = await snapJson(['fsck', '--store', store, '--quiet']);
  expect(f.code, `${what}: fsck after --clean`).toBe(0);
  expect(f.json.leftovers, `${what}: leftovers after --clean`).toEqual([]);
  const log = await snapJson(['log', '--verify', '--store', store, '--quiet']);
  expect(log.code, `${what}: log --verify ${JSON.stringify(log.json).slice(0, 2000)}`).toBe(0);
}

/** Whether `ref` is listed in the store. */
async function listed(store: string, ref: string): Promise<boolean> {
  if (!existsSync(join(store, 'store.json'))) return false;
  const l = await snapJson(['list', '--store', store]);
  expect(l.code, l.stderr).toBe(0);
  return l.json.snapshots.some((s: { name: string; version: string }) => `${s.name}@${s.version}` === ref);
}

/** The dataset verifies against `ref` in `store`. */
async function expectDataVerifies(store: string, ref: string, what: string): Promise<void> {
  const v = await snapJson(['verify', fx.data, '--against', ref, '--store', store, '--pubkey', producer.pub, '--quiet']);
  expect(v.code, `${what}: verify ${fx.data} --against ${ref}: ${v.stderr}`).toBe(0);
}

/** Every file and link under `dir` (relative path → bytes or link target), for an exact comparison. */
async function treeOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    const abs = join(d.parentPath, d.name);
    const rel = abs.slice(dir.length + 1);
    if (d.isSymbolicLink()) out.set(rel, `link:${await fsp.readlink(abs)}`);
    else if (d.isFile()) out.set(rel, `file:${await sha256File(abs)}`);
  }
  return out;
}

const CASES: Case[] = [
  {
    name: 'seal into a store',
    prepare: async (dir, i) => {
      // Half the runs seal into an existing store, half into one the seal makes.
      if (i % 2 === 0) await fsp.cp(fx.store, storeOf(dir), { recursive: true });
    },
    args: (dir) => ['seal', fx.data, '--as', 'ds@v2', '--key', producer.key, '--store', storeOf(dir), '--no-parent', '--quiet'],
    afterKill: async (dir) => {
      if (!existsSync(join(storeOf(dir), 'store.json'))) return false;
      await expectStoreSound(storeOf(dir), 'after the kill');
      if (!(await listed(storeOf(dir), 'ds@v2'))) return false;
      await expectDataVerifies(storeOf(dir), 'ds@v2', 'a committed seal');
      return true;
    },
    afterRerun: async (dir) => {
      await expectStoreSound(storeOf(dir), 'after the re-run');
      await expectDataVerifies(storeOf(dir), 'ds@v2', 'after the re-run');
      await expectCleanable(storeOf(dir), 'after the re-run');
    },
  },
  {
    name: 'import',
    prepare: async (dir, i) => {
      if (i % 2 === 0) expect((await snapJson(['init', '--store', storeOf(dir)])).code).toBe(0);
    },
    args: (dir) => ['import', fx.archive, '--pubkey', producer.pub, '--store', storeOf(dir), '--quiet'],
    afterKill: async (dir) => {
      if (!existsSync(join(storeOf(dir), 'store.json'))) return false;
      await expectStoreSound(storeOf(dir), 'after the kill');
      if (!(await listed(storeOf(dir), 'ds@v1'))) return false;
      await expectDataVerifies(storeOf(dir), 'ds@v1', 'a committed import');
      return true;
    },
    afterRerun: async (dir) => {
      await expectStoreSound(storeOf(dir), 'after the re-run');
      await expectDataVerifies(storeOf(dir), 'ds@v1', 'after the re-run');
      await expectCleanable(storeOf(dir), 'after the re-run');
    },
  },
  {
    name: 'restore',
    prepare: async (dir, i) => {
      // Half the runs restore into a folder they make, half into an existing empty one.
      if (i % 2 === 1) await fsp.mkdir(join(dir, 'out'));
    },
    args: (dir) => ['restore', 'ds@v1', join(dir, 'out'), '--store', fx.store, '--pubkey', producer.pub, '--quiet'],
    afterKill: async (dir) => {
      const out = join(dir, 'out');
      if (!existsSync(out)) return false;
      // Whatever verify accepts is the whole dataset, file for file.
      const v = await snapJson(['verify', out, '--against', 'ds@v1', '--store', fx.store, '--pubkey', producer.pub, '--quiet']);
      if (v.code === 0) {
        expect(await treeOf(out), 'a killed restore verifies, yet is not the dataset').toEqual(await treeOf(fx.data));
        return true;
      }
      expect(v.code, `verify of a half-restored folder: ${v.stderr}`).toBe(1);
      return false;
    },
    beforeRerun: async (dir) => {
      // A folder restore left is refused (TARGET_NOT_EMPTY, naming what to do: remove it) — unless
      // it holds only the probe entry of a restore killed while probing, which the re-run removes.
      const out = join(dir, 'out');
      const left = existsSync(out) ? readdirSync(out) : [];
      if (left.length > 0 && !left.every((n) => n.startsWith('.snap-probe.'))) {
        const r = await snapJson(['restore', 'ds@v1', out, '--store', fx.store, '--pubkey', producer.pub]);
        expect(r.code).toBe(3);
        expect(r.json.error.code).toBe('TARGET_NOT_EMPTY');
        await fsp.rm(out, { recursive: true, force: true });
      }
    },
    afterRerun: async (dir) => {
      expect(await treeOf(join(dir, 'out'))).toEqual(await treeOf(fx.data));
    },
  },
  {
    name: 'export',
    prepare: async (dir) => {
      await fsp.mkdir(join(dir, 'out'));
    },
    args: (dir) => ['export', 'ds@v1', '-o', join(dir, 'out', 'ds@v1.snap.tar'), '--store', fx.store, '--quiet'],
    afterKill: async (dir) => {
      // Every file the killed export left that verify accepts is the archive, byte for byte (exports are reproducible).
      // A temporary file is checked under an archive's name (as if someone had named it so).
      let whole = false;
      for (const name of readdirSync(join(dir, 'out'))) {
        let file = join(dir, 'out', name);
        if (name !== 'ds@v1.snap.tar') {
          await fsp.mkdir(join(dir, 'renamed'), { recursive: true });
          await fsp.copyFile(file, (file = join(dir, 'renamed', 'ds@v1.snap.tar')));
        }
        const v = await snapJson(['verify', file, '--pubkey', producer.pub, '--quiet']);
        if (v.code === 0) {
          // A temporary file killed after its last byte and before its rename is whole: then, and only then, may it verify.
          expect(await sha256File(file), `${name} verifies, yet is not the archive`).toBe(fx.archiveSha);
          if (name === 'ds@v1.snap.tar') whole = true;
        } else {
          expect(name, 'the named archive of a killed export does not verify').not.toBe('ds@v1.snap.tar');
          expect([1, 3], `verify ${name}: ${v.stderr}`).toContain(v.code);
        }
        await fsp.rm(join(dir, 'renamed'), { recursive: true, force: true });
      }
      return whole;
    },
    afterRerun: async (dir) => {
      expect(await sha256File(join(dir, 'out', 'ds@v1.snap.tar'))).toBe(fx.archiveSha);
    },
  },
  {
    name: 'prune --yes',
    prepare: async (dir) => {
      await fsp.cp(fx.store, storeOf(dir), { recursive: true });
      // 400 objects no snapshot names (what killed seals leave), spread over the fan-out folders.
      for (let i = 0; i < 400; i++) {
        const bytes = `unreferenced ${i}\n`;
        const hex = createHash('sha256').update(bytes).digest('hex');
        await fsp.mkdir(join(storeOf(dir), 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
        await fsp.writeFile(join(storeOf(dir), 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), bytes, { mode: 0o444 });
      }
    },
    args: (dir) => ['prune', '--yes', '--store', storeOf(dir), '--quiet'],
    afterKill: async (dir) => {
      await expectStoreSound(storeOf(dir), 'after the kill');
      await expectDataVerifies(storeOf(dir), 'ds@v1', 'after the kill');
      return false;
    },
    afterRerun: async (dir) => {
      expect((await objectFiles(storeOf(dir))).map((o) => o.name)).toEqual((await objectFiles(fx.store)).map((o) => o.name));
      await expectStoreSound(storeOf(dir), 'after the re-run');
      await expectDataVerifies(storeOf(dir), 'ds@v1', 'after the re-run');
      await expectCleanable(storeOf(dir), 'after the re-run');
    },
  },
  {
    name: 'fsck --repair-from',
    prepare: async (dir) => {
      await fsp.cp(fx.store, storeOf(dir), { recursive: true });
      // The two large objects corrupt, ten small ones gone.
      const objects = await objectFiles(storeOf(dir));
      const sizes = await Promise.all(objects.map(async (o) => (await fsp.stat(o.path)).size));
      for (const [k, o] of objects.entries()) {
        if ((sizes[k] as number) > 1 << 20) {
          await fsp.chmod(o.path, 0o644);
          await fsp.writeFile(o.path, Buffer.alloc(sizes[k] as number, 0x55));
        }
      }
      for (const o of objects.filter((_, k) => (sizes[k] as number) < 100).slice(0, 10)) await fsp.rm(o.path);
    },
    args: (dir) => ['fsck', '--repair-from', fx.archive, '--store', storeOf(dir), '--quiet'],
    afterKill: async (dir) => {
      // Still damaged (exit 1) or repaired (exit 0); never a store fsck cannot read, never an object that does not hash to its name.
      const f = await snapJson(['fsck', '--store', storeOf(dir), '--quiet']);
      expect([0, 1], `fsck after a killed repair: ${f.stderr}`).toContain(f.code);
      const wrong: string[] = [];
      for (const o of await objectFiles(storeOf(dir))) if ((await sha256File(o.path)) !== o.name) wrong.push(o.name);
      if (wrong.length > 0) expect(f.code, `objects ${wrong.join(', ')} do not hash to their names, yet fsck passed`).toBe(1);
      return false;
    },
    afterRerun: async (dir) => {
      await expectStoreSound(storeOf(dir), 'after the re-run');
      const f = await snapJson(['fsck', '--store', storeOf(dir), '--quiet']);
      expect(f.json.missingObjects).toEqual([]);
      expect(f.json.objects.corrupt).toEqual([]);
      await expectDataVerifies(storeOf(dir), 'ds@v1', 'after the repair');
      await expectCleanable(storeOf(dir), 'after the re-run');
    },
  },
  {
    name: 'policy sign',
    prepare: async (dir) => {
      await fsp.copyFile(fx.policy, join(dir, 'policy.json'));
    },
    args: (dir) => ['policy', 'sign', join(dir, 'policy.json'), '--key', root.key, '--quiet'],
    afterKill: async (dir) => {
      // The file is the policy as it was (unsigned) or signed: never torn.
      const s = await snapJson(['policy', 'show', join(dir, 'policy.json')]);
      expect(s.code, `policy show after a kill: ${s.stderr}`).toBe(0);
      const signed = await snapJson(['policy', 'show', join(dir, 'policy.json'), '--root', root.pub]);
      return signed.code === 0;
    },
    afterRerun: async (dir) => {
      const signed = await snapJson(['policy', 'show', join(dir, 'policy.json'), '--root', root.pub]);
      expect(signed.code, signed.stderr).toBe(0);
    },
  },
];

describe('a writing command killed (SIGKILL) at a random moment', () => {
  for (const c of CASES) {
    it(`${c.name}: leaves a store that passes fsck, nothing half-written that passes as good, and a re-run succeeds`, async () => {
      // How long one whole run takes here: the moments fall over it (and a little after), at most 2 s in.
      const probe = await tempDir('snap-kill-');
      await c.prepare(probe, 0);
      let t0 = Date.now();
      const whole = await spawnSnap(c.args(probe), { timeoutMs: 60_000 }).done;
      const length = Date.now() - t0;
      expect(whole.code, whole.stderr).toBe(0);

      const rng = new Rng(SEED ^ [...c.name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 7));
      for (let i = 0; i < RUNS; i++) {
        const dir = await tempDir('snap-kill-');
        await c.prepare(dir, i);
        const delay = Math.floor(rng.next() * Math.min(length * 1.1, MAX_DELAY_MS));
        const what = `${c.name}, run ${i}, killed after ${delay} ms of ${length}`;
        const { child, done } = spawnSnap(c.args(dir), { timeoutMs: 60_000 });
        t0 = Date.now();
        await new Promise((r) => setTimeout(r, delay));
        child.kill('SIGKILL');
        const r = await done;
        expect(r.signal === 'SIGKILL' || r.code === 0, `${what}: exit ${r.code} ${r.stderr}`).toBe(true);
        let finished = false;
        try {
          finished = (await c.afterKill(dir)) || r.code === 0;
        } catch (e) {
          throw new Error(`${what}: ${(e as Error).message}`);
        }
        if (!finished) {
          await c.beforeRerun?.(dir);
          const again = await spawnSnap(c.args(dir), { timeoutMs: 60_000 }).done;
          expect(again.code, `${what}: the re-run: ${again.stderr}`).toBe(0);
        }
        try {
          await c.afterRerun(dir);
        } catch (e) {
          throw new Error(`${what}: ${(e as Error).message}`);
        }
      }
    }, 60_000 + RUNS * 20_000);
  }
});
