/**
 * The store's audit log, `STORE/log.jsonl`: one line per seal, verify, export, import, restore and
 * fsck, each line chained to the one before it by SHA-256 (a hash chain), and `STORE/log.head`, an
 * anchor naming the last line, so that removing the last lines shows too.
 *
 * A line is the RFC 8785 (JCS) serialization of an {@link AuditLine}, then `\n`:
 * ```
 * {"command":"verify","exit":0,"host":"ci-7","outcome":"ok","pid":4242,"prev":"<64 hex>",
 *  "ref":"fraud-train@model-v3","seq":12,"snapshot":"sha256:…","time":"2026-11-21T10:00:00Z","user":"ci"}
 * ```
 * - `seq` is 1 for the first line and one more for each line after it;
 * - `prev` is the hex SHA-256 of the previous line's bytes including its `\n` (64 zeros for seq 1);
 * - `log.head` is `{"seq":N,"sha256":"<hex SHA-256 of line N including its \n>"}` + `\n`, replaced
 *   atomically after every append.
 *
 * Appends are serialized by `STORE/log.lock` (O_EXCL, stale-pid takeover), write the whole line
 * with one write(2) on an O_APPEND descriptor, and fsync before the head moves. A line torn by a
 * crash (bytes after the last `\n`) is never rewritten or cut off: the next append first ends it
 * with `\n` and records `recovered: {bytes, sha256}` of those bytes, chaining past them to the last
 * whole line (see docs/DESIGN.md, "Audit log").
 *
 * What the chain and the head prove, and what they cannot: see {@link verifyLog}.
 */
import { promises as fsp, constants as FS, existsSync, lstatSync } from 'node:fs';
import { createHash, hash as oneShotHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseJsonStrict } from '../core/json-strict.js';
import { canonicalJson } from '../core/canonical-json.js';
import { formatTime } from '../core/statement.js';
import { acquireLockFile, fsyncDir, writeFileAtomic } from './store.js';
import { ioError } from './errors.js';
import { SnapError } from '../core/errors.js';
import { LEAF_PREFIX } from '../core/merkle.js';

/** File names in the store root. */
export const LOG_FILE = 'log.jsonl';
export const LOG_HEAD_FILE = 'log.head';
export const LOG_LOCK_FILE = 'log.lock';

/** `prev` of the first line: 64 zeros. */
export const GENESIS_PREV = '0'.repeat(64);

/** How long an append waits for another appender before giving up (ms). Appends take milliseconds. */
const LOCK_WAIT_MS = 10_000;

/** What a command did: `ok`; `failed` (an integrity verdict, exit 1); `error` (it could not run). */
export type AuditOutcome = 'ok' | 'failed' | 'error';

/** What a caller records; the log adds time, user, host, pid, seq and prev. */
export interface AuditEntry {
  /** The command: `seal`, `verify`, `export`, `import`, `restore`, `fsck`, … */
  command: string;
  /** The snapshot as the user named it (or `NAME@VERSION` when known). */
  ref?: string;
  /** Snapshot id, `sha256:<hex>`. */
  snapshot?: string;
  outcome: AuditOutcome;
  /** The command's exit code (SPEC §8). */
  exit: number;
  /** The SnapError code when `outcome` is `error`. */
  error?: string;
  /** More facts (counts, archive path, …); any JSON value without undefined members. */
  details?: Record<string, unknown>;
  /** The clock (tests). */
  now?: Date;
}

/** One line of the log, as parsed. Unknown members are kept (later versions may add some). */
export interface AuditLine {
  seq: number;
  prev: string;
  /** RFC 3339 UTC, whole seconds. */
  time: string;
  command: string;
  ref?: string;
  snapshot?: string;
  outcome: AuditOutcome;
  exit?: number;
  error?: string;
  details?: Record<string, unknown>;
  user: string;
  host: string;
  pid: number;
  /** Set when this append found a torn line before it (a crash mid-append) and sealed it off. */
  recovered?: { bytes: number; sha256: string };
  [member: string]: unknown;
}

/** The result of {@link appendAudit}: never an exception. */
export type AppendResult =
  | { written: true; seq: number }
  /** `noStore`: there is no store at that path, so there is no log to write (not a failure). */
  | { written: false; reason: string; noStore?: boolean };

/** The anchor `log.head`. */
export interface LogHead {
  seq: number;
  sha256: string;
}

/**
 * The largest seq a line or `log.head` can have: an S3 store keys each line by its seq in 12 decimal
 * digits (FORMAT.md §23.1, `log/<seq>.jsonl`), so a line past it could not be listed. A head or line
 * claiming more is none snap wrote (a forged head of seq 2^53 − 1 stopped every append; one of
 * 10^12 sent every later line to keys no reader lists).
 */
export const MAX_LOG_SEQ = 999_999_999_999;

const HEX64 = /^[0-9a-f]{64}$/;
const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'failed', 'error']);
const NL = 0x0a;

function sha256hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * Open a file of the log (`log.jsonl`, `log.head`, a checkpoint) with O_NONBLOCK and O_NOFOLLOW, and
 * refuse anything but a regular file: a FIFO planted in its place would otherwise block the open or
 * the read forever — and every command appends to the log —, and a symbolic link planted in its
 * place made every command append its line to whatever file the link named (a dangling link created
 * it), and `snap log` print the lines of any file the user could read. On a regular file O_NONBLOCK
 * changes nothing.
 * @throws the open's error (`ELOOP`: a symbolic link), or one with code `EINVAL` (not a regular file)
 */
export async function openLogFile(path: string, flags: number = FS.O_RDONLY, mode?: number): Promise<fsp.FileHandle> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, flags | (FS.O_NONBLOCK ?? 0) | (FS.O_NOFOLLOW ?? 0), mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'ELOOP') throw Object.assign(new Error("it is a symbolic link; snap does not follow links in place of the store's log files (remove it)"), { code: 'ELOOP' });
    throw e;
  }
  try {
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
  return fh;
}

