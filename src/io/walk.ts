/**
 * Walks a dataset folder in manifest order (SPEC §2) without sorting the whole tree: within each
 * folder, entries are ordered by the UTF-8 bytes of `name` for files and `name + "/"` for folders,
 * which makes the depth-first order equal to the byte order of the full paths. Memory is one
 * listing per level of depth.
 *
 * Symbolic links are recorded (their target read), never followed. Sockets, FIFOs and devices, and
 * names that break the path rules, stop the walk with an error naming the file.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Ignore } from 'ignore';
import { checkExcludePatterns } from '../core/excludes.js';
import { SnapError } from '../core/errors.js';
import { compareUtf8 } from '../core/paths.js';
import { validatePath } from '../core/paths.js';
import { ioError } from './errors.js';

/** One item of a dataset in manifest order. */
export type WalkItem = { kind: 'file'; path: string } | { kind: 'symlink'; path: string; target: string };

/** Options of {@link walkDataset}. */
export interface WalkOptions {
  /** gitignore-syntax patterns to leave out (SPEC §8 `--exclude`). */
  excludes?: readonly string[];
  /** Absolute folders to leave out wherever they are (e.g. the store when it lies inside the dataset). */
  skipDirs?: readonly string[];
  /** What to do with a socket, FIFO or device: throw (seal) or report it (verify). */
  onSpecial?: (path: string, what: string) => void;
  /** What to do with a name that breaks the path rules: throw by default. */
  onBadName?: (err: SnapError) => void;
}

function describeSpecial(d: Dirent): string | undefined {
  if (d.isFIFO()) return 'a FIFO (named pipe)';
  if (d.isSocket()) return 'a socket';
  if (d.isBlockDevice()) return 'a block device';
  if (d.isCharacterDevice()) return 'a character device';
  return undefined;
}

/** A compiled matcher for `--exclude` patterns (gitignore syntax, via the `ignore` package, loaded only when needed). */
export async function excludeMatcher(patterns: readonly string[]): Promise<Ignore | undefined> {
  if (patterns.length === 0) return undefined;
  checkExcludePatterns(patterns, 'USAGE');
  const { default: ignore } = await import('ignore');
  try {
    const ig = ignore().add([...patterns]);
    ig.ignores('x'); // the package compiles its regular expressions on first use: fail here, not mid-walk
    return ig;
  } catch (e) {
    throw new SnapError('USAGE', `invalid --exclude pattern: ${(e as Error).message}`);
  }
}

interface Frame {
  rel: string; // folder path relative to the root ('' for the root)
  entries: { name: string; dir: boolean; dirent: Dirent }[];
  i: number;
}

async function listDir(abs: string, rel: string): Promise<Dirent[]> {
  let list: Dirent[];
  try {
    // Synchronous on purpose: one folder listing is short, and it spares a thread-pool round trip
    // per folder while the hashing workers keep every core busy.
    list = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    throw ioError(e, abs, rel === '' ? 'cannot read the dataset folder' : 'cannot read folder');
  }
  // Node decodes names as UTF-8 and replaces invalid bytes with U+FFFD: look at the raw bytes.
  if (list.some((d) => d.name.includes('\uFFFD'))) {
    const raw = await fsp.readdir(abs, { encoding: 'buffer' });
    const dec = new TextDecoder('utf-8', { fatal: true });
    for (const b of raw) {
      try {
        dec.decode(b);
      } catch {
        const shown = join(rel, b.toString('utf8'));
        throw new SnapError('PATH_INVALID_UTF8', `file name is not valid UTF-8: ${JSON.stringify(shown)} (bytes ${b.toString('hex')}); rename it or --exclude it`, { path: shown });
      }
    }
  }
  return list;
}

