/**
 * Differential test of the file-level gate: `verify` must name exactly what changed (SPEC §8,
 * docs/FORMAT.md §1 and §8). Random trees — empty and 1-byte files, files at and around the hashing
 * worker's thresholds (its 1 MiB read CHUNK and WHOLE_FILE_MAX of 8 MiB, hash-worker.ts), nested
 * folders, Unicode names spelt in NFC and NFD, case variants, symbolic links to files, to folders
 * and dangling, a folder of many plain files (the bulk path, kind 4) and label folders — are sealed,
 * then get random changes whose effect is kept as a ground truth: contents changed with size and
 * mtime kept, truncation to 0, growth from 0, one byte flipped at the start, middle or end, a file
 * replaced by a symbolic link, a folder or a FIFO, a link retargeted or replaced by a file, a file
 * renamed, moved, or renamed to its case variant or NFD spelling, a file added or removed, an empty
 * folder added, a folder replaced by a file, a link or a FIFO, or nothing at all.
 *
 * The truth, written from FORMAT §1 (entries are regular files and symbolic links by path, bytes
 * as they are; folders are not entries) and §8 (every entry present with the same digest and size
 * or target, nothing extra): a signed path with nothing at it is `missing`; a path on disk the
 * manifest lacks (a file, a link, a FIFO) is `extra`; a file whose bytes differ, or a link whose
 * target does, is `modified`; a file where a link was signed or a link where a file was, or a FIFO
 * where either was, is `type-changed`. The problems' (path, kind) of `verify --json` with `--jobs 1`
 * and `--jobs 2`, of `--shard K/N` for N = 2 and 3 merged with `--merge`, of a verify against the
 * exported `.snap.tar`, and (on odd seeds) of a folder `restore` wrote and the changes were then made
 * to, must be exactly the truth's; exit 0 exactly when the truth is empty.
 *
 * `SNAP_VERIFY_DIFF_SEEDS=N` runs N seeds instead of the suite's (by hand, `SNAP_VERIFY_DIFF_SEEDS=300
 * npx vitest run test/ops/verify-differential.test.ts`), from `SNAP_VERIFY_DIFF_FROM` (default 1);
 * `SNAP_VERIFY_DIFF_SEED=S` runs seed S only (a case depends on its seed only).
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/drill/rng.js';
import { snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { useStore } from '../helpers/store.js';

const keys = useKeyPair('verify-diff');
const shared = useStore();

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** hash-worker.ts: the read chunk of the general path, and the largest file read whole (fast path below it). */
const CHUNK = 1 << 20;
const WHOLE_FILE_MAX = 8 << 20;
/** verify.ts BATCH_FILES: the items one batch for the workers holds at most. */
const BATCH_FILES = 1024;

/** What a path holds: a regular file's bytes, a symbolic link's text, or a FIFO. */
type Node = { t: 'file'; data: Buffer } | { t: 'link'; target: string } | { t: 'fifo' };

/** A tree as the truth sees it: entries by path, and the folders that exist (empty ones included). */
interface Tree {
  nodes: Map<string, Node>;
  dirs: Set<string>;
}

const cloneTree = (t: Tree): Tree => ({ nodes: new Map([...t.nodes].map(([p, n]) => [p, n.t === 'file' ? { t: 'file', data: Buffer.from(n.data) } : { ...n }])), dirs: new Set(t.dirs) });

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const baseOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Whether `path` can hold a new entry: nothing there, no entry on its way, nothing beneath it. */
function free(t: Tree, path: string): boolean {
  if (t.nodes.has(path) || t.dirs.has(path)) return false;
  for (let d = parentOf(path); d !== ''; d = parentOf(d)) if (t.nodes.has(d)) return false;
  for (const p of t.nodes.keys()) if (p.startsWith(`${path}/`)) return false;
  return true;
}

function addDirs(t: Tree, path: string): void {
  for (let d = parentOf(path); d !== ''; d = parentOf(d)) t.dirs.add(d);
}

let serial = 0;
/** Bytes of `size`, different for every call (a serial in the first bytes when there is room). */
function bytesOf(rng: Rng, size: number): Buffer {
  const b = Buffer.alloc(size);
  const block = Buffer.alloc(Math.min(size, 4096));
  for (let i = 0; i < block.length; i++) block[i] = rng.below(256);
  for (let at = 0; at < size; at += block.length) block.copy(b, at);
  const tag = Buffer.from(`#${++serial}#`);
  if (size >= tag.length) tag.copy(b, rng.below(size - tag.length + 1));
  return b;
}