/**
 * Whether anything is at `path`, a symbolic link included (not followed): a link planted as a log
 * file is then opened by {@link openLogFile} and refused, not taken for a log that is not there.
 */
export function logFileThere(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true; // ENOTDIR, EACCES …: the open says what is wrong
  }
}

/** A valid `log.head` is one short line; a longer file is not read past this. */
export const MAX_HEAD_BYTES = 4096;

/** The login name of this process: os.userInfo(), else $USER, else `uid:<n>`. */
function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? `uid:${process.getuid?.() ?? '?'}`;
  }
}

/**
 * Parse and check one line (without its `\n`): canonical JSON of an object with the required
 * members of the right types. Returns undefined for anything else.
 */
export function parseAuditLine(bytes: Uint8Array): AuditLine | undefined {
  // Not a JSON object: refused before the parser (whose failure costs an exception per line).
  if (bytes.length < 2 || bytes[0] !== 0x7b || bytes[bytes.length - 1] !== 0x7d) return undefined;
  let text: string;
  let v: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    v = parseJsonStrict(text, 'INTEGRITY_FAILURE', 'an audit log line');
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(o.seq) && (o.seq as number) >= 1 && (o.seq as number) <= MAX_LOG_SEQ &&
    typeof o.prev === 'string' && HEX64.test(o.prev) &&
    typeof o.time === 'string' && typeof o.command === 'string' &&
    typeof o.outcome === 'string' && OUTCOMES.has(o.outcome) &&
    typeof o.user === 'string' && typeof o.host === 'string' && Number.isSafeInteger(o.pid) &&
    (o.exit === undefined || Number.isSafeInteger(o.exit)) &&
    (o.ref === undefined || typeof o.ref === 'string') &&
    (o.snapshot === undefined || typeof o.snapshot === 'string');
  if (!ok) return undefined;
  try {
    if (canonicalJson(o) !== text) return undefined; // snap writes only canonical lines
  } catch {
    return undefined;
  }
  return o as AuditLine;
}

/** `log.head`'s text as its seq (1 … {@link MAX_LOG_SEQ}) and hash, or undefined when it is not one snap writes. */
export function parseHead(text: string): LogHead | undefined {
  try {
    const o = parseJsonStrict(text, 'INTEGRITY_FAILURE', 'log.head') as { seq: number; sha256: string } | null;
    if (o && Number.isSafeInteger(o.seq) && o.seq >= 1 && o.seq <= MAX_LOG_SEQ && typeof o.sha256 === 'string' && HEX64.test(o.sha256)) return { seq: o.seq, sha256: o.sha256 };
  } catch {
    /* unreadable anchor */
  }
  return undefined;
}

/**
 * Read `STORE/log.head`.
 * @returns the anchor; `null` when there is none; `undefined` when it exists but is not a valid anchor
 */
