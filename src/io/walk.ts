/**
 * Walks a dataset folder in manifest order (SPEC §2) without sorting the whole tree: within each
 * folder, entries are ordered by the UTF-8 bytes of `name` for files and `name + "/"` for folders,
 * which makes the depth-first order equal to the byte order of the full paths. Memory is one
 * listing per level of depth.
 *
 * Symbolic links are recorded (their target read), never followed. Sockets, FIFOs and devices, and
 * entries a manifest cannot record (a name that breaks the path rules, a link whose target is not
 * UTF-8), stop the walk with an error naming the file, or are handed to `onSpecial` / `onBadName`
 * (verify and diff report them beside everything else).
 *
 * Names are read without loss. A folder is listed with Node's UTF-8 names; only when one of them
 * holds U+FFFD (which Node writes for bytes that are not UTF-8) is it listed again as bytes and
 * decoded by `decodeNameBytes` (PEP 383: each such byte becomes U+DC80–U+DCFF), so the common case
 * costs nothing more. Such a name is never a valid path, but it can be reported exactly, matched
 * by `--exclude` patterns (each undecodable byte is one character, matched by `?` or `*`), and a
 * folder of that name is still entered (by its bytes) so that every file in it is reported.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Ignore } from 'ignore';
import { checkExcludePatterns } from '../core/excludes.js';
import { SnapError, type SnapErrorCode } from '../core/errors.js';
import { compareUtf8, validatePath, MAX_PATH_BYTES } from '../core/paths.js';
import { decodeNameBytes, encodeNameBytes, hasRawBytes, rawBytesHex } from '../core/name-bytes.js';
import { escapeForTerminal } from '../core/display.js';
import { ioError } from './errors.js';
import type { LayoutRule } from './store-layout.js';

/**
 * The dataset paths (`/`-separated, relative to `absRoot`) of those of `dirs` that lie strictly
 * inside it; the others (the root itself, a folder outside it) are dropped.
 */
export function foldersInside(absRoot: string, dirs: readonly string[] | undefined): Set<string> {
  return new Set((dirs ?? []).map((d) => relative(absRoot, d)).filter((r) => r !== '' && !r.startsWith('..') && !r.startsWith(sep)).map((r) => r.split(sep).join('/')));
}

/** One item of a dataset in manifest order. */
export type WalkItem = { kind: 'file'; path: string } | { kind: 'symlink'; path: string; target: string };

/** Options of {@link walkDataset}. */
export interface WalkOptions {
  /** gitignore-syntax patterns to leave out (SPEC §8 `--exclude`). */
  excludes?: readonly string[];
  /** Absolute folders to leave out wholly, wherever they are. */
  skipDirs?: readonly string[];
  /**
   * Absolute folders of stores that lie inside the dataset: of each, only the store's own layout is
   * left out (io/store-layout.ts); every other entry under it — a planted `.snap/poison.jpg`, a
   * folder `.snap/cat/` — is walked as data. A folder outside the dataset costs nothing.
   */
  stores?: readonly string[];
  /** With `stores`: their `tmp/` is the walker's own (the seal that holds their lock), left out whole. */
  ownStoreTmp?: boolean;
  /** What to do with a socket, FIFO or device: throw (seal) or report it (verify). */
  onSpecial?: (path: string, what: string) => void;
  /**
   * What to do with an entry a manifest cannot record: a name that breaks the path rules
   * (`PATH_*`) or a symbolic link whose target is not UTF-8 (`MANIFEST_BAD_TARGET`). Throw by
   * default; the error's `details` are {@link nameDetails} of its path (and, for
   * `MANIFEST_BAD_TARGET`, its `target` and `targetHex`), the same whether thrown or handed over.
   * `entry` is what the entry is (a link's target read even when its name is refused), undefined
   * when that cannot be told.
   */
  onBadName?: (err: SnapError, entry?: RefusedEntry) => void;
  /**
   * Walk only the subtree of this folder (a dataset path of printable ASCII, '' for the root), for
   * a walk that lists the rest elsewhere (`parallel-walk.ts`): the items keep their full paths.
   */
  from?: string;
}

/**
 * The `details` of an error or report about a name found on disk: `path` (decoded without loss,
 * see `decodeNameBytes`) and, when the name holds bytes that are not UTF-8, `pathHex`, the hex of
 * its exact bytes.
 */
