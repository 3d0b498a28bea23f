/**
 * The stat cache of an incremental seal (`seal --incremental`, docs/FORMAT.md §22): for each file
 * a seal read, the `dev:ino:size:mtimeNs:ctimeNs` of the descriptor whose bytes it hashed (the
 * hashing worker's fstat; for a file taken from the parent, the identity it matched), kept on this
 * machine in the state folder (`STATE/stat-cache/<snapshot hex>.jsonl`). The next `seal --incremental` whose
 * parent is that snapshot takes the parent's digest — from the parent's own manifest, never from
 * the cache — for a file whose identity is still exactly that, instead of reading it.
 *
 * The cache is unsigned local data and only ever an optimisation: it holds no digest, so whatever
 * it says, a seal can only sign, for a file, the digest the parent's manifest gives that path; if
 * the file changed, verify of the new snapshot then fails (docs/DESIGN.md, "Incremental seal").
 * It is never read by verify.
 *
 * Like git's index ("racy git", Documentation/technical/racy-git.txt), a file whose mtime or ctime
 * is within {@link RACY_NS} of the seal's start is not recorded: a write in the same timestamp tick
 * as the read could leave its identity unchanged.
 */
import { closeSync, constants as FS, fstatSync, fsyncSync, lstatSync, openSync, readFileSync, type BigIntStats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { writeAllSync } from '../io/write-all.js';
import { randomBytes } from 'node:crypto';
import { compareUtf8 } from '../core/paths.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { isSymlinkEntry, ManifestOrder } from '../core/manifest.js';
import { manifestLineRuns, parseManifestLine } from '../io/manifest-file.js';
import { SNAPSHOT_ID_RE } from '../core/refs.js';
import { otherWriters } from '../core/other-writers.js';

/** The `format` of a stat cache's header line. */
export const STAT_CACHE_FORMAT = 'snap-stat-cache/1';
/** Sub-folder of the state folder that holds stat caches. */
export const STAT_CACHE_DIR = 'stat-cache';
/** Longest line read from a stat cache, in bytes (a path is at most 4,096 bytes, escaped at most 6× in JSON). */
export const MAX_STAT_CACHE_LINE = 32 * 1024;
/** Stat caches kept: the newest this many; older ones are removed after each incremental seal. */
export const KEEP_STAT_CACHES = 16;
/** Files changed less than this long (ns) before the seal started are not recorded (timestamp granularity; see the module comment). */
export const RACY_NS = 2_000_000_000n;

/** This machine, as a stat cache names it: its host name and, where the kernel gives one, its boot id (device numbers may change across a reboot). */
export interface Machine {
  host: string;
  boot: string;
}

/** This machine's {@link Machine}. */
export function thisMachine(): Machine {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* no boot id (not Linux): the host name alone */
  }
  return { host: hostname(), boot };
}