/** Sizes: mostly small, with the edges that matter (0, 1, and around CHUNK and WHOLE_FILE_MAX) now and then. */
function sizeOf(rng: Rng, big: boolean): number {
  const r = rng.next();
  if (r < 0.25) return 0;
  if (r < 0.4) return 1;
  if (r < 0.8) return rng.below(200);
  if (r < 0.93 || !big) return rng.pick([4095, 4096, 4097, 65535, 65536, 65537]);
  return rng.pick([CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, WHOLE_FILE_MAX - 1, WHOLE_FILE_MAX, WHOLE_FILE_MAX + 1]);
}

const NAMES = ['a.txt', 'A.txt', 'b', 'B', 'caf\u00e9.txt', 'cafe\u0301.txt', '\u00c9t\u00e9', 'E\u0301te\u0301', 'x y', '\u65e5\u672c', 'z-1', 'data.bin', 'DATA.bin', '\u{1f600}.png', '\ufb01le'];
const FOLDERS = ['d', 'd/e', 'D', 'caf\u00e9', 'cafe\u0301', '\u00fc/\u00f1', 'deep/er/still', 'img/cat', 'img/dog'];
const LABELS = ['cat', 'dog', 'bird'];

/** A tree to seal: its model, and whether it has a label-folder rule (`snap.json`). */
interface Case {
  seed: number;
  a: Tree;
  labels: boolean;
}