export async function readLogHead(storeRoot: string): Promise<LogHead | null | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await openLogFile(join(storeRoot, LOG_HEAD_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return undefined; // unreadable, or not a regular file (a FIFO is never waited on)
  }
  try {
    const buf = Buffer.alloc(MAX_HEAD_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead > MAX_HEAD_BYTES ? undefined : parseHead(buf.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** The end of the log as an appender sees it. */
interface Tail {
  size: number;
  /** Offset just after the last `\n` (0 when there is none). */
  completeEnd: number;
  /** The last whole line, without its `\n`, when it is at most {@link MAX_LOG_LINE_BYTES} long. */
  last?: Buffer;
  /** Where the last whole line starts when it is longer (no log line can be: it is hashed from the file, never held). */
  longLastStart?: number;
}

/**
 * Read backwards from the end to the last whole line, in 64 KiB blocks, keeping at most
 * {@link MAX_LOG_LINE_BYTES} of it: a planted last line of any length costs time, not memory
 * (held whole, a 300 MiB line made one verify's append take 683 MB).
 */
async function readTail(fh: fsp.FileHandle): Promise<Tail> {
  const size = (await fh.stat()).size;
  const BLOCK = 1 << 16;
  let completeEnd = -1; // offset after the last \n
  let lineStart = -1; // offset after the \n before it
  const parts: Buffer[] = [];
  let kept = 0;
  let long = false;
  const keep = (b: Buffer): void => {
    if (long) return;
    kept += b.length;
    if (kept > MAX_LOG_LINE_BYTES) {
      long = true;
      parts.length = 0;
    } else parts.unshift(Buffer.from(b)); // a copy: not the whole block behind a slice
  };
  let pos = size;
  const buf = Buffer.allocUnsafe(BLOCK); // one block, reused (kept parts are copies)
  while (pos > 0 && lineStart < 0) {
    const start = Math.max(0, pos - BLOCK);
    const { bytesRead } = await fh.read(buf, 0, pos - start, start);
    const b = buf.subarray(0, bytesRead);
    let end = b.length; // scan b[0..end) from the back
    if (completeEnd < 0) {
      const i = b.lastIndexOf(NL);
      if (i >= 0) {
        completeEnd = start + i + 1;
        end = i;
      } else end = 0;
    }
    if (completeEnd >= 0) {
      const j = end > 0 ? b.lastIndexOf(NL, end - 1) : -1;
      if (j >= 0) {
        lineStart = start + j + 1;
        keep(b.subarray(j + 1, end));
      } else {
        keep(b.subarray(0, end));
        if (start === 0) lineStart = 0;
      }
    }
    pos = start;
  }
  if (completeEnd < 0) return { size, completeEnd: 0 };
  if (long) return { size, completeEnd, longLastStart: lineStart };
  return { size, completeEnd, last: Buffer.concat(parts) };
}

/** The block {@link eachBlock} reads a file through. */
const SCAN_BLOCK_BYTES = 1 << 20;

/**
 * Give `each` the bytes of a file from `offset` to `end` (exclusive; default: its end), read
 * through one reused buffer of {@link SCAN_BLOCK_BYTES}: memory stays at one block whatever the
 * length (a stream's chunks, each a new buffer, piled up faster than they were collected).
 */
async function eachBlock(path: string, offset: number, end: number | undefined, each: (b: Buffer) => void): Promise<void> {
  const fh = await openLogFile(path);
  try {
    const buf = Buffer.allocUnsafe(SCAN_BLOCK_BYTES);
    for (let pos = offset; ; ) {
      const want = end === undefined ? buf.length : Math.min(buf.length, end - pos);
      if (want <= 0) break;
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) break;
      each(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Number of `\n` in the file (used only when the last line is unreadable and the head is too). */
async function countLines(path: string): Promise<number> {
  let n = 0;
  await eachBlock(path, 0, undefined, (c) => {
    for (let i = c.indexOf(NL); i >= 0; i = c.indexOf(NL, i + 1)) n++;
  });
  return n;
}

/** SHA-256 of a file's bytes from `offset` to `end` (exclusive; default: its end). */
async function hashFrom(path: string, offset: number, end?: number): Promise<string> {
  const h = createHash('sha256');
  await eachBlock(path, offset, end, (c) => h.update(c));
  return h.digest('hex');
}

/**
 * Working copies of S3 stores (their roots) → the seq in the greatest line key listed in the bucket
 * (FORMAT.md §23.5: `log/<seq>.jsonl`, read in key order). The next line's seq must be above it,
 * or its key would sort before that line's: a planted key far ahead (`log/000000099999.jsonl`
 * holding junk, or a line whose seq is not its key's) stayed last in every later pull, so every
 * later line chained to it and none to the line before it. Set by the S3 store's session, for the
 * one process; a local store has none.
 */
const seqFloors = new Map<string, number>();
/**
 * How far past the log's own end (its last line's seq, or `log.head`'s) a floor may take the next
 * line: a planted key farther ahead is not followed (the next line sorts before it and chains to the
 * line before, as if the key were not there). Followed without a bound, one key planted at
 * `log/999999999999.jsonl` left no seq for any later line: every append failed. Past this jump an
 * attacker needs a key planted for every 1,000 lines to move the log along.
 */
export const MAX_SEQ_FLOOR_JUMP = 1000;

/** Set (or, `undefined`, clear) the seq floor of the working copy at `storeRoot`: see {@link seqFloors}. */
export function setLogSeqFloor(storeRoot: string, seq: number | undefined): void {
  if (seq === undefined) seqFloors.delete(storeRoot);
  else seqFloors.set(storeRoot, seq);
}

/** Where the next line goes: its seq and prev, and the torn bytes it must seal off, if any. */
interface ChainPoint {
  /** The file's size before the append. */
  size: number;
  seq: number;
  prev: string;
  /** The file does not end with `\n`: write one before the new line. */
  sealOff: boolean;
  /** Torn bytes after the last whole line, which the new line records. */
  recovered?: { bytes: number; sha256: string };
}

/**
 * Decide seq and prev of the next line (the caller holds the log lock). See {@link appendAudit}.
 */
async function findChainPoint(logPath: string, head: LogHead | undefined, floor = 0): Promise<ChainPoint> {
  const fh = await openLogFile(logPath);
  let tail: Tail;
  let last: Buffer | undefined;
  let torn: number;
  let tornHash: string | undefined;
  try {
    tail = await readTail(fh);
    last = tail.last;
    torn = tail.size - tail.completeEnd;
    if (torn > 0 && torn < 1 << 20) {
      const frag = Buffer.alloc(torn);
      await fh.read(frag, 0, torn, tail.completeEnd);
      if (parseAuditLine(frag)) {
        // Only the \n is missing from a whole line: it is the last line, not debris.
        last = frag;
        torn = 0;
      } else tornHash = sha256hex(frag);
    }
  } finally {
    await fh.close();
  }
  let prev = GENESIS_PREV;
  let lastSeq = 0;
  if (last !== undefined) {
    prev = sha256hex(last, Buffer.from([NL]));
    const parsed = parseAuditLine(last);
    if (parsed) {
      lastSeq = parsed.seq;
      // The head names this very line: chain to what it was when written, so an edit of it shows.
      if (head && head.seq === lastSeq) prev = head.sha256;
    } else lastSeq = await countLines(logPath);
  } else if (tail.longLastStart !== undefined) {
    // Longer than any log line can be: malformed, chained to by the digest of its bytes and newline.
    prev = await hashFrom(logPath, tail.longLastStart, tail.completeEnd);
    lastSeq = await countLines(logPath);
  }
  // A head ahead of the log (last lines removed) leaves a seq gap for verifyLog to report.
  const end = Math.max(lastSeq, head ? head.seq : 0);
  const seq = (floor > end && floor - end <= MAX_SEQ_FLOOR_JUMP ? floor : end) + 1;
  if (seq > MAX_LOG_SEQ) {
    throw new SnapError('LOG_INCONSISTENT', `the audit log cannot go past seq ${MAX_LOG_SEQ}${head && head.seq > lastSeq ? `: ${LOG_HEAD_FILE} names seq ${head.seq} but the log ends at seq ${lastSeq} (someone else wrote it; snap log --verify reports the gap)` : ''}`, { seq });
  }
  const sealOff = tail.size > tail.completeEnd;
  return { size: tail.size, seq, prev, sealOff, ...(torn > 0 ? { recovered: { bytes: torn, sha256: tornHash ?? (await hashFrom(logPath, tail.completeEnd)) } } : {}) };
}

function whyNotWritten(e: unknown, storeRoot: string): string {
  const errno = (e as { details?: { errno?: string }; code?: string })?.details?.errno ?? (e as NodeJS.ErrnoException)?.code ?? '';
  if (errno === 'EROFS' || errno === 'EACCES' || errno === 'EPERM') return `the store ${storeRoot} is read-only for this user (${errno})`;
  return (e as Error)?.message ?? String(e);
}

/**
 * The canonical JSON text of a log line, at most {@link MAX_LOG_LINE_BYTES} − 1 bytes with its
 * `\n`: a longer line is one `log --verify` and every reader refuse as none snap wrote (malformed,
 * and the head then past the log's end). When the line's `details` make it longer (a command's
 * list of thousands of long names), they are replaced by `{ "omitted": true, "bytes": N }`, N the
 * UTF-8 length of their canonical JSON; the command's own `--json` still has them.
 * @throws Error when the line is too long even without its details (not reached: every other member is short)
 */
function boundedLineText(line: Record<string, unknown>): string {
  const text = canonicalJson(line);
  if (Buffer.byteLength(text, 'utf8') < MAX_LOG_LINE_BYTES) return text;
  const omitted = { ...line, details: { omitted: true, bytes: Buffer.byteLength(canonicalJson(line.details ?? null), 'utf8') } };
  const shorter = canonicalJson(omitted);
  if (Buffer.byteLength(shorter, 'utf8') < MAX_LOG_LINE_BYTES) return shorter;
  throw Object.assign(new Error(`a log line of ${Buffer.byteLength(shorter, 'utf8')} bytes, more than the ${MAX_LOG_LINE_BYTES} a log line may have`), { code: 'E2BIG' });
}

/**
 * Append one line to the store's audit log, chained to the line before it, then move `log.head`.
 *
 * Never throws: a store that is missing, read-only (e.g. a shared mount verified by another user),
 * locked for more than 10 s, or failing, gives `{ written: false, reason }` and changes nothing.
 * A torn last line left by a crash is sealed off with `\n` and recorded as `recovered` in the new
 * line (its bytes stay in the file). When `log.head` names the current last line, the new line's
 * `prev` is taken from the head, so an edit of that last line stays visible after the append; when
 * the head is ahead of the log (last lines removed), `seq` continues from the head, leaving a gap
 * that {@link verifyLog} reports.
 * @param storeRoot the store folder (its `store.json` must exist)
 * @param env       environment for the user-name fallback ($USER)
 * @param opts.lockWaitMs how long to wait for another appender (default 10 000 ms)
 */
export async function appendAudit(storeRoot: string, entry: AuditEntry, env: NodeJS.ProcessEnv = process.env, opts: { lockWaitMs?: number } = {}): Promise<AppendResult> {
  return appendAuditFields(
    storeRoot,
    {
      time: formatTime(entry.now ?? new Date()),
      command: entry.command,
      ...(entry.ref !== undefined ? { ref: entry.ref } : {}),
      ...(entry.snapshot !== undefined ? { snapshot: entry.snapshot } : {}),
      outcome: entry.outcome,
      exit: entry.exit,
      ...(entry.error !== undefined ? { error: entry.error } : {}),
      ...(entry.details !== undefined ? { details: entry.details } : {}),
      user: currentUser(env),
      host: hostname(),
      pid: process.pid,
    },
    opts,
  );
}

/**
 * Append one line of the given members (all but the chain's: `seq`, `prev` and `recovered` are
 * set here, as {@link appendAudit} sets them) to the store's audit log, and move `log.head`: the
 * line an S3 store's command re-chains onto lines another command appended since it read the log
 * (store/remote-session.ts). Never throws, as {@link appendAudit}.
 * @param fields the line's other members (`time`, `command`, `outcome`, … as a line has them)
 */
export async function appendAuditFields(storeRoot: string, fields: Record<string, unknown>, opts: { lockWaitMs?: number } = {}): Promise<AppendResult> {
  if (!existsSync(join(storeRoot, 'store.json'))) return { written: false, reason: `no store at ${storeRoot}`, noStore: true };
  const logPath = join(storeRoot, LOG_FILE);
  let release: (() => Promise<void>) | undefined;
  try {
    release = await acquireLockFile(join(storeRoot, LOG_LOCK_FILE), `the audit log of ${storeRoot}`, opts.lockWaitMs ?? LOCK_WAIT_MS);
    const created = !existsSync(logPath);
    const fh = await openLogFile(logPath, FS.O_WRONLY | FS.O_APPEND | FS.O_CREAT, 0o644);
    let seq: number;
    try {
      const head = (await readLogHead(storeRoot)) ?? undefined;
      const at = await findChainPoint(logPath, head, seqFloors.get(storeRoot));
      seq = at.seq;
      const { seq: _seq, prev: _prev, recovered: _recovered, ...others } = fields;
      const line: Record<string, unknown> = {
        ...others,
        prev: at.prev,
        seq,
        ...(at.recovered ? { recovered: at.recovered } : {}),
      };
      const bytes = Buffer.from((at.sealOff ? '\n' : '') + boundedLineText(line) + '\n', 'utf8');
      let n = 0;
      let failure: unknown;
      try {
        ({ bytesWritten: n } = await fh.write(bytes, 0, bytes.length, null));
      } catch (e) {
        failure = e;
      }
      if (n !== bytes.length) {
        await fh.truncate(at.size).catch(() => {}); // we hold the lock: take back a short write
        throw failure ?? Object.assign(new Error(`short write (${n} of ${bytes.length} bytes)`), { code: 'EIO' });
      }
      await fh.sync();
      if (created) await fsyncDir(storeRoot);
      const lineHash = sha256hex(bytes.subarray(at.sealOff ? 1 : 0));
      await writeFileAtomic(join(storeRoot, LOG_HEAD_FILE), canonicalJson({ seq, sha256: lineHash }) + '\n', { mode: 0o644 }).catch(() => {
        /* the line is written; the next append moves the head past it */
      });
    } finally {
      await fh.close();
    }
    return { written: true, seq };
  } catch (e) {
    return { written: false, reason: whyNotWritten(ioError(e, logPath, 'cannot write the audit log'), storeRoot) };
  } finally {
    await release?.().catch(() => {});
  }
}

/**
 * A line longer than this is never one snap wrote (a torn line is parsed only below it too, see
 * {@link findChainPoint}): its bytes are hashed as they stream, not kept, so a planted line of any
 * length costs one pass and this much memory.
 */
export const MAX_LOG_LINE_BYTES = 1 << 20;
/**
 * The shortest line {@link parseAuditLine} accepts (149 bytes): every required member, each as
 * short as it can be. A shorter complete line is malformed whatever it holds; under a checkpoint
 * it can only be a torn append that the next line sealed off and recorded (see {@link LeafSink}).
 */
export const MIN_LOG_LINE_BYTES = canonicalJson({ command: '', host: '', outcome: 'ok', pid: 0, prev: GENESIS_PREV, seq: 1, time: '', user: '' }).length;
/** Bytes kept of a longer line, to show its start. */
const LONG_LINE_PREFIX = 256;

/** One physical line of the log file, exactly as stored. */
export interface RawLogLine {
  /** 1-based line number in the file. */
  line: number;
  /**
   * The bytes without the `\n`; for a line longer than {@link MAX_LOG_LINE_BYTES} (`long` set),
   * only its first bytes.
   */
  bytes: Buffer;
  /** The line's length in bytes, without the `\n`. */
  size: number;
  /**
   * For a line longer than {@link MAX_LOG_LINE_BYTES}: SHA-256 of its bytes, and its RFC 9162 leaf
   * hash when it was asked for ({@link LogScanOptions}.leaves covers the line).
   */
  long?: { sha256: string; leaf?: Buffer };
  /** False for a last line with no `\n` (torn). */
  complete: boolean;
}

/**
 * What a pass over the log ({@link logLines}) hashes of the RFC 9162 tree of its lines (each
 * complete line without its `\n` a leaf, in file order), for a checker of its checkpoints: the
 * leaves of the first {@link upTo} complete lines only — a line beyond every size asked for is
 * counted, not hashed, so that lines planted after the checkpoints cost a newline search each.
 */
export interface LeafSink {
  /** Leaves wanted: those of the first `upTo` complete lines (Infinity: all). */
  readonly upTo: number;
  /** The leaf hash SHA-256(0x00 ‖ line) of the next complete line (32 bytes, the sink's to keep). */
  leaf(hash: Uint8Array): void;
  /** The pass read the whole file: it has `lines` complete lines (a torn last line is none). */
  end(lines: number): void;
  /** The pass failed with `e` (thrown to the consumer too). */
  fail(e: unknown): void;
  /**
   * Complete line `line` (among the first `upTo`) is shorter than any log line
   * ({@link MIN_LOG_LINE_BYTES}; it is `bytes` long) and the line after it does not seal it off as
   * a torn append (its `recovered` names other bytes, or there is none): no checkpoint
   * `log checkpoint` signs covers it, since that refuses a log with such a line. No leaf is given
   * after it (the pass stops hashing: a checkpoint planted over 10^7 empty lines cost 23 CPU-s),
   * and the sink's leaves from `line` on make no root. Called at most once a pass.
   */
  cut(line: number, bytes: number): void;
}

/** How {@link logLines} reads the log. */
export interface LogScanOptions {
  /** Hash the leaves of the first lines into this sink, and tell it how many complete lines there are. */
  leaves?: LeafSink;
  /**
   * Hand over only the lines holding `mark` (bytes without `\n`; none: no line for it), the lines longer than
   * {@link MAX_LOG_LINE_BYTES}, a torn last line, and every line while the consumer keeps
   * `wantNext` set (it may set or clear it as it handles a line); every line when absent.
   */
  select?: { mark?: Uint8Array; wantNext: boolean };
}

/** Bytes read from the log at a time. */
const LOG_READ_BYTES = 1 << 20;
const hasOneShot = typeof oneShotHash === 'function';
/** SHA-256 of `b` (node:crypto's one-shot where there is one: about half the cost of a Hash object for a short line). */
const sha256Of = (b: Uint8Array): Buffer => (hasOneShot ? (oneShotHash('sha256', b, 'buffer') as Buffer) : createHash('sha256').update(b).digest());

/**
 * The physical lines of a log file, in order, in one pass over the file with memory bounded by
 * about {@link MAX_LOG_LINE_BYTES} + 1 MiB whatever the lines' lengths (a longer line is hashed as
 * it is read, never kept). The file is read into one buffer, reused: a line's `bytes` are valid
 * only until the consumer asks for the next line (copy them to keep them). With `opts.leaves`,
 * each wanted leaf is hashed in place (no copy of the line), and with `opts.select` the lines not
 * selected cost a search for `\n` and for the mark over the buffer, no allocation: 10^7 planted
 * empty lines after the checkpoints are counted in a fraction of a second.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
export function logLines(path: string, opts: LogScanOptions = {}): AsyncGenerator<RawLogLine> {
  return scanLines(path, opts) as AsyncGenerator<RawLogLine>; // without `visit`, only lines are yielded
}

/**
 * {@link logLines} with each line handed to `visit` as it is found, in the same pass, instead of
 * yielded: no await per line, and one {@link RawLogLine} object reused (its fields, and `bytes`,
 * are valid only during the call). For a consumer that looks at every line (`verifyLog`): a
 * planted log of 10^7 one-byte lines costs a few CPU-seconds, not a minute.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
export async function visitLogLines(path: string, opts: LogScanOptions, visit: (l: RawLogLine) => void): Promise<void> {
  for await (const _ of visitLogChunks(path, opts, visit)) {
    // every line went to visit
  }
}

/**
 * {@link visitLogLines}, pausing after the lines of each read of the file (up to 1 MiB) were
 * visited: a consumer that turns lines into items hands them on between reads, its memory bounded
 * by what one read holds (provenance `attestRecords`).
 * @throws SnapError `NOT_FOUND` | `IO_ERROR`
 */
export function visitLogChunks(path: string, opts: LogScanOptions, visit: (l: RawLogLine) => void): AsyncGenerator<unknown> {
  return scanLines(path, opts, visit);
}

/** The pass of {@link logLines} (lines yielded) and {@link visitLogChunks} (lines given to `visit`, undefined yielded after each read). */
async function* scanLines(path: string, opts: LogScanOptions, visit?: (l: RawLogLine) => void): AsyncGenerator<RawLogLine | undefined> {
  const reused: RawLogLine = { line: 0, bytes: Buffer.alloc(0), size: 0, complete: true };
  const sink = opts.leaves;
  const select = opts.select;
  /** Leaves hashed: those of the first `hashUpTo` lines (lowered by a short line not sealed off). */
  let hashUpTo = sink?.upTo ?? 0;
  /** A short line among them, waiting for the line after it: does that seal it off? */
  let short: { line: number; size: number; sha256: string } | undefined;
  /** Decide on the short line before `next` (the line after it; undefined: none, or one longer than any log line). */
  const settleShort = (next: Uint8Array | undefined): void => {
    const p = short as NonNullable<typeof short>;
    short = undefined;
    const e = next !== undefined && next.length >= MIN_LOG_LINE_BYTES ? parseAuditLine(next) : undefined;
    if (e?.recovered && e.recovered.bytes === p.size && e.recovered.sha256 === p.sha256) return;
    hashUpTo = Math.min(hashUpTo, p.line - 1);
    sink?.cut(p.line, p.size);
  };
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await openLogFile(path);
  } catch (e) {
    const err = ioError(e, path, 'cannot read the audit log');
    sink?.fail(err);
    throw err;
  }
  // buf[0] is never data: the byte before a line (its prefix slot) is always in the buffer.
  const buf = Buffer.allocUnsafe(1 + MAX_LOG_LINE_BYTES + LOG_READ_BYTES);
  let end = 1; // data is buf[1..end)
  let start = 1; // start of the line being read
  let line = 0; // complete lines so far
  /** Where the next mark is in buf[from..end) (-1: none there), valid while ≥ start. */
  let mark = -2;
  /** A line longer than MAX_LOG_LINE_BYTES being read: its hashes and first bytes. */
  let long: { plain: ReturnType<typeof createHash>; leaf?: ReturnType<typeof createHash>; prefix: Buffer; size: number } | undefined;
  const startLong = (from: number, to: number): void => {
    if (short) settleShort(undefined); // a line longer than any log line seals nothing off
    const leafWanted = line + 1 <= hashUpTo;
    long = { plain: createHash('sha256'), ...(leafWanted ? { leaf: createHash('sha256').update(Buffer.from([LEAF_PREFIX])) } : {}), prefix: Buffer.from(buf.subarray(from, from + LONG_LINE_PREFIX)), size: 0 };
    addLong(from, to);
  };
  const addLong = (from: number, to: number): void => {
    const l = long as NonNullable<typeof long>;
    const part = buf.subarray(from, to);
    l.plain.update(part);
    l.leaf?.update(part);
    l.size += to - from;
  };
  const endLong = (complete: boolean): RawLogLine => {
    const l = long as NonNullable<typeof long>;
    long = undefined;
    const sha256 = l.plain.digest('hex');
    const leaf = complete ? l.leaf?.digest() : undefined;
    if (complete) {
      line++;
      if (leaf) sink?.leaf(leaf);
    }
    return { line: complete ? line : line + 1, bytes: l.prefix, size: l.size, long: { sha256, ...(leaf ? { leaf } : {}) }, complete };
  };
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, end, Math.min(LOG_READ_BYTES, buf.length - end), null);
      if (bytesRead === 0) break;
      const data = buf.subarray(0, end + bytesRead);
      let from = end; // where to look for the next \n
      end += bytesRead;
      if (long) {
        // Continue a long line: its bytes are hashed and dropped.
        const i = data.indexOf(NL, from);
        if (i < 0) {
          addLong(from, end);
          start = end = 1;
          mark = -2;
          continue;
        }
        addLong(from, i);
        if (visit) visit(endLong(true));
        else yield endLong(true);
        start = from = i + 1;
        mark = -2;
      }
      let i: number;
      while ((i = data.indexOf(NL, from)) >= 0) {
        from = i + 1;
        if (i - start > MAX_LOG_LINE_BYTES) {
          startLong(start, i);
          if (visit) visit(endLong(true));
          else yield endLong(true);
          start = from;
          continue;
        }
        line++;
        if (short) settleShort(buf.subarray(start, i));
        if (line <= hashUpTo) {
          if (i - start < MIN_LOG_LINE_BYTES) short = { line, size: i - start, sha256: sha256hex(buf.subarray(start, i)) };
          const before = buf[start - 1] as number;
          buf[start - 1] = LEAF_PREFIX;
          (sink as LeafSink).leaf(sha256Of(buf.subarray(start - 1, i)));
          buf[start - 1] = before;
        }
        let wanted = select === undefined;
        if (!wanted && select) {
          if (mark !== -1 && mark < start) mark = select.mark ? data.indexOf(select.mark, start) : -1;
          wanted = select.wantNext || (mark >= 0 && mark < i);
        }
        if (wanted && visit) {
          reused.line = line;
          reused.bytes = buf.subarray(start, i);
          reused.size = i - start;
          visit(reused);
        } else if (wanted) yield { line, bytes: buf.subarray(start, i), size: i - start, complete: true };
        start = from;
      }
      // The line not yet complete: moved to the front, or hashed as a long one.
      if (end - start > MAX_LOG_LINE_BYTES) {
        startLong(start, end);
        start = end = 1;
      } else {
        buf.copyWithin(1, start, end);
        end -= start - 1;
        start = 1;
      }
      mark = -2;
      if (visit) yield undefined;
    }
  } catch (e) {
    const err = ioError(e, path, 'cannot read the audit log');
    sink?.fail(err);
    throw err;
  } finally {
    await fh.close().catch(() => {});
  }
  if (short) settleShort(undefined);
  sink?.end(line);
  const last = long ? endLong(false) : end > start ? { line: line + 1, bytes: buf.subarray(start, end), size: end - start, complete: false } : undefined;
  if (last && visit) visit(last);
  else if (last) yield last;
}

/** One line of the log for display: parsed, or not (`entry` absent). */
export interface LogRow {
  line: number;
  entry?: AuditLine;
  /** Set for a line that is not a valid log line (malformed, or torn when `complete` is false). */
  raw?: string;
  complete: boolean;
}

/**
 * The audit log's lines for display (not verified: see {@link verifyLog}), one at a time in file
 * order, so that a log of any length — a planted one of 30 million empty lines included — is
 * listed in bounded memory (each line's bytes are bounded by {@link MAX_LOG_LINE_BYTES}; `raw`
 * keeps at most 200 characters). Nothing when the store has no log yet.
 * @param opts.maxLines stop after this many lines (a second pass over a log that grew meanwhile)
 * @throws SnapError `IO_ERROR` when the log exists but cannot be read
 */
export async function* logRows(storeRoot: string, opts: { maxLines?: number } = {}): AsyncGenerator<LogRow> {
  const path = join(storeRoot, LOG_FILE);
  if (!logFileThere(path)) return;
  for await (const l of logLines(path)) {
    if (opts.maxLines !== undefined && l.line > opts.maxLines) return;
    const entry = l.complete && !l.long ? parseAuditLine(l.bytes) : undefined;
    yield entry ? { line: l.line, entry, complete: true } : { line: l.line, raw: l.bytes.toString('utf8').slice(0, 200), complete: l.complete };
  }
}

/**
 * Read the audit log for display (not verified: see {@link verifyLog}), every line at once: memory
 * grows with the log ({@link logRows} streams it).
 * @returns every line in file order; [] when the store has no log yet
 * @throws SnapError `IO_ERROR` when the log exists but cannot be read
 */
export async function readLog(storeRoot: string): Promise<LogRow[]> {
  const rows: LogRow[] = [];
  for await (const r of logRows(storeRoot)) rows.push(r);
  return rows;
}

/** Kinds of problem {@link verifyLog} finds. */
export type LogProblemKind = 'edited' | 'removed' | 'reordered' | 'inserted' | 'malformed' | 'truncated' | 'head-mismatch';

/** One problem found in the log. `line` is the 1-based line in the file it was seen at. */
export interface LogProblem {
  line: number;
  kind: LogProblemKind;
  /** The seq concerned (for `removed`: the first missing one). */
  seq?: number;
  /** For `removed`: the last missing seq. */
  toSeq?: number;
  message: string;
}

/**
 * Problems {@link verifyLog} lists; the rest are counted (`unlisted`). A planted log of millions of
 * empty lines would otherwise make millions of problems: minutes of work, gigabytes, and a report
 * too long to print.
 */
export const MAX_LOG_PROBLEMS = 1000;

/** The result of {@link verifyLog}. */
export interface LogVerification {
  /** True when every line is whole, well-formed, in order and chained, and the head agrees. */
  ok: boolean;
  /** Lines in the file (a torn last line included). */
  lines: number;
  /** The highest seq seen (0 for an empty log). */
  lastSeq: number;
  /** The anchor, when there is a valid one. */
  head?: LogHead;
  /** The problems found, in line order: the first {@link MAX_LOG_PROBLEMS} of them. */
  problems: LogProblem[];
  /** Problems found beyond the first {@link MAX_LOG_PROBLEMS}: counted, not listed. */
  unlisted: number;
  /** Torn lines that a later append sealed off and recorded (crash recovery; not problems). */
  recovered: { line: number; bytes: number }[];
  /** The log's last line (1-based) as parsed, when it is complete and well-formed (what it says is unsigned, as every line's). */
  last?: { line: number; entry: AuditLine };
}

/**
 * Check the audit log's hash chain and its head.
 *
 * Finds: an `edited` line (the next line's `prev` is not its hash, or the first line's `prev` is
 * not 64 zeros); `removed` lines (a gap in `seq`; at the end, the head names a seq past the last
 * line); `reordered` lines (a `seq` lower than the line before it); `inserted` lines (a `seq` seen
 * before); `malformed` lines (not canonical JSON of a log line); a `truncated` last line (no `\n`:
 * an append was interrupted; the next append seals it off); `head-mismatch` (no head for a
 * non-empty log, an unreadable head, or a head whose hash is not that of the line it names).
 *
 * Limit: the chain and head are not secret and not signed. Whoever can write the store can rewrite
 * the whole log from any line on and write a matching head; that is only caught against a copy of
 * the head kept elsewhere (see docs/DESIGN.md, "Audit log").
 * @param opts.leaves the same pass hashes the leaves a check of the log's checkpoints needs
 *   (trust/log-checkpoints `prepareCheckpointCheck`): `log --verify` reads the log once
 * @throws SnapError `IO_ERROR` when the log exists but cannot be read
 */
export async function verifyLog(storeRoot: string, opts: { leaves?: LeafSink } = {}): Promise<LogVerification> {
  const path = join(storeRoot, LOG_FILE);
  const problems: LogProblem[] = [];
  let unlisted = 0;
  /** Add a problem (made by `p` when a function: only when listed) to the list, or count it once the list is full; true when listed. */
  const note = (p: LogProblem | (() => LogProblem)): boolean => {
    if (problems.length < MAX_LOG_PROBLEMS) return problems.push(typeof p === 'function' ? p() : p) > 0;
    unlisted++;
    return false;
  };
  const recovered: LogVerification['recovered'] = [];
  const head = await readLogHead(storeRoot);
  /** seq → where it is and the hash of its bytes with `\n`. */
  const bySeq = new Map<number, { line: number; hash: string }>();
  /** Lines in file order (compact): for the chain check after the pass. */
  const order: { line: number; seq: number; prev: string; afterMalformed: boolean }[] = [];
  let lines = 0;
  let lastSeq = 0;
  let last: LogVerification['last'];
  let prevSeqInFile = 0;
  /**
   * The previous physical line when it was malformed: its byte length and a copy of its bytes, or
   * the hash of a long one (a torn line sealed off; hashed only when the next line says so).
   */
  let malformedBefore: { line: number; bytes: number; sha256?: string; listed: boolean } | undefined;
  /** The bytes of the malformed line before, when not long (one buffer, reused). */
  let copy: Buffer | undefined;
  if (!logFileThere(path)) opts.leaves?.end(0);
  else {
    await visitLogLines(path, opts.leaves ? { leaves: opts.leaves } : {}, (l) => {
      lines = l.line;
      last = undefined;
      if (!l.complete) {
        note({ line: l.line, kind: 'truncated', message: `line ${l.line} has no newline (${l.size} bytes): an append was interrupted; the next append will seal it off and record it` });
        return;
      }
      const e = l.long ? undefined : parseAuditLine(l.bytes);
      if (!e) {
        const line = l.line;
        const listed = note(() => ({ line, kind: 'malformed', message: `line ${line} is not a valid log line (not canonical JSON with seq, prev, time, command, outcome, user, host and pid)` }));
        if (!l.long) l.bytes.copy((copy ??= Buffer.allocUnsafe(MAX_LOG_LINE_BYTES)), 0);
        malformedBefore = { line: l.line, bytes: l.size, ...(l.long ? { sha256: l.long.sha256 } : {}), listed };
        return;
      }
      if (e.recovered && malformedBefore && malformedBefore.line === l.line - 1 && e.recovered.bytes === malformedBefore.bytes && e.recovered.sha256 === (malformedBefore.sha256 ?? sha256hex((copy as Buffer).subarray(0, malformedBefore.bytes)))) {
        // The malformed line before is a torn append that this line sealed off and recorded.
        if (malformedBefore.listed) {
          const i = problems.findIndex((p) => p.line === l.line - 1 && p.kind === 'malformed');
          if (i >= 0) problems.splice(i, 1);
        } else unlisted--;
        recovered.push({ line: l.line - 1, bytes: e.recovered.bytes });
      }
      last = { line: l.line, entry: e };
      const hash = sha256hex(l.bytes, Buffer.from([NL]));
      if (bySeq.has(e.seq)) {
        note({ line: l.line, kind: 'inserted', seq: e.seq, message: `line ${l.line} repeats seq ${e.seq} of line ${bySeq.get(e.seq)?.line}: a line was copied or inserted` });
      } else {
        bySeq.set(e.seq, { line: l.line, hash });
        if (e.seq <= prevSeqInFile) note({ line: l.line, kind: 'reordered', seq: e.seq, message: `line ${l.line} has seq ${e.seq} after seq ${prevSeqInFile}: lines were moved` });
        order.push({ line: l.line, seq: e.seq, prev: e.prev, afterMalformed: malformedBefore?.line === l.line - 1 && !e.recovered });
      }
      prevSeqInFile = Math.max(prevSeqInFile, e.seq);
      lastSeq = Math.max(lastSeq, e.seq);
      malformedBefore = undefined;
    });
  }
  // The chain, by seq: line s must hold the hash of line s-1, wherever that line is.
  const present = [...bySeq.keys()].sort((a, b) => a - b);
  const below = (s: number): number => {
    let lo = 0;
    let hi = present.length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((present[mid] as number) < s) {
        best = present[mid] as number;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  };
  for (const o of order) {
    if (o.seq === 1) {
      if (o.prev !== GENESIS_PREV) note({ line: o.line, kind: 'edited', seq: 1, message: `line ${o.line} (seq 1) does not start the chain (prev is not 64 zeros): it was edited, or lines before it were removed` });
      continue;
    }
    const before = bySeq.get(o.seq - 1);
    if (before) {
      if (before.hash !== o.prev) note({ line: before.line, kind: 'edited', seq: o.seq - 1, message: `line ${before.line} (seq ${o.seq - 1}) was edited: line ${o.line} recorded another hash for it` });
    } else if (!o.afterMalformed) {
      const from = below(o.seq) + 1;
      note({ line: o.line, kind: 'removed', seq: from, toSeq: o.seq - 1, message: `seq ${from}${from < o.seq - 1 ? `–${o.seq - 1}` : ''} missing before line ${o.line}: ${o.seq - from === 1 ? 'a line was' : 'lines were'} removed` });
    }
  }
  // The head: it names the last line written; lines removed from the end leave it ahead.
  const nonEmpty = lines > 0;
  if (head === undefined) {
    note({ line: lines, kind: 'head-mismatch', message: `${LOG_HEAD_FILE} is not a valid anchor ({"seq":N,"sha256":"<hex>"})` });
  } else if (head === null) {
    if (nonEmpty) note({ line: lines, kind: 'head-mismatch', message: `${LOG_HEAD_FILE} is missing, so lines removed from the end could not be seen; it is written after every append` });
  } else if (head.seq > lastSeq) {
    note({ line: lines + 1, kind: 'removed', seq: lastSeq + 1, toSeq: head.seq, message: `${LOG_HEAD_FILE} names seq ${head.seq} but the log ends at seq ${lastSeq}: the last ${head.seq - lastSeq === 1 ? 'line was' : `${head.seq - lastSeq} lines were`} removed` });
  } else {
    const named = bySeq.get(head.seq);
    if (named && named.hash !== head.sha256) note({ line: named.line, kind: 'head-mismatch', seq: head.seq, message: `line ${named.line} (seq ${head.seq}) does not have the hash ${LOG_HEAD_FILE} recorded: it was edited (or ${LOG_HEAD_FILE} was)` });
  }
  problems.sort((a, b) => a.line - b.line);
  return { ok: problems.length === 0 && unlisted === 0, lines, lastSeq, ...(head ? { head } : {}), problems, unlisted, recovered, ...(last ? { last } : {}) };
}
