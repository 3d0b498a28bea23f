/**
 * The git state of a working tree, read from its `.git` files directly: no `git` process is run,
 * so no hook, fsmonitor or other configured program can run either. Only what a provenance record
 * needs is read: HEAD's commit, its branch, and the `origin` remote's URL (without credentials).
 * Every file read is small and bounded; anything unexpected gives "no git state", never an error.
 */
import { promises as fsp } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { stripUserInfo, type GitState } from '../core/provenance.js';
import { SnapError } from '../core/errors.js';
import { readSmallFile } from '../io/small-file.js';

/** Largest `.git` file read (HEAD, a ref, `commondir`, `config`); `packed-refs` may be larger. */
const MAX_GIT_FILE_BYTES = 1024 * 1024;
const MAX_PACKED_REFS_BYTES = 16 * 1024 * 1024;
/** Most folders walked up looking for `.git`. */
const MAX_DEPTH = 64;
/** Most symbolic refs followed from HEAD. */
const MAX_SYMREFS = 5;
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The text of the regular file `path` of at most `max` bytes, else undefined. Opened without
 * blocking (`readSmallFile`): a FIFO planted as `.git/HEAD` (the working tree may be the
 * dataset, which whoever supplies the data can write) blocked open(2) for ever, in a thread that
 * SIGTERM does not stop. Read at most `max` + 1 bytes, so a file that grew after its stat is refused too.
 */
async function readSmall(path: string, max = MAX_GIT_FILE_BYTES): Promise<string | undefined> {
  try {
    const buf = await readSmallFile(path, max + 1, 'cannot read the git file', () => new SnapError('IO_ERROR', 'not a regular file'));
    return buf.length > max ? undefined : buf.toString('utf8');
  } catch {
    return undefined;
  }
}

/** The git folder of the working tree holding `start` (following a `.git` file's `gitdir:`), or undefined. */
async function findGitDir(start: string): Promise<string | undefined> {
  let dir = resolve(start);
  for (let i = 0; i < MAX_DEPTH; i++) {
    const dotgit = join(dir, '.git');
    const st = await fsp.stat(dotgit).catch(() => undefined);
    if (st?.isDirectory()) return dotgit;
    if (st?.isFile()) {
      const m = /^gitdir: (.+)$/m.exec((await readSmall(dotgit)) ?? '');
      if (!m) return undefined;
      const g = (m[1] as string).trim();
      return isAbsolute(g) ? g : resolve(dir, g);
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

/** The value of `[remote "origin"] url` in a git config file. */
function originUrl(config: string): string | undefined {
  let inOrigin = false;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inOrigin = /^\[remote\s+"origin"\]$/.test(line);
      continue;
    }
    const m = inOrigin ? /^url\s*=\s*(.+)$/.exec(line) : null;
    if (m) return (m[1] as string).trim();
  }
  return undefined;
}

async function resolveGitRef(gitDir: string, commonDir: string, ref: string): Promise<string | undefined> {
  for (const base of [gitDir, commonDir]) {
    const text = await readSmall(join(base, ...ref.split('/')));
    if (text !== undefined) return text.trim();
  }
  const packed = await readSmall(join(commonDir, 'packed-refs'), MAX_PACKED_REFS_BYTES);
  for (const line of packed?.split('\n') ?? []) {
    const [hex, name] = line.trim().split(' ');
    if (name === ref && hex && COMMIT_RE.test(hex)) return hex;
  }
  return undefined;
}

/**
 * The git state of the working tree holding `cwd`: HEAD's commit, its branch, and the `origin`
 * URL with any user name or password removed. Undefined outside a git working tree, before the
 * first commit, or when the files are not as expected.
 */
export async function readGitState(cwd: string): Promise<GitState | undefined> {
  const gitDir = await findGitDir(cwd);
  if (!gitDir) return undefined;
  const common = (await readSmall(join(gitDir, 'commondir')))?.trim();
  const commonDir = common ? (isAbsolute(common) ? common : resolve(gitDir, common)) : gitDir;
  let head = (await readSmall(join(gitDir, 'HEAD')))?.trim();
  let ref: string | undefined;
  for (let i = 0; head !== undefined && head.startsWith('ref: ') && i < MAX_SYMREFS; i++) {
    ref = head.slice(5).trim();
    if (!/^refs\/[A-Za-z0-9._\/+-]{1,250}$/.test(ref) || ref.split('/').includes('..')) return undefined;
    head = await resolveGitRef(gitDir, commonDir, ref);
  }
  if (head === undefined || !COMMIT_RE.test(head)) return undefined;
  const url = originUrl((await readSmall(join(commonDir, 'config'))) ?? '');
  const repository = url !== undefined && url.length <= 2048 && !/[\x00-\x1f\x7f-\x9f]/.test(url) ? stripUserInfo(url) : undefined;
  return { commit: head, ...(ref ? { ref } : {}), ...(repository ? { repository } : {}) };
}