function makeCase(seed: number): Case {
  serial = 0; // names and contents depend on the seed only, not on the cases run before
  const rng = new Rng(seed);
  const big = rng.below(5) === 0;
  const labels = rng.below(2) === 0;
  const bulk = rng.pick([0, 0, 3, 40, 40, BATCH_FILES - 1, BATCH_FILES + 2]);
  const t: Tree = { nodes: new Map(), dirs: new Set() };
  const put = (path: string, n: Node) => {
    if (!free(t, path)) return false;
    t.nodes.set(path, n);
    addDirs(t, path);
    return true;
  };
  let bigs = 0;
  for (let i = 2 + rng.below(14); i > 0; i--) {
    const folder = rng.below(3) === 0 ? '' : rng.pick(FOLDERS);
    // a label folder's names are unique across its labels (one record per name: a key used twice is refused at seal)
    const name = folder.startsWith('img/') ? `${rng.pick(NAMES)}${++serial}` : rng.below(3) === 0 ? `${rng.pick(NAMES)}${rng.below(4)}` : rng.pick(NAMES);
    const size = sizeOf(rng, big && bigs < 2);
    if (size > 4 * 65537) bigs++;
    put(folder === '' ? name : `${folder}/${name}`, { t: 'file', data: bytesOf(rng, size) });
  }
  if (labels) for (let i = rng.below(6); i > 0; i--) put(`img/${rng.pick(LABELS)}/r${++serial}.txt`, { t: 'file', data: bytesOf(rng, rng.below(3) === 0 ? 0 : 1 + rng.below(30)) });
  for (let i = 0; i < bulk; i++) put(`bulk/f${String(i).padStart(5, '0')}`, { t: 'file', data: bytesOf(rng, rng.below(4) === 0 ? 0 : rng.below(64)) });
  if (bulk > 0) for (const n of ['deeper/g', 'g1']) put(`bulk/${n}`, { t: 'file', data: bytesOf(rng, rng.below(9)) });
  // links: to a file, to a folder, dangling (their text is recorded, never followed)
  for (let i = rng.below(4); i > 0; i--) {
    const files = [...t.nodes.keys()];
    const dirs = [...t.dirs];
    const kind = rng.below(3);
    const target = kind === 0 && files.length > 0 ? `/${rng.pick(files)}` : kind === 1 && dirs.length > 0 ? `/${rng.pick(dirs)}` : `nowhere-${++serial}`;
    const folder = rng.below(2) === 0 ? '' : rng.pick(FOLDERS.slice(0, 5));
    const path = folder === '' ? `ln${i}` : `${folder}/ln${i}`;
    // relative targets from the link's folder
    const up = '../'.repeat(folder === '' ? 0 : folder.split('/').length);
    put(path, { t: 'link', target: target.startsWith('/') ? `${up}${target.slice(1)}` : target });
  }
  // at least one file signed empty and one link, so that every kind of change applies
  put(`${rng.pick(['', ...FOLDERS.slice(0, 4)])}${rng.below(2) === 0 ? '/' : '/.'}empty${++serial}`.replace(/^\//, ''), { t: 'file', data: Buffer.alloc(0) });
  if (![...t.nodes.values()].some((x) => x.t === 'link')) put(`link${++serial}`, { t: 'link', target: rng.pick(['.', 'nowhere', [...t.nodes.keys()][0] as string]) });
  return { seed, a: t, labels };
}

async function writeTreeTo(root: string, t: Tree, labels: boolean): Promise<void> {
  for (const d of t.dirs) await fsp.mkdir(join(root, d), { recursive: true });
  for (const [p, n] of t.nodes) {
    const abs = join(root, p);
    await fsp.mkdir(dirname(abs), { recursive: true });
    if (n.t === 'file') await fsp.writeFile(abs, n.data);
    else if (n.t === 'link') await fsp.symlink(n.target, abs);
  }
  if (labels) await fsp.writeFile(join(root, 'snap.json'), JSON.stringify({ records: [{ pattern: 'img/*/*', format: 'files', labelSegment: 1 }] }));
}

// ------------------------------------------------------------------ changes, kept as the truth

const MUTATIONS = [
  'none',
  'same-size',
  'flip-start',
  'flip-middle',
  'flip-end',
  'truncate',
  'grow-empty',
  'to-link',
  'to-folder',
  'to-fifo',
  'retarget',
  'link-to-file',
  'rename',
  'move',
  'case',
  'nfd',
  'add',
  'remove',
  'empty-folder',
  'folder-replaced',
] as const;
type Mutation = (typeof MUTATIONS)[number];

/** Keep a file's mtime (and atime) across a change of its bytes, so only its contents tell. */
async function keepTimes(abs: string, change: () => Promise<void>): Promise<void> {
  const st = await fsp.stat(abs);
  await change();
  await fsp.utimes(abs, st.atime, st.mtime);
}

/**
 * Apply one change of `kind` to the tree on disk at `root` and to its model `b`; returns what was
 * done (for the failure message), or undefined when the tree offers nothing it applies to.
 */
async function mutate(rng: Rng, root: string, b: Tree, kind: Mutation): Promise<string | undefined> {
  const of = (pred: (p: string, n: Node) => boolean) => [...b.nodes].filter(([p, n]) => p !== 'snap.json' && pred(p, n)).map(([p]) => p);
  const files = of((_, n) => n.t === 'file');
  const nonEmpty0 = of((_, n) => n.t === 'file' && n.data.length > 0);
  // half the time, a change to contents goes to a file past 4 KiB when there is one (the worker's thresholds)
  const large = nonEmpty0.filter((p) => (b.nodes.get(p) as { data: Buffer }).data.length > 4096);
  const nonEmpty = large.length > 0 && rng.below(2) === 0 ? large : nonEmpty0;
  const links = of((_, n) => n.t === 'link');
  const abs = (p: string) => join(root, p);
  const fileAt = (p: string) => (b.nodes.get(p) as { data: Buffer }).data;
  switch (kind) {
    case 'none':
      return 'none';
    case 'same-size': {
      if (nonEmpty.length === 0) return undefined;
      const p = rng.pick(nonEmpty);
      const old = fileAt(p);
      let data = bytesOf(rng, old.length);
      if (data.equals(old)) data = Buffer.from(old.map((x) => x ^ 0xff));
      await keepTimes(abs(p), () => fsp.writeFile(abs(p), data));
      b.nodes.set(p, { t: 'file', data });
      return `${kind} ${p}`;
    }
    case 'flip-start':
    case 'flip-middle':
    case 'flip-end': {
      if (nonEmpty.length === 0) return undefined;
      const p = rng.pick(nonEmpty);
      const data = Buffer.from(fileAt(p));
      const at = kind === 'flip-start' ? 0 : kind === 'flip-end' ? data.length - 1 : data.length >> 1;
      data[at] = (data[at] as number) ^ (1 << rng.below(8));
      await keepTimes(abs(p), async () => {
        const fh = await fsp.open(abs(p), 'r+');
        await fh.write(data, at, 1, at);
        await fh.close();
      });
      b.nodes.set(p, { t: 'file', data });
      return `${kind} ${p} @${at}`;
    }
    case 'truncate': {
      if (nonEmpty.length === 0) return undefined;
      const p = rng.pick(nonEmpty);
      await fsp.truncate(abs(p), 0);
      b.nodes.set(p, { t: 'file', data: Buffer.alloc(0) });
      return `${kind} ${p}`;
    }
    case 'grow-empty': {
      const empty = files.filter((p) => fileAt(p).length === 0);
      if (empty.length === 0) return undefined;
      const p = rng.pick(empty);
      const data = bytesOf(rng, 1 + rng.below(rng.below(4) === 0 ? 70000 : 20));
      await keepTimes(abs(p), () => fsp.writeFile(abs(p), data));
      b.nodes.set(p, { t: 'file', data });
      return `${kind} ${p} (${data.length} bytes)`;
    }
    case 'to-link': {
      if (files.length === 0) return undefined;
      const p = rng.pick(files);
      const target = rng.below(2) === 0 ? baseOf(p) + '.copy' : rng.pick([...b.nodes.keys()].map(baseOf));
      await fsp.rm(abs(p));
      await fsp.symlink(target, abs(p));
      b.nodes.set(p, { t: 'link', target });
      return `${kind} ${p} -> ${target}`;
    }
    case 'to-folder': {
      const cand = [...files, ...links];
      if (cand.length === 0) return undefined;
      const p = rng.pick(cand);
      await fsp.rm(abs(p));
      await fsp.mkdir(abs(p));
      b.nodes.delete(p);
      b.dirs.add(p);
      if (rng.below(2) === 0) {
        const inner = `${p}/inside`;
        const data = bytesOf(rng, rng.below(5));
        await fsp.writeFile(abs(inner), data);
        b.nodes.set(inner, { t: 'file', data });
        return `${kind} ${p} holding ${inner}`;
      }
      return `${kind} ${p} (empty)`;
    }
    case 'to-fifo': {
      const cand = [...files, ...links];
      if (cand.length === 0) return undefined;
      const p = rng.pick(cand);
      await fsp.rm(abs(p));
      const r = spawnSync('mkfifo', [abs(p)]);
      if (r.status !== 0) throw new Error(`mkfifo ${abs(p)}: ${r.stderr}`);
      b.nodes.set(p, { t: 'fifo' });
      return `${kind} ${p}`;
    }
    case 'retarget': {
      if (links.length === 0) return undefined;
      const p = rng.pick(links);
      const old = (b.nodes.get(p) as { target: string }).target;
      const target = rng.below(2) === 0 ? `${old}x` : `elsewhere-${++serial}`;
      await fsp.rm(abs(p));
      await fsp.symlink(target, abs(p));
      b.nodes.set(p, { t: 'link', target });
      return `${kind} ${p} -> ${target}`;
    }
    case 'link-to-file': {
      if (links.length === 0) return undefined;
      const p = rng.pick(links);
      const data = bytesOf(rng, rng.below(3));
      await fsp.rm(abs(p));
      await fsp.writeFile(abs(p), data);
      b.nodes.set(p, { t: 'file', data });
      return `${kind} ${p}`;
    }
    case 'rename':
    case 'move':
    case 'case':
    case 'nfd': {
      const cand = [...files, ...links];
      if (cand.length === 0) return undefined;
      const p = rng.pick(cand);
      const name = baseOf(p);
      let to: string;
      if (kind === 'rename') to = join(parentOf(p), `${name}.renamed${rng.below(3)}`);
      else if (kind === 'move') {
        const dirs = ['', ...b.dirs].filter((d) => d !== parentOf(p));
        const d = rng.pick(dirs.length > 0 ? dirs : ['']);
        to = d === '' ? name : `${d}/${name}`;
      } else if (kind === 'case') {
        const flipped = name === name.toUpperCase() ? name.toLowerCase() : name.toUpperCase();
        to = join(parentOf(p), flipped);
      } else to = join(parentOf(p), name.normalize('NFD'));
      if (to === p || !free(b, to)) return undefined;
      const n = b.nodes.get(p) as Node;
      await fsp.mkdir(dirname(abs(to)), { recursive: true });
      await fsp.rename(abs(p), abs(to));
      b.nodes.delete(p);
      b.nodes.set(to, n);
      addDirs(b, to);
      // the folder left behind stays (possibly empty): folders are not entries
      return `${kind} ${p} => ${to}`;
    }
    case 'add': {
      const d = rng.pick(['', ...b.dirs]);
      const name = rng.below(2) === 0 ? `new${++serial}` : rng.pick(NAMES);
      const p = d === '' ? name : `${d}/${name}`;
      if (!free(b, p)) return undefined;
      const data = bytesOf(rng, sizeOf(rng, false));
      await fsp.mkdir(dirname(abs(p)), { recursive: true });
      await fsp.writeFile(abs(p), data);
      b.nodes.set(p, { t: 'file', data });
      return `${kind} ${p} (${data.length} bytes)`;
    }
    case 'remove': {
      const cand = [...files, ...links];
      if (cand.length === 0) return undefined;
      const p = rng.pick(cand);
      await fsp.rm(abs(p));
      b.nodes.delete(p);
      return `${kind} ${p}`;
    }
    case 'folder-replaced': {
      // a folder (and everything in it) replaced by a file, a link or a FIFO of its name
      const dirs = [...b.dirs].filter((d) => d !== 'img' && !d.startsWith('img/'));
      if (dirs.length === 0) return undefined;
      const d = rng.pick(dirs);
      await fsp.rm(abs(d), { recursive: true });
      for (const p of [...b.nodes.keys()]) if (p.startsWith(`${d}/`)) b.nodes.delete(p);
      for (const x of [...b.dirs]) if (x === d || x.startsWith(`${d}/`)) b.dirs.delete(x);
      const as = rng.pick(['file', 'link', 'fifo'] as const);
      if (as === 'file') {
        const data = bytesOf(rng, rng.below(4));
        await fsp.writeFile(abs(d), data);
        b.nodes.set(d, { t: 'file', data });
      } else if (as === 'link') {
        await fsp.symlink('.', abs(d));
        b.nodes.set(d, { t: 'link', target: '.' });
      } else {
        const r = spawnSync('mkfifo', [abs(d)]);
        if (r.status !== 0) throw new Error(`mkfifo ${abs(d)}: ${r.stderr}`);
        b.nodes.set(d, { t: 'fifo' });
      }
      return `${kind} ${d} by a ${as}`;
    }
    case 'empty-folder': {
      const d = rng.pick(['', ...b.dirs]);
      const p = d === '' ? `empty${++serial}` : `${d}/empty${++serial}`;
      if (!free(b, p)) return undefined;
      await fsp.mkdir(abs(p));
      b.dirs.add(p);
      return `${kind} ${p}`;
    }
  }
}

/** The problems the truth expects, as sorted `kind path` strings (FORMAT §1, §8). */
function truth(a: Tree, b: Tree): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.nodes.keys(), ...b.nodes.keys()])) {
    const x = a.nodes.get(p);
    const y = b.nodes.get(p);
    if (x?.t === 'fifo') throw new Error('a FIFO cannot be sealed');
    if (x === undefined) out.push(`extra ${p}`);
    else if (y === undefined) out.push(`missing ${p}`);
    else if (x.t !== y.t) out.push(`type-changed ${p}`);
    else if (x.t === 'file' && !x.data.equals((y as { data: Buffer }).data)) out.push(`modified ${p}`);
    else if (x.t === 'link' && x.target !== (y as { target: string }).target) out.push(`modified ${p}`);
  }
  return out.sort();
}

