/**
 * The local store behind the {@link StoreBackend} interface: the folder layout of SPEC §7 and
 * docs/FORMAT.md §6, through the functions of `io/store.ts` and `io/audit-log.ts` (write-once
 * objects, atomic snapshot commit by rename, the O_EXCL lock files).
 */
import { promises as fsp, createReadStream, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SnapError, isSnapError } from '../core/errors.js';
import { NAME_RE, VERSION_RE } from '../core/refs.js';
import { ioError } from '../io/errors.js';
import { openRegularFile } from '../io/small-file.js';
import {
  acquireLockFile,
  commitSnapshot,
  isSnapshotFolder,
  lockStore,
  makeTmpDir,
  objectPath,
  snapshotDir,
  writeFileAtomic,
  type Store,
} from '../io/store.js';
import { LOG_FILE, LOG_HEAD_FILE, LOG_LOCK_FILE } from '../io/audit-log.js';
import type { BackendLock, CommittedSnapshot, PutResult, Retention, SnapshotFiles, StoreBackend } from './backend.js';

/** Top-level names of the store root that are not "other files" (they have their own methods). */
export const RESERVED_ROOT_NAMES = new Set(['objects', 'snapshots', 'tmp', 'lock', 'lock.takeover', 'store.json', LOG_FILE, LOG_HEAD_FILE, LOG_LOCK_FILE, `${LOG_LOCK_FILE}.takeover`]);

/**
 * A stream that passes bytes through and fails with `OBJECT_CORRUPT` at its end unless they hash
 * (SHA-256) to `hex`.
 */
export function rehashing(hex: string, what: string): Transform {
  const h = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const got = h.digest('hex');
      cb(got === hex ? null : new SnapError('OBJECT_CORRUPT', `${what} does not hash to its name (sha256 ${got}); the store copy was changed`, { object: hex }));
    },
  });
}