export function nameDetails(path: string): { path: string; pathHex?: string } {
  const hex = rawBytesHex(path);
  return hex === undefined ? { path } : { path, pathHex: hex };
}

/** A character no path may hold: a control character, or a lone surrogate (a byte that is not UTF-8). */
const REFUSED_CHAR = /[\x00-\x1f\x7f]|[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;
/**
 * A character that would not print as itself (see `escapeForTerminal`): `?` in a suggested pattern.
 * Tested on one character (a code point, or a lone surrogate) at a time: `u` mode, where
 * `[\ud800-\udfff]` finds only a lone surrogate, and Default_Ignorable_Code_Point holds the
 * bidirectional controls and every other character with no glyph.
 */
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\p{Default_Ignorable_Code_Point}]/u;

/**
 * An `--exclude` argument that leaves out a refused entry: its path, or the path down to its first
 * segment holding a character no path may hold (then a folder, with a trailing `/`), anchored with
 * `/`, with each character that would not print as itself written `?` and gitignore's special
 * characters escaped, in shell single quotes: `'/sub/bad?.csv'`.
 */
export function suggestExclude(path: string): string {
  const segs = path.split('/');
  let k = segs.findIndex((seg) => REFUSED_CHAR.test(seg));
  if (k < 0) k = segs.length - 1;
  const glob = (seg: string) => {
    let out = '';
    for (const ch of seg) out += /[\\*?[\]]/.test(ch) ? `\\${ch}` : UNPRINTABLE.test(ch) ? '?' : ch;
    return out.replace(/ +$/, (sp) => '\\ '.repeat(sp.length));
  };
  const pattern = `/${segs.slice(0, k + 1).map(glob).join('/')}${k < segs.length - 1 ? '/' : ''}`;
  return `'${pattern.replace(/'/g, "'\\''")}'`;
}

/** Why a manifest cannot record an entry, by the code of the error the walk reports it with. */
const REFUSED: Partial<Record<string, string>> = {
  PATH_CONTROL_CHAR: 'its name holds a control character',
  PATH_INVALID_UTF8: 'its name is not valid UTF-8',
  PATH_TOO_LONG: `its path is longer than ${MAX_PATH_BYTES} bytes`,
  MANIFEST_BAD_TARGET: 'it is a symbolic link whose target is not valid UTF-8',
};

/** Why a manifest cannot record an entry the walk reported with `code` (for a report line). */
export function whyRefused(code: string): string {
  return REFUSED[code] ?? 'its name breaks the path rules';
}

/** The error for an entry a manifest cannot record, naming it (escaped) and saying how to leave it out. */
function refused(code: SnapErrorCode, path: string, fallback: string, details: Record<string, unknown> = {}): SnapError {
  const hint = suggestExclude(path);
  return new SnapError(
    code,
    `${escapeForTerminal(path)}: ${REFUSED[code] ?? fallback}, so snap cannot record it; rename it, or leave it out with --exclude ${hint}`,
    { ...nameDetails(path), ...details },
  );
}

/** A folder or file on disk: its path as a string, or as bytes when it is not valid UTF-8. */
type DiskPath = string | Buffer;

/** `parent/name` on disk; bytes when either part holds bytes that are not UTF-8. */
function childPath(parent: DiskPath, name: string): DiskPath {
  if (typeof parent === 'string' && !hasRawBytes(name)) return join(parent, name);
  return Buffer.concat([typeof parent === 'string' ? Buffer.from(parent) : parent, Buffer.from('/'), encodeNameBytes(name)]);
}

/** A disk path as text for a message. */
const shown = (p: DiskPath): string => (typeof p === 'string' ? p : decodeNameBytes(p));

function describeSpecial(d: Dirent<string | Buffer>): string | undefined {
  if (d.isFIFO()) return 'a FIFO (named pipe)';
  if (d.isSocket()) return 'a socket';
  if (d.isBlockDevice()) return 'a block device';
  if (d.isCharacterDevice()) return 'a character device';
  return undefined;
}

/**
 * Whether `--exclude` patterns fold letter case: no. They match as git applies .gitignore on a
 * case-sensitive file system (`core.ignorecase` false, git-config(1)): `tmp/` leaves out `tmp/`,
 * not `TMP/`. The `ignore` package folds case by default, which let a signed `--exclude tmp/` hide
 * a planted `TMP/poison.csv` from verify (docs/FORMAT.md §4, `predicate.excludes`).
 */