const got = (problems: Json[]): string[] => problems.map((p: Json) => `${p.kind} ${p.path}`).sort();

// ------------------------------------------------------------------ one case

async function runCase(seed: number): Promise<void> {
  const c = makeCase(seed);
  const rng = new Rng(seed * 7919 + 1);
  const store = shared.path;
  const dirA = await tempDir('snap-vdiff-a-');
  await writeTreeTo(dirA, c.a, c.labels);
  if (c.labels) c.a.nodes.set('snap.json', { t: 'file', data: await fsp.readFile(join(dirA, 'snap.json')) });
  const ref = `vd${seed}x${Math.random().toString(36).slice(2, 8)}@v1`;
  const sealed = await snapJson(['seal', dirA, '--as', ref, '--key', keys.key, '--store', store, '--jobs', '1']);
  expect(sealed.code, `seal, seed ${seed}: ${sealed.stderr}`).toBe(0);

  // odd seeds: restore the snapshot into a new folder (its own verify must pass), and change that one
  let dir = dirA;
  if (seed % 2 === 1) {
    dir = join(await tempDir('snap-vdiff-r-'), 'restored');
    const r = await snapJson(['restore', ref, dir, '--pubkey', keys.pub, '--store', store, '--jobs', String(1 + (seed % 4 === 1 ? 1 : 0))]);
    expect(r.code, `restore, seed ${seed}: ${r.stdout}${r.stderr}`).toBe(0);
  }
  const b = cloneTree(c.a);
  const log: string[] = [];
  // The first change of seed S is of kind S - 1 (mod the kinds), so any run of as many seeds as
  // there are kinds makes each kind at least once; 'none' alone is the untouched tree.
  const first = MUTATIONS[(seed - 1) % MUTATIONS.length] as Mutation;
  const n = first === 'none' ? 1 : rng.below(3) === 0 ? 1 : 1 + rng.below(3);
  for (let i = 0; i < n; i++) {
    const m = i === 0 ? first : rng.pick(MUTATIONS.filter((k) => k !== 'none'));
    const done = await mutate(rng, dir, b, m);
    if (done !== undefined) log.push(done);
  }
  const want = truth(c.a, b);
  const what = () => `seed ${seed}, changes: ${JSON.stringify(log)}\ntree: ${JSON.stringify([...c.a.nodes].filter(([p]) => !/^bulk\/f\d+$/.test(p) || log.some((l) => l.includes(p))).map(([p, x]) => [p, x.t === 'file' ? x.data.length : x.t === 'link' ? `-> ${x.target}` : 'fifo']))}`;

  const check = (label: string, r: { code: number; json: Json; stderr: string }) => {
    expect(got(r.json.problems ?? []), `${label}: ${what()}\n${r.stderr}`).toEqual(want);
    expect(r.code, `${label} exit: ${what()}\n${r.stderr}`).toBe(want.length === 0 ? 0 : 1);
    expect(r.json.ok, `${label} ok`).toBe(want.length === 0);
    // the counts tally the problems, and every other signed entry matched
    const tally = (k: string) => want.filter((w) => w.startsWith(`${k} `)).length;
    const kinds = ['modified', 'missing', 'extra', 'type-changed', 'unreadable'];
    const wantCounts = { matched: c.a.nodes.size - tally('modified') - tally('missing') - tally('type-changed'), ...Object.fromEntries(kinds.map((k) => [k, tally(k)])) };
    expect(r.json.counts, `${label} counts: ${what()}`).toEqual(wantCounts);
  };
  for (const jobs of ['1', '2']) check(`verify --jobs ${jobs}`, await snapJson(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', store, '--jobs', jobs]));

  const work = await tempDir('snap-vdiff-w-');
  for (const count of seed % 3 === 0 ? [2, 3] : [seed % 2 === 0 ? 2 : 3]) {
    const reports: string[] = [];
    for (let k = 1; k <= count; k++) {
      const file = join(work, `s${k}of${count}.json`);
      const s = await snap(['verify', dir, '--against', ref, '--pubkey', keys.pub, '--store', store, '--jobs', '1', '--shard', `${k}/${count}`, '--report', file, '--quiet']);
      expect(s.code, `shard ${k}/${count}: ${what()}\n${s.stderr}`).toBe(want.length === 0 ? 0 : [0, 1].includes(s.code) ? s.code : 1);
      reports.push(file);
    }
    check(`verify --merge of ${count} shards`, await snapJson(['verify', '--merge', ...reports, '--against', ref]));
  }

  if (seed % 2 === 0 || seed % 3 === 0) {
    const tar = join(work, `${ref}.snap.tar`);
    const e = await snap(['export', ref, '-o', tar, '--store', store, '--quiet']);
    expect(e.code, `export, seed ${seed}: ${e.stderr}`).toBe(0);
    check('verify against the archive', await snapJson(['verify', dir, '--against', tar, '--pubkey', keys.pub, '--jobs', '2']));
  }
}

const envSeeds = Number(process.env.SNAP_VERIFY_DIFF_SEEDS ?? '');
/** Cases in the suite: one per kind of change (each seed's first), about 15 s on a loaded two-core machine. */
const SUITE_SEEDS = MUTATIONS.length;
const SEEDS = Number.isInteger(envSeeds) && envSeeds > 0 ? envSeeds : SUITE_SEEDS;
const FIRST = Number(process.env.SNAP_VERIFY_DIFF_FROM ?? '1') || 1;
const ONE = process.env.SNAP_VERIFY_DIFF_SEED;

describe('verify, differential: the gate names exactly the files a ground truth from FORMAT §1 and §8 names', () => {
  it(`over ${ONE !== undefined ? `seed ${ONE}` : `${SEEDS} random trees and changes`}, with one and two workers, in shards, against an archive and after a restore`, async () => {
    const seeds = ONE !== undefined ? [Number(ONE)] : Array.from({ length: SEEDS }, (_, i) => FIRST + i);
    for (const seed of seeds) await runCase(seed);
  }, 1_800_000);
});