/** A file's identity: `dev:ino:size:mtimeNs:ctimeNs` (decimal) of a bigint lstat. */
export function statId(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

const ID_RE = /^[0-9]{1,20}:[0-9]{1,20}:[0-9]{1,20}:[0-9]{1,25}:[0-9]{1,25}$/;
const HEADER_KEYS = 'boot,format,host,root,snapshot';

/** The header line of a cache (member order fixed, so the snapshot id can be written in place later). */
function headerLine(snapshot: string, m: Machine, root: string): string {
  return JSON.stringify({ format: STAT_CACHE_FORMAT, snapshot, host: m.host, boot: m.boot, root }) + '\n';
}

/** The cache file of a snapshot in `dir`. */
export function statCachePath(dir: string, snapshot: string): string {
  return join(dir, `${snapshot.replace(/^sha256:/, '')}.jsonl`);
}

/** What a parent's digests give for a path whose identity is unchanged. */
export interface Reusable {
  id: string;
  sha256: string;
  size: number;
}

/**
 * Why a cache was or was not used (`unsigned-parent`: the parent's envelope has no valid signature
 * by a sealing key; `unsafe`: the stat-cache folder, or one above it, is one another user could
 * change, and no cache was read or written there — ops/seal.ts).
 */
export type CacheStatus = 'absent' | 'other-machine' | 'malformed' | 'unsigned-parent' | 'unsafe' | 'used';

/**
 * The parent's digests for files unchanged since its seal on this machine: its stat cache and its
 * manifest, read together in manifest order (O(1) memory). {@link IncrementalSource.get} must be
 * called with strictly increasing paths.
 */
export class IncrementalSource {
  status: CacheStatus = 'absent';
  /** True once the cache's header matched (this parent, this machine, this folder): the seal is incremental from then on, even if a later line stops the cache. */
  applied = false;
  /** Why the cache stopped being used (a malformed line), for a note. */
  problem?: string;
  private cacheLines?: AsyncGenerator<string[]>;
  private cacheRun: string[] = [];
  private cacheI = 0;
  private cacheCur?: { path: string; id: string };
  private cacheCount = 0;
  private readonly raw = { bytes: 0 } as { sha256?: string; bytes: number };
  private readonly order = new ManifestOrder();
  private manifestLines?: AsyncGenerator<string[]>;
  private manRun: string[] = [];
  private manI = 0;
  private manCur?: { path: string; sha256?: string; size?: number };
  private manDone = false;

  /**
   * @param cachePath the parent's stat cache file (absent: nothing is reused)
   * @param manifestPath the parent's `manifest.jsonl`
   * @param parent the parent's snapshot id, and its statement's `fileCount`
   */
  constructor(
    private readonly cachePath: string,
    private readonly manifestPath: string,
    private readonly parent: { snapshot: string; fileCount: number },
    private readonly machine: Machine,
    private readonly root: string,
  ) {}

  /**
   * Read and check the header; afterwards `status` is `used` when the cache applies. The cache is
   * opened without blocking and only as a regular file: a FIFO put in its place would otherwise
   * hold the seal (and the store's lock) for ever; it, a folder or an unreadable file is
   * `malformed`, and the seal reads every file. So is a cache that another user owns or may write
   * (group or others write bit: a state folder shared between users), as ssh treats its keys:
   * forged identities would make the seal sign the parent's digests for files it never read. And
   * so is a symbolic link (never followed: O_NOFOLLOW) or a file with more than one hard link: in
   * a state folder another user may write, either names a file of this user's whose bytes that
   * user chose (a store object this user's seal copied from their data, say), with this user's
   * owner and mode, and the header of a parent snapshot they forged in the store.
   */
  async open(): Promise<void> {
    let fd: number;
    try {
      fd = openSync(this.cachePath, FS.O_RDONLY | (FS.O_NOFOLLOW ?? 0) | (FS.O_NONBLOCK ?? 0));
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code;
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return;
      return this.stop(errno === 'ELOOP' ? 'it is a symbolic link' : `it cannot be read (${errno ?? String(e)})`);
    }
    const st = fstatSync(fd);
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    // No POSIX owner and modes on Windows (every file reads 0666 there), as key-hygiene.ts.
    const posix = process.platform !== 'win32';
    const foreign = !st.isFile()
      ? 'it is not a regular file'
      : posix && st.nlink !== 1
        ? 'it has another hard link'
        : posix && uid !== undefined
          ? otherWriters(st, { uid, gid: process.getgid?.() ?? -1 }, { ownGroup: false, sticky: false })
          : undefined;
    if (foreign) {
      closeSync(fd);
      return this.stop(foreign);
    }
    this.cacheLines = readLines(fd);
    const first = await this.nextCacheLine();
    let h: Record<string, unknown> | undefined;
    try {
      const v = first === undefined ? undefined : parseJsonStrict(first, 'STATE_MALFORMED', 'the stat cache header');
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).sort().join() === HEADER_KEYS) h = v as Record<string, unknown>;
    } catch {
      h = undefined;
    }
    if (!h || h.format !== STAT_CACHE_FORMAT || typeof h.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(h.snapshot)) return this.stop('its header is not a stat cache header');
    if (h.snapshot !== this.parent.snapshot) return this.stop('its header names another snapshot');
    if (h.host !== this.machine.host || h.boot !== this.machine.boot || h.root !== this.root) {
      this.status = 'other-machine';
      return;
    }
    this.status = 'used';
    this.applied = true;
    this.manifestLines = manifestLineRuns(this.manifestPath, this.raw);
  }

  /** Stop reading the cache and the parent's manifest (their descriptors are closed); call once the seal is over, whatever happened. */
  async close(): Promise<void> {
    await this.cacheLines?.return(undefined);
    await this.manifestLines?.return(undefined);
  }

  private stop(why: string): void {
    this.status = 'malformed';
    this.problem = why;
    this.cacheCur = undefined;
  }

  private async nextCacheLine(): Promise<string | undefined> {
    const gen = this.cacheLines as AsyncGenerator<string[]>;
    while (this.cacheI >= this.cacheRun.length) {
      let r: IteratorResult<string[]>;
      try {
        r = await gen.next();
      } catch (e) {
        this.stop(`it cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        return undefined;
      }
      if (r.done) return undefined;
      this.cacheRun = r.value;
      this.cacheI = 0;
    }
    return this.cacheRun[this.cacheI++];
  }

  /** Move the cache cursor to the next entry, checking it strictly; undefined at the end or once malformed. */
  private async advanceCache(): Promise<void> {
    const prev = this.cacheCur?.path;
    this.cacheCur = undefined;
    if (this.status !== 'used') return;
    const line = await this.nextCacheLine();
    if (line === undefined || line === '') {
      if (line === '' && (await this.nextCacheLine()) !== undefined) this.stop('it has an empty line');
      return;
    }
    if (line.length > MAX_STAT_CACHE_LINE) return this.stop(`a line is longer than ${MAX_STAT_CACHE_LINE} bytes`);
    if (++this.cacheCount > this.parent.fileCount) return this.stop('it has more entries than the parent has files');
    let v: unknown;
    try {
      v = parseJsonStrict(line, 'STATE_MALFORMED', 'a stat cache line');
    } catch {
      return this.stop(`line ${this.cacheCount + 1} is not JSON`);
    }
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || !ID_RE.test(v[1]) || v[0] === '') return this.stop(`line ${this.cacheCount + 1} is not ["path","dev:ino:size:mtimeNs:ctimeNs"]`);
    if (prev !== undefined && compareUtf8(prev, v[0]) >= 0) return this.stop(`line ${this.cacheCount + 1} is out of manifest order`);
    this.cacheCur = { path: v[0], id: v[1] };
  }

  /** Move the manifest cursor to the next entry (parsed strictly: a malformed parent manifest throws its MANIFEST_* code). */
  private async advanceManifest(): Promise<void> {
    const gen = this.manifestLines as AsyncGenerator<string[]>;
    while (this.manI >= this.manRun.length) {
      const r = await gen.next();
      if (r.done) {
        this.manDone = true;
        this.manCur = undefined;
        return;
      }
      this.manRun = r.value;
      this.manI = 0;
    }
    const e = parseManifestLine(this.manRun[this.manI++] as string, this.order, this.manifestPath);
    this.manCur = isSymlinkEntry(e) ? { path: e.path } : { path: e.path, sha256: e.sha256, size: e.size };
  }

  private started = false;

  /** The parent's identity, digest and size for a regular file at `path`, when both the cache and the parent's manifest have it. */
  async get(path: string): Promise<Reusable | undefined> {
    if (this.status !== 'used') return undefined;
    if (!this.started) {
      this.started = true;
      await this.advanceCache();
      await this.advanceManifest();
    }
    while (this.cacheCur !== undefined && compareUtf8(this.cacheCur.path, path) < 0) await this.advanceCache();
    const c = this.cacheCur;
    if (c === undefined || c.path !== path) return undefined;
    while (!this.manDone && this.manCur !== undefined && compareUtf8(this.manCur.path, path) < 0) await this.advanceManifest();
    const m = this.manCur;
    if (m === undefined || m.path !== path || m.sha256 === undefined || m.size === undefined) return undefined;
    return { id: c.id, sha256: m.sha256, size: m.size };
  }

  /** Read the parent's manifest to its end; its SHA-256 (hex), to compare with the parent's signed `manifestSha256`. */
  async manifestSha256(): Promise<string | undefined> {
    if (this.manifestLines === undefined) return undefined;
    if (!this.started) {
      this.started = true;
      await this.advanceManifest();
    }
    while (!this.manDone) await this.advanceManifest();
    return this.raw.sha256;
  }
}

/**
 * Writes the stat cache of the snapshot being sealed: entries as the walk goes (manifest order),
 * under a temporary name; {@link StatCacheWriter.commit} names it by the new snapshot id.
 */
export class StatCacheWriter {
  private fd: number | undefined;
  private last: string | undefined;
  private readonly cutoff: bigint;
  /** Entries recorded. */
  count = 0;

  private constructor(
    private readonly dir: string,
    private readonly tmp: string,
    fd: number,
    private readonly machine: Machine,
    private readonly root: string,
    sealStartNs: bigint,
  ) {
    this.fd = fd;
    this.cutoff = sealStartNs - RACY_NS;
  }

  /** Start a cache in `dir` (made if absent, mode 0700) for the seal of `root` that started at `sealStartNs` (wall clock, ns). */
  static async open(dir: string, machine: Machine, root: string, sealStartNs: bigint): Promise<StatCacheWriter> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o600);
    writeAllSync(fd, Buffer.from(headerLine(`sha256:${'0'.repeat(64)}`, machine, root)));
    return new StatCacheWriter(dir, tmp, fd, machine, root, sealStartNs);
  }

  /**
   * Record regular file `path` with `id` ({@link statId} form): the identity of the very descriptor
   * whose bytes gave its digest (or, for a file taken from the parent, the identity it matched).
   * Skipped when it changed too recently to be sure of (see {@link RACY_NS}), or when `id` is not
   * of the form a reader accepts (a time before 1970 is negative: its line would stop the next
   * seal's use of the whole rest of the cache). Paths must increase.
   */
  add(path: string, id: string): void {
    if (this.fd === undefined || !ID_RE.test(id)) return;
    const [, , , mtimeNs, ctimeNs] = id.split(':').map(BigInt) as bigint[];
    if ((mtimeNs as bigint) >= this.cutoff || (ctimeNs as bigint) >= this.cutoff) return;
    if (this.last !== undefined && compareUtf8(this.last, path) >= 0) return;
    this.last = path;
    writeAllSync(this.fd, Buffer.from(JSON.stringify([path, id]) + '\n'));
    this.count++;
  }

  /** Write the new snapshot id into the header and name the file by it; remove all but the newest {@link KEEP_STAT_CACHES} caches. Returns its path. */
  async commit(snapshot: string): Promise<string> {
    const fd = this.fd as number;
    writeAllSync(fd, Buffer.from(headerLine(snapshot, this.machine, this.root)), 0);
    fsyncSync(fd);
    closeSync(fd);
    this.fd = undefined;
    const dest = statCachePath(this.dir, snapshot);
    await fsp.rename(this.tmp, dest);
    await pruneCaches(this.dir);
    return dest;
  }

  /** Drop the cache being written (the seal failed). */
  async abort(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    await fsp.rm(this.tmp, { force: true });
  }
}

/** Keep the newest {@link KEEP_STAT_CACHES} cache files of `dir` (by mtime); remove the rest, and temporary files older than a day. */
async function pruneCaches(dir: string): Promise<void> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const files: { path: string; mtime: number }[] = [];
  for (const n of names) {
    const path = join(dir, n);
    try {
      const st = lstatSync(path);
      if (n.startsWith('.tmp-')) {
        if (Date.now() - st.mtimeMs > 86_400_000) await fsp.rm(path, { force: true });
      } else if (/^[0-9a-f]{64}\.jsonl$/.test(n)) files.push({ path, mtime: st.mtimeMs });
    } catch {
      /* gone meanwhile */
    }
  }
  files.sort((a, b) => b.mtime - a.mtime);
  for (const f of files.slice(KEEP_STAT_CACHES)) await fsp.rm(f.path, { force: true });
}

/** The lines of the open file `fd` (without `\n`), a chunk's worth at a time; `fd` is closed at the end, on an error or on `return()`. */
async function* readLines(fd: number): AsyncGenerator<string[]> {
  let rest = '';
  for await (const chunk of createReadStream('', { fd, encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop() as string;
    if (rest.length > MAX_STAT_CACHE_LINE) {
      yield [...lines, rest];
      return;
    }
    yield lines;
  }
  if (rest !== '') yield [rest];
}