export const EXCLUDE_IGNORECASE = false;

/**
 * What an entry the walk refused (see `WalkOptions.onBadName`) is, beside its name: a regular file,
 * a symbolic link with its target (decoded without loss, see `decodeNameBytes`; `targetHex` the hex
 * of its exact bytes when they are not UTF-8), or a socket, FIFO or device (`what`, e.g. `a FIFO
 * (named pipe)`).
 */
export type RefusedEntry = { type: 'file' } | { type: 'symlink'; target: string; targetHex?: string } | { type: 'special'; what: string };

/** A symbolic link's entry: `targetHex` only for a target that is not UTF-8. */
function linkEntry(target: string): RefusedEntry {
  const hex = rawBytesHex(target);
  return hex === undefined ? { type: 'symlink', target } : { type: 'symlink', target, targetHex: hex };
}

/**
 * What the entry at `abs` is (its target read, for a link), for a report of a refused name; undefined
 * for an entry of no known type, or a link whose target can no longer be read (the name is still
 * reported).
 */
async function refusedEntry(abs: DiskPath, d: Dirent<string | Buffer>): Promise<RefusedEntry | undefined> {
  if (d.isFile()) return { type: 'file' };
  if (d.isSymbolicLink()) {
    try {
      return linkEntry(decodeNameBytes(await fsp.readlink(abs, { encoding: 'buffer' })));
    } catch {
      return undefined;
    }
  }
  const what = describeSpecial(d);
  return what === undefined ? undefined : { type: 'special', what };
}

/** A compiled matcher for `--exclude` patterns (gitignore syntax, via the `ignore` package, loaded only when needed; case-sensitive: {@link EXCLUDE_IGNORECASE}). */
export async function excludeMatcher(patterns: readonly string[]): Promise<Ignore | undefined> {
  if (patterns.length === 0) return undefined;
  checkExcludePatterns(patterns, 'USAGE');
  const { default: ignore } = await import('ignore');
  try {
    const ig = ignore({ ignorecase: EXCLUDE_IGNORECASE }).add([...patterns]);
    ig.ignores('x'); // the package compiles its regular expressions on first use: fail here, not mid-walk
    return ig;
  } catch (e) {
    throw new SnapError('USAGE', `invalid --exclude pattern: ${(e as Error).message}`);
  }
}

interface Frame {
  rel: string; // folder path relative to the root ('' for the root)
  abs: DiskPath; // the folder on disk
  entries: { name: string; dir: boolean; dirent: Dirent<string | Buffer>; rules?: readonly LayoutRule[] }[];
  i: number;
}

/**
 * One folder's entries and their names (decoded without loss). Synchronous on purpose: one folder
 * listing is short, and it spares a thread-pool round trip per folder while the hashing workers
 * keep every core busy.
 */
function listDir(abs: DiskPath, rel: string): { dirents: Dirent<string | Buffer>[]; names: string[] } {
  try {
    if (typeof abs === 'string') {
      const list = readdirSync(abs, { withFileTypes: true });
      // Node decodes names as UTF-8 and writes U+FFFD for bytes that are not: only then list the bytes.
      let lossy = false;
      for (const d of list) if (d.name.includes('\uFFFD')) lossy = true;
      if (!lossy) return { dirents: list, names: list.map((d) => d.name) };
    }
    const list = readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    return { dirents: list, names: list.map((d) => decodeNameBytes(d.name)) };
  } catch (e) {
    throw ioError(e, shown(abs), rel === '' ? 'cannot read the dataset folder' : 'cannot read folder');
  }
}