function refuseRetention(retain: Retention | undefined): void {
  if (retain) throw new SnapError('USAGE', 'retention (Object Lock) needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
}

/**
 * The lines of audit log bytes, each with its `\n` (views into `bytes`, not copies); a last line
 * without one (torn) is kept as it is.
 */
export function splitLogLines(bytes: Buffer): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

/** The local store folder as a {@link StoreBackend}. */
export class LocalBackend implements StoreBackend {
  readonly kind = 'local' as const;
  readonly location: string;

  /** @param store an open store (`openStore`) */
  constructor(readonly store: Store) {
    this.location = store.root;
  }

  async hasObject(hex: string): Promise<boolean> {
    return fsp.access(objectPath(this.store, hex)).then(() => true, () => false);
  }

  async getObject(hex: string): Promise<Readable> {
    const path = objectPath(this.store, hex);
    // Non-blocking and regular files only: a FIFO planted in the store must not hang the read.
    const fh = await openRegularFile(path, 'cannot read the object', (shown) => new SnapError('OBJECT_CORRUPT', `object ${hex} (${shown}) is not a regular file: the store was altered (run snap fsck)`, { object: hex })).catch((e) => {
      if (isSnapError(e, 'NOT_FOUND')) throw new SnapError('NOT_FOUND', `object ${hex} is not in the store ${this.store.root}`, { object: hex });
      throw e;
    });
    return fh.createReadStream().pipe(rehashing(hex, `object ${hex}`));
  }

  async putObject(hex: string, open: () => Readable, _size: number, retain?: Retention): Promise<PutResult> {
    refuseRetention(retain);
    const path = objectPath(this.store, hex);
    if (await this.hasObject(hex)) return 'present';
    const tmp = join(await makeTmpDir(this.store, 'object'), 'o');
    try {
      // Written under a temporary name, hashed as written, then linked into place (never replaced).
      await pipeline(open(), rehashing(hex, `object ${hex}`), createWriteStream(tmp, { mode: 0o444 }));
      await fsp.mkdir(dirname(path), { recursive: true });
      try {
        await fsp.link(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'present';
        throw ioError(e, path, 'cannot store the object');
      }
      return 'stored';
    } finally {
      await fsp.rm(dirname(tmp), { recursive: true, force: true });
    }
  }

  async *listObjects(): AsyncIterable<string> {
    const top = this.store.objectsDir;
    for (const a of await fsp.readdir(top).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await fsp.readdir(join(top, a)).catch(() => [] as string[])) if (/^[0-9a-f]{62}$/.test(b)) yield a + b;
    }
  }

  async listSnapshots(): Promise<CommittedSnapshot[]> {
    const out: CommittedSnapshot[] = [];
    for (const n of await fsp.readdir(this.store.snapshotsDir).catch(() => [] as string[])) {
      if (!NAME_RE.test(n)) continue;
      for (const v of await fsp.readdir(join(this.store.snapshotsDir, n)).catch(() => [] as string[])) {
        if (VERSION_RE.test(v) && isSnapshotFolder(join(this.store.snapshotsDir, n, v))) out.push({ name: n, version: v });
      }
    }
    return out;
  }

  async readSnapshot(name: string, version: string): Promise<SnapshotFiles> {
    const dir = snapshotDir(this.store, name, version);
    const files: SnapshotFiles = new Map();
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapError('NOT_FOUND', `no snapshot ${name}@${version} in ${this.store.root}`, { ref: `${name}@${version}` });
      throw ioError(e, dir, 'cannot read the snapshot');
    }
    for (const f of names) if (!f.startsWith('.')) files.set(f, await fsp.readFile(join(dir, f)));
    return files;
  }

  async commitSnapshot(name: string, version: string, files: SnapshotFiles, retain?: Retention): Promise<void> {
    refuseRetention(retain);
    const tmp = await makeTmpDir(this.store, 'commit');
    try {
      for (const [f, bytes] of files) await writeFileAtomic(join(tmp, f), bytes, { mode: 0o444 });
      await commitSnapshot(this.store, tmp, name, version);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  async readLog(): Promise<{ lines: Uint8Array[]; head?: Uint8Array }> {
    const lines = splitLogLines(await fsp.readFile(this.store.logPath).catch(() => Buffer.alloc(0)));
    const head = await fsp.readFile(join(this.store.root, LOG_HEAD_FILE)).catch(() => undefined);
    return { lines, ...(head ? { head } : {}) };
  }

  async appendLog(lines: Uint8Array[], head: Uint8Array, retain?: Retention): Promise<void> {
    refuseRetention(retain);
    const release = await acquireLockFile(join(this.store.root, LOG_LOCK_FILE), `the audit log of ${this.store.root}`, 10_000);
    try {
      const fh = await fsp.open(this.store.logPath, 'a', 0o644);
      try {
        await fh.writeFile(Buffer.concat(lines));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await writeFileAtomic(join(this.store.root, LOG_HEAD_FILE), head, { mode: 0o644 });
    } finally {
      await release();
    }
  }

  async listFiles(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        const rel = relative(this.store.root, p).split(sep).join('/');
        if (dir === this.store.root && (RESERVED_ROOT_NAMES.has(e.name) || e.name.startsWith('.'))) continue;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.startsWith('.')) out.push(rel);
      }
    };
    await walk(this.store.root);
    return out;
  }

  async readFile(path: string): Promise<Uint8Array> {
    return fsp.readFile(this.otherPath(path));
  }

  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    const p = this.otherPath(path);
    await fsp.mkdir(dirname(p), { recursive: true });
    await writeFileAtomic(p, bytes, { mode: 0o644 });
  }

  /** The path of an "other" file, refusing names that leave the store or are reserved. */
  private otherPath(path: string): string {
    const parts = path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.')) || RESERVED_ROOT_NAMES.has(parts[0] as string)) {
      throw new SnapError('STORE_MALFORMED', `a store file may not be named ${JSON.stringify(path)}`, { path });
    }
    return join(this.store.root, ...parts);
  }

  async lock(waitMs?: number): Promise<BackendLock> {
    return lockStore(this.store, waitMs);
  }
}

/** Read a whole local file as a stream opener (for {@link StoreBackend.putObject}). */
export function fileOpener(path: string): () => Readable {
  return () => createReadStream(path);
}