async function resolveUnknown(abs: string, d: Dirent): Promise<Dirent> {
  if (d.isFile() || d.isDirectory() || d.isSymbolicLink() || describeSpecial(d)) return d;
  // DT_UNKNOWN (some file systems): ask lstat.
  const st = await fsp.lstat(abs);
  return Object.assign(Object.create(Object.getPrototypeOf(d)), d, {
    isFile: () => st.isFile(),
    isDirectory: () => st.isDirectory(),
    isSymbolicLink: () => st.isSymbolicLink(),
    isFIFO: () => st.isFIFO(),
    isSocket: () => st.isSocket(),
    isBlockDevice: () => st.isBlockDevice(),
    isCharacterDevice: () => st.isCharacterDevice(),
  });
}

/**
 * Walk `root` in manifest order, yielding files and symlinks with their dataset paths.
 * @throws SnapError `NOT_FOUND` (root missing) | `NOT_A_FOLDER` (root is a file) | `IO_ERROR` |
 *   `FILE_UNSUPPORTED_TYPE` | `PATH_*` (a name that breaks SPEC §2), each naming the file
 */
export async function* walkDataset(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkItem> {
  for await (const run of walkDatasetRuns(root, opts)) yield* run;
}

/**
 * Like {@link walkDataset}, but yields runs of consecutive items (up to one folder's files at a
 * time), which costs one `await` per run instead of one per file.
 */
export async function* walkDatasetRuns(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkItem[]> {
  const absRoot = resolve(root);
  let st;
  try {
    st = await fsp.stat(absRoot);
  } catch (e) {
    throw ioError(e, absRoot, 'cannot open the dataset folder');
  }
  if (!st.isDirectory()) throw new SnapError('NOT_A_FOLDER', `${root} is not a folder`, { path: root });
  const ig = await excludeMatcher(opts.excludes ?? []);
  const skip = new Set((opts.skipDirs ?? []).map((d) => relative(absRoot, d)).filter((r) => r !== '' && !r.startsWith('..') && !r.startsWith(sep)).map((r) => r.split(sep).join('/')));

  const open = async (rel: string): Promise<Frame> => {
    const abs = rel === '' ? absRoot : join(absRoot, rel);
    const list = await listDir(abs, rel);
    const entries: Frame['entries'] = [];
    for (let d of list) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      if (!(d.isFile() || d.isDirectory() || d.isSymbolicLink())) d = await resolveUnknown(join(abs, d.name), d);
      const dir = d.isDirectory();
      if (dir && skip.has(childRel)) continue;
      if (ig && ig.ignores(dir ? `${childRel}/` : childRel)) continue;
      entries.push({ name: d.name, dir, dirent: d });
    }
    entries.sort((a, b) => compareUtf8(a.dir ? `${a.name}/` : a.name, b.dir ? `${b.name}/` : b.name));
    return { rel, entries, i: 0 };
  };

  const stack: Frame[] = [await open('')];
  let run: WalkItem[] = [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.i >= top.entries.length) {
      stack.pop();
      continue;
    }
    const { name, dir, dirent } = top.entries[top.i++] as Frame['entries'][number];
    const rel = top.rel === '' ? name : `${top.rel}/${name}`;
    if (dir) {
      if (run.length > 0) {
        yield run;
        run = [];
      }
      stack.push(await open(rel));
      continue;
    }
    try {
      validatePath(rel);
    } catch (e) {
      if (opts.onBadName && e instanceof SnapError) {
        opts.onBadName(e);
        continue;
      }
      throw e;
    }
    if (dirent.isFile()) {
      run.push({ kind: 'file', path: rel });
    } else if (dirent.isSymbolicLink()) {
      let target: string;
      try {
        target = await fsp.readlink(join(absRoot, rel));
      } catch (e) {
        throw ioError(e, join(absRoot, rel), 'cannot read symbolic link');
      }
      run.push({ kind: 'symlink', path: rel, target });
    } else {
      const what = describeSpecial(dirent) ?? 'not a regular file, folder or symbolic link';
      if (opts.onSpecial) opts.onSpecial(rel, what);
      else {
        throw new SnapError('FILE_UNSUPPORTED_TYPE', `${rel} is ${what}; snap records only regular files and symbolic links. Remove it or --exclude it.`, { path: rel });
      }
    }
    if (run.length >= 1024) {
      yield run;
      run = [];
    }
  }
  if (run.length > 0) yield run;
}