async function resolveUnknown(abs: DiskPath, d: Dirent<string | Buffer>): Promise<Dirent<string | Buffer>> {
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
  const skip = foldersInside(absRoot, opts.skipDirs);
  // A store inside the dataset: its layout's rules, loaded only then (the usual store lies outside).
  const stores = foldersInside(absRoot, opts.stores);
  const layout = stores.size > 0 ? await import('./store-layout.js') : undefined;
  const layoutOpts = { ownTmp: opts.ownStoreTmp === true };

  /** `rules`: the folder is a store's root or a folder of its layout, whose entries are judged by them. */
  const open = async (rel: string, abs: DiskPath, rules?: readonly LayoutRule[]): Promise<Frame> => {
    const { dirents, names } = listDir(abs, rel);
    const entries: Frame['entries'] = [];
    for (let k = 0; k < dirents.length; k++) {
      let d = dirents[k] as Dirent<string | Buffer>;
      const name = names[k] as string;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (!(d.isFile() || d.isDirectory() || d.isSymbolicLink())) d = await resolveUnknown(childPath(abs, name), d);
      const dir = d.isDirectory();
      let childRules: readonly LayoutRule[] | undefined;
      if (layout) {
        if (rules) {
          const v = layout.judgeStoreEntry(rules, name, dir ? 'folder' : d.isFile() ? 'file' : 'other');
          if (v === 'store') continue;
          if (v !== 'data') childRules = v;
        } else if (dir && stores.has(childRel)) childRules = layout.storeLayout(layoutOpts);
      }
      if (dir && skip.has(childRel)) continue;
      if (ig && ig.ignores(dir ? `${childRel}/` : childRel)) continue;
      entries.push(childRules ? { name, dir, dirent: d, rules: childRules } : { name, dir, dirent: d });
    }
    entries.sort((a, b) => compareUtf8(a.dir ? `${a.name}/` : a.name, b.dir ? `${b.name}/` : b.name));
    return { rel, abs, entries, i: 0 };
  };
  /** An entry a manifest cannot record: reported to onBadName, or thrown. */
  const bad = (e: SnapError, entry?: RefusedEntry) => {
    if (!opts.onBadName) throw e;
    opts.onBadName(e, entry);
  };

  const from = opts.from ?? '';
  // A walk from a folder of a store's layout (parallel-walk.ts hands over the store's root) goes on judging by its rules.
  let fromRules: readonly LayoutRule[] | undefined;
  if (layout && from !== '') {
    const inside = [...stores].find((s) => from === s || from.startsWith(`${s}/`));
    if (inside !== undefined) {
      const v = from === inside ? layout.storeLayout(layoutOpts) : layout.judgeStorePath(from.slice(inside.length + 1).split('/'), 'folder', layoutOpts);
      if (v === 'store') return;
      if (v !== 'data') fromRules = v;
    }
  }
  const stack: Frame[] = [await open(from, from === '' ? absRoot : `${absRoot}/${from}`, fromRules)];
  let run: WalkItem[] = [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.i >= top.entries.length) {
      stack.pop();
      continue;
    }
    const { name, dir, dirent, rules } = top.entries[top.i++] as Frame['entries'][number];
    const rel = top.rel === '' ? name : `${top.rel}/${name}`;
    if (dir) {
      if (run.length > 0) {
        yield run;
        run = [];
      }
      // Entered even when its name is refused (by its bytes if need be): each file in it is reported.
      stack.push(await open(rel, childPath(top.abs, name), rules));
      continue;
    }
    try {
      validatePath(rel);
    } catch (e) {
      if (!(e instanceof SnapError)) throw e;
      // What the entry is, read only when it is reported (verify, diff): a thrown error names the path alone.
      bad(refused(e.code, rel, e.message), opts.onBadName ? await refusedEntry(childPath(top.abs, name), dirent) : undefined);
      continue;
    }
    if (dirent.isFile()) {
      run.push({ kind: 'file', path: rel });
    } else if (dirent.isSymbolicLink()) {
      const abs = childPath(top.abs, name) as string; // a valid path: all text
      let target: string;
      try {
        target = await fsp.readlink(abs);
        if (target.includes('\uFFFD')) target = decodeNameBytes(await fsp.readlink(abs, { encoding: 'buffer' }));
      } catch (e) {
        throw ioError(e, abs, 'cannot read symbolic link');
      }
      if (hasRawBytes(target)) {
        bad(refused('MANIFEST_BAD_TARGET', rel, 'its target cannot be recorded', { target, targetHex: rawBytesHex(target) }), linkEntry(target));
        continue;
      }
      run.push({ kind: 'symlink', path: rel, target });
    } else {
      const what = describeSpecial(dirent) ?? 'not a regular file, folder or symbolic link';
      if (opts.onSpecial) opts.onSpecial(rel, what);
      else {
        throw new SnapError('FILE_UNSUPPORTED_TYPE', `${escapeForTerminal(rel)} is ${what}; snap records only regular files and symbolic links. Remove it or --exclude it.`, { path: rel });
      }
    }
    if (run.length >= 1024) {
      yield run;
      run = [];
    }
  }
  if (run.length > 0) yield run;
}
