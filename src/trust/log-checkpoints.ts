/**
 * The signed audit log: an RFC 9162 Merkle tree over the lines of `STORE/log.jsonl` (each complete
 * line, without its `\n`, is a leaf, in file order) and signed checkpoints of it in the C2SP
 * tlog-checkpoint / signed-note format (core/signed-note.ts), kept in `STORE/log.checkpoints/`,
 * one file per tree size (`<size, 16 digits>.checkpoint`).
 *
 * A checkpoint commits to the first N lines of the log. Rewriting any of them — together with
 * `log.head`, which the unsigned hash chain cannot detect — changes the root of the first N lines,
 * so it fails as soon as one checkpoint exists; a copy of a checkpoint kept off the machine
 * (`log checkpoint` prints it) catches even a rewrite of the checkpoints folder.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SnapError, isSnapError } from '../core/errors.js';
import { EMPTY_ROOT, MerkleTreeBuilder } from '../core/merkle.js';
import { bytesEqual, toBase64 } from '../core/encoding.js';
import type { PrivateKey, PublicKey } from '../core/keys.js';
import { formatCheckpoint, formatNote, parseCheckpoint, parseNote, signNoteLine, verifyNote, MAX_NOTE_BYTES, type Checkpoint, type Note } from '../core/signed-note.js';
import { LOG_FILE, LOG_LOCK_FILE, MIN_LOG_LINE_BYTES, logFileThere, logLines, openLogFile, verifyLog, type AuditLine, type LeafSink } from '../io/audit-log.js';
import { nodeHashNative } from '../io/native-hash.js';
import { checkInterrupted } from '../io/interrupt.js';
import { acquireLockFile, fsyncDir, openStore, writeFileAtomic } from '../io/store.js';
import { ioError } from '../io/errors.js';
import { swapFileForTest } from '../io/test-swap.js';
import { readAtMost } from '../io/small-file.js';
import { formatTime } from '../core/statement.js';
import type { TrustedState } from './state.js';

/** The folder of checkpoints in a store. */
export const CHECKPOINTS_DIR = 'log.checkpoints';
/** A checkpoint file's name: its tree size in 16 digits, so that names sort as sizes. */
export const CHECKPOINT_NAME = /^(\d{16})\.checkpoint$/;
/** Most checkpoint files read. */
export const MAX_CHECKPOINTS = 10_000;
/** How long a checkpoint waits for a log append in progress (ms). */
const LOCK_WAIT_MS = 10_000;

/** One checkpoint found in a store or a file. */
export interface CheckpointFile {
  source: string;
  note: Note;
  checkpoint: Checkpoint;
}

/** The file of the checkpoint at `size`. */
function checkpointPath(storeRoot: string, size: number): string {
  return join(storeRoot, CHECKPOINTS_DIR, `${String(size).padStart(16, '0')}.checkpoint`);
}

/** What {@link logRoots} found: the log's complete lines, and RFC 9162 roots of its first lines. */
export interface LogRoots {
  /** Complete lines (leaves) of the log. */
  lines: number;
  /**
   * Root of the first n lines, for each asked n ≤ {@link lines}, and for n = {@link lines} itself
   * (when > 0) unless only the sizes asked were wanted ({@link logRoots} `whole: false`). n = 0, when asked, is the empty tree's root
   * (SHA-256 of nothing, RFC 9162 §2.1.1), which every log extends.
   */
  roots: Map<number, Uint8Array>;
  /**
   * The first line among those hashed that no checkpoint snap signs can cover (io `LeafSink.cut`:
   * shorter than any log line, and not a torn append sealed off), with its length in bytes: no
   * root is made at its number or above.
   */
  short?: { line: number; bytes: number };
}

/**
 * The roots of the log's first lines at given sizes, gathered from the leaves a pass over the log
 * hands it (a {@link LeafSink} for io `logLines`), so that a command that reads the log for
 * another purpose too (impact's and verify-model's attest lines, `log --verify`'s chain) reads it
 * once. Only the leaves of the first max(sizes) lines are asked for — or all of them, with
 * `whole`, for the root of the whole log: no root beyond the largest size is ever compared.
 */
export class LogRootsCollector implements LeafSink {
  readonly upTo: number;
  private readonly want: Set<number>;
  private readonly roots = new Map<number, Uint8Array>();
  private readonly tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  private readonly whole: boolean;
  private outcome: { lines: number } | { error: unknown } | undefined;
  private short: { line: number; bytes: number } | undefined;

  constructor(sizes: readonly number[], opts: { whole?: boolean } = {}) {
    this.want = new Set(sizes);
    if (this.want.has(0)) this.roots.set(0, EMPTY_ROOT);
    this.whole = opts.whole === true;
    this.upTo = this.whole ? Infinity : sizes.reduce((m, n) => Math.max(m, n), 0);
  }

  leaf(hash: Uint8Array): void {
    if (this.short) return;
    this.tree.appendLeafHash(hash);
    if (this.want.has(this.tree.size)) this.roots.set(this.tree.size, this.tree.root());
  }

  end(lines: number): void {
    this.outcome = { lines };
  }

  fail(e: unknown): void {
    this.outcome = { error: e };
  }

  cut(line: number, bytes: number): void {
    this.short ??= { line, bytes };
    for (const n of this.roots.keys()) if (n >= line) this.roots.delete(n);
  }

  /** Whether the roots at each of `sizes` are among those it gathers. */
  gathers(sizes: readonly number[]): boolean {
    return sizes.every((n) => this.want.has(n));
  }

  /** Whether a pass over the log ended (read to its end, or failed). */
  get done(): boolean {
    return this.outcome !== undefined;
  }

  /**
   * The roots, once a pass ended.
   * @throws the pass's error, when it failed; `INTERNAL` when no pass ended
   */
  result(): LogRoots {
    const o = this.outcome;
    if (o === undefined) throw new SnapError('INTERNAL', 'no pass over the audit log ended');
    if ('error' in o) throw o.error;
    if (this.short) return { lines: o.lines, roots: this.roots, short: this.short };
    if (this.whole && o.lines > 0) this.roots.set(o.lines, this.tree.root());
    return { lines: o.lines, roots: this.roots };
  }
}

/**
 * RFC 9162 roots of the first n complete lines of the log (each line without its `\n` a leaf, in
 * file order), for each n of `sizes` and of the whole log, in one streaming pass: memory O(log
 * lines) — no leaf is kept. With `whole: false`, only the roots at `sizes` are made: a line beyond
 * the largest is counted, not hashed, so a log planted with millions of (empty) lines after its
 * checkpoints costs a newline search a line.
 * @throws SnapError `IO_ERROR`
 */
export async function logRoots(storeRoot: string, sizes: readonly number[], opts: { whole?: boolean } = {}): Promise<LogRoots> {
  const c = new LogRootsCollector(sizes, { whole: opts.whole ?? true });
  await hashLog(storeRoot, c);
  return c.result();
}

/**
 * One pass over the store's log for `sink` alone (no line handed to anyone): its leaves, and its
 * count of complete lines (0 when there is no log). An error of the pass is the sink's too.
 * @throws SnapError `IO_ERROR`
 */
export async function hashLog(storeRoot: string, sink: LeafSink): Promise<void> {
  const path = join(storeRoot, LOG_FILE);
  if (!logFileThere(path)) return sink.end(0);
  for await (const l of logLines(path, { leaves: sink, select: { wantNext: false } })) if (!l.complete) break;
}

/**
 * Whether an RFC 9162 consistency proof computed from the log (§2.1.4.1) joins checkpoints `a` and
 * `b` (0 < a.size, b.size ≤ the log's lines): such a proof verifies (§2.1.4.2) exactly when both
 * roots are the log's roots at their sizes, since the verifier rebuilds both roots from the proof,
 * which the log's own leaves determine. So it is decided from the roots, without building the proof:
 * building one per pair cost O(lines) hashes each, and up to {@link MAX_CHECKPOINTS} planted
 * checkpoints multiplied that.
 */
function joined(a: Checkpoint, b: Checkpoint, roots: ReadonlyMap<number, Uint8Array>): boolean {
  if (a.size === b.size) return bytesEqual(a.root, b.root); // the same tree: an empty proof, equal roots
  const ra = roots.get(a.size);
  const rb = roots.get(b.size);
  return ra !== undefined && rb !== undefined && bytesEqual(ra, a.root) && bytesEqual(rb, b.root);
}

/**
 * Read a checkpoint (a signed note whose text is a checkpoint).
 * @throws SnapError `CHECKPOINT_MALFORMED` (naming `source`)
 */
export function readCheckpoint(source: string, bytes: Uint8Array): CheckpointFile {
  try {
    const note = parseNote(bytes);
    return { source, note, checkpoint: parseCheckpoint(note.text) };
  } catch (e) {
    if (!isSnapError(e)) throw e;
    throw new SnapError('CHECKPOINT_MALFORMED', `${source}: ${e.message}`, { path: source });
  }
}

/**
 * Read a checkpoint file (at most 64 KiB, {@link MAX_NOTE_BYTES}): opened once, without blocking,
 * only as a regular file, and read through that descriptor no further than the bound — a file
 * that grows after its size was checked (a sparse hole of gigabytes) is not read to its end.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `CHECKPOINT_MALFORMED`
 */
export async function readCheckpointFile(path: string): Promise<CheckpointFile> {
  let bytes: Buffer;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await openLogFile(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EINVAL') throw new SnapError('CHECKPOINT_MALFORMED', `${path} is not a regular file: not a checkpoint`, { path });
      throw e;
    });
    const st = await fh.stat();
    swapFileForTest('fstat', path);
    const tooLarge = () => new SnapError('CHECKPOINT_MALFORMED', `${path} is larger than ${MAX_NOTE_BYTES} bytes: not a checkpoint`, { path });
    if (st.size > MAX_NOTE_BYTES) throw tooLarge();
    bytes = await readAtMost(fh, MAX_NOTE_BYTES + 1);
    if (bytes.length > MAX_NOTE_BYTES) throw tooLarge(); // it grew after the fstat
  } catch (e) {
    throw ioError(e, path, 'cannot read the checkpoint');
  } finally {
    await fh?.close().catch(() => {});
  }
  return readCheckpoint(path, bytes);
}

/**
 * A checkpoint of the store as {@link storeCheckpoints} keeps it: its origin, size and root only
 * (no extension lines), and its note only for the newest (the largest tree): up to
 * {@link MAX_CHECKPOINTS} planted notes of {@link MAX_NOTE_BYTES} each cost 1.4 GB kept whole.
 */
export interface StoredCheckpoint {
  source: string;
  checkpoint: Checkpoint;
  /** The signed note: only on the newest checkpoint (read another's again with {@link readCheckpointFile}). */
  note?: Note;
}

/**
 * The store's checkpoints, smallest tree first, each read once and kept as a {@link StoredCheckpoint}.
 * A file that is not a checkpoint is returned in `bad` (never skipped silently).
 * @throws SnapError `IO_ERROR`
 */
export async function storeCheckpoints(storeRoot: string): Promise<{ checkpoints: StoredCheckpoint[]; bad: { source: string; message: string }[] }> {
  const dir = join(storeRoot, CHECKPOINTS_DIR);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], bad: [] };
    // A file (or a link to one) in the folder's place: not "does not exist" (ioError's NOT_FOUND),
    // which impact and verify-model took for an error of their own (exit 3), not a problem of the log.
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new SnapError('IO_ERROR', `cannot list the checkpoints: ${dir} is not a folder`, { path: dir, errno: 'ENOTDIR' }, { cause: e });
    throw ioError(e, dir, 'cannot list the checkpoints');
  }
  if (names.length > MAX_CHECKPOINTS) throw new SnapError('CHECKPOINT_MALFORMED', `${dir} holds more than ${MAX_CHECKPOINTS} files`, { path: dir });
  const checkpoints: StoredCheckpoint[] = [];
  const bad: { source: string; message: string }[] = [];
  let newest: CheckpointFile | undefined;
  for (const n of names) {
    const path = join(dir, n);
    const m = CHECKPOINT_NAME.exec(n);
    try {
      const c = await readCheckpointFile(path);
      if (!m || Number(m[1]) !== c.checkpoint.size) bad.push({ source: path, message: `${n} does not name its tree size ${c.checkpoint.size}` });
      else {
        const { origin, size, root } = c.checkpoint;
        // The origin copied: a string split from the note's text may keep that whole text alive.
        checkpoints.push({ source: c.source, checkpoint: { origin: Buffer.from(origin, 'utf8').toString('utf8'), size, root: Uint8Array.from(root), extensions: [] } });
        if (!newest || size > newest.checkpoint.size) newest = c;
      }
    } catch (e) {
      if (!isSnapError(e, 'CHECKPOINT_MALFORMED')) throw e;
      bad.push({ source: path, message: e.message });
    }
  }
  checkpoints.sort((a, b) => a.checkpoint.size - b.checkpoint.size);
  const last = checkpoints[checkpoints.length - 1];
  if (last && newest) last.note = newest.note;
  return { checkpoints, bad };
}

/**
 * The checkpoints this machine has kept (the trusted state's `checkpoints`, trust/state.ts): per
 * log origin, the largest checkpoint it signed or verified signed. The log must still extend it:
 * whoever can write the store can remove the newer checkpoints and rewrite the lines after an
 * older one (which is signed, and which the rewritten log extends), and only a checkpoint kept off
 * the store notices that — one given with `--checkpoint FILE`, or this one.
 */
export interface RememberedCheckpoints {
  /** Where they are kept (the state file), for reports. */
  source: string;
  byOrigin: Readonly<Record<string, { size: number; root: string }>>;
}

/**
 * Keep a checkpoint this machine signed or verified signed in the trusted state, when it covers
 * more lines than the one kept for its origin (a log only grows).
 * @returns true when the state changed
 */
export function rememberCheckpoint(state: TrustedState, c: Checkpoint, now: Date): boolean {
  const kept = state.checkpoints?.[c.origin];
  if (kept && kept.size >= c.size) return false;
  (state.checkpoints ??= {})[c.origin] = { size: c.size, root: toBase64(c.root), seenAt: formatTime(now) };
  return true;
}

/** Most stores whose log origin the trusted state keeps; beyond it the oldest is forgotten (the state stays small). */
export const MAX_LOG_ORIGINS = 10_000;

/**
 * Keep the origin of a store's audit log (`store`: a name it goes by, cli/commands/log.ts
 * `storeIdentities` — its folder's path as given, or its real path — or its `s3://BUCKET/PREFIX/`
 * URL as the S3 store resolves it) in the trusted state, when none is kept for it or `replace` (the
 * user named the origin with `--origin`).
 * @returns true when the state changed
 */
export function rememberLogOrigin(state: TrustedState, store: string, origin: string, now: Date, replace = false): boolean {
  const kept = state.logOrigins?.[store];
  if (kept && (kept.origin === origin || !replace)) return false;
  const all = (state.logOrigins ??= {});
  all[store] = { origin, seenAt: formatTime(now) };
  const stores = Object.keys(all);
  if (stores.length > MAX_LOG_ORIGINS) {
    stores.sort((x, y) => ((all[x] as { seenAt: string }).seenAt < (all[y] as { seenAt: string }).seenAt ? -1 : 1));
    for (const old of stores.slice(0, stores.length - MAX_LOG_ORIGINS)) delete all[old];
  }
  return true;
}

/** Why the log does not extend a kept checkpoint of `lines`… (`ahead`: it has fewer lines; `mismatch`: other lines), or undefined when it does. */
function keptNotExtended(kept: { size: number; root: string }, lines: number, roots: ReadonlyMap<number, Uint8Array>): 'ahead' | 'mismatch' | undefined {
  if (kept.size > lines) return 'ahead';
  const root = roots.get(kept.size);
  return root && toBase64(root) === kept.root ? undefined : 'mismatch';
}

/** What {@link makeCheckpoint} wrote. */
export interface MadeCheckpoint {
  file: string;
  /** The whole note, as written (and to be kept elsewhere). */
  note: string;
  checkpoint: Checkpoint;
  /** False when the checkpoint at this size already carried this key's signature. */
  signed: boolean;
}

/**
 * Sign a checkpoint of the log as it is now (`snap log checkpoint`), under the log's append lock so
 * no line is added meanwhile. Before signing, the log must be an intact hash chain and must still
 * give the root of the newest checkpoint there is: a key never signs over a rewritten log. The
 * origin (also the key name in the signature line, as c2sp.org/tlog-checkpoint recommends) is
 * `origin`, else that of the newest checkpoint, else a new `snap.local/log/<16 random hex>`.
 * A checkpoint of the same size gets the signature added to its note.
 * @throws SnapError `LOG_INCONSISTENT` (the log's chain is broken, or it no longer extends the
 *   newest checkpoint, or a checkpoint of this size has another root or origin) | `CHECKPOINT_MALFORMED` |
 *   `STORE_LOCKED` | `NOT_FOUND` (no store) | `IO_ERROR`
 */
export async function makeCheckpoint(storeRoot: string, key: PrivateKey, opts: { origin?: string; remembered?: RememberedCheckpoints } = {}): Promise<MadeCheckpoint> {
  const store = await openStore(storeRoot);
  const release = await acquireLockFile(join(store.root, LOG_LOCK_FILE), `the audit log of ${store.root}`, LOCK_WAIT_MS, { interruptible: true });
  try {
    const chain = await verifyLog(store.root);
    const broken = chain.problems.filter((p) => p.kind !== 'truncated');
    if (broken.length > 0 || chain.unlisted > 0) throw new SnapError('LOG_INCONSISTENT', `the audit log is not an intact chain (${[...new Set(broken.map((p) => p.kind))].join(', ')}${chain.unlisted > 0 ? `, and ${chain.unlisted} more problems` : ''}): run snap log --verify; nothing was signed`, { problems: broken.length + chain.unlisted });
    const { checkpoints, bad } = await storeCheckpoints(store.root);
    if (bad.length > 0) throw new SnapError('CHECKPOINT_MALFORMED', `${bad[0]?.message}; nothing was signed (run snap log --verify)`, { path: bad[0]?.source });
    const newest = checkpoints[checkpoints.length - 1];
    const origin = opts.origin ?? newest?.checkpoint.origin ?? `snap.local/log/${randomBytes(8).toString('hex')}`;
    const kept = opts.remembered?.byOrigin[origin];
    const log = await logRoots(store.root, [...(newest ? [newest.checkpoint.size] : []), ...(kept ? [kept.size] : [])], { whole: true });
    if (log.lines === 0) throw new SnapError('LOG_INCONSISTENT', 'the audit log is empty: there is nothing to sign', {});
    if (newest) {
      const c = newest.checkpoint;
      const root = log.roots.get(c.size);
      if (!root || !bytesEqual(root, c.root)) throw new SnapError('LOG_INCONSISTENT', c.size === 0 ? `${emptyRootMessage(newest.source)}; nothing was signed` : `the log no longer extends its newest checkpoint (${newest.source}, ${c.size} lines): it was rewritten; nothing was signed`, { path: newest.source });
    }
    // A key never blesses a log rolled back behind a checkpoint this machine signed or verified (its newer checkpoints removed).
    if (kept && keptNotExtended(kept, log.lines, log.roots)) {
      throw new SnapError('LOG_INCONSISTENT', `this machine has kept a checkpoint of ${origin} of ${kept.size} lines (${opts.remembered?.source}), and the log ${kept.size > log.lines ? `has only ${log.lines}` : 'no longer gives its root'}: it was cut or rewritten after it, and the newer checkpoints removed; nothing was signed`, { path: opts.remembered?.source });
    }
    const whole = log.roots.get(log.lines);
    if (!whole) throw new SnapError('LOG_INCONSISTENT', `${shortLineMessage(log.short)}; nothing was signed (run snap log --verify)`, {});
    const checkpoint: Checkpoint = { origin, size: log.lines, root: whole, extensions: [] };
    const text = formatCheckpoint(checkpoint);
    const file = checkpointPath(store.root, checkpoint.size);
    const line = signNoteLine(text, { name: origin, publicKey: key.publicKey, seed: key.seed });
    let note: Note = { text, signatures: [parseNote(`${text}\n${line}`).signatures[0] as Note['signatures'][number]] };
    let signed = true;
    const found = checkpoints.find((c) => c.checkpoint.size === checkpoint.size);
    const same = found && (found.note ? { source: found.source, note: found.note } : await readCheckpointFile(found.source));
    if (same) {
      if (same.note.text !== text) throw new SnapError('LOG_INCONSISTENT', `${same.source} is a checkpoint of the same size with another origin or root; nothing was signed`, { path: same.source });
      if (same.note.signatures.some((s) => s.line === line)) {
        signed = false;
        note = same.note;
      } else note = { text, signatures: [...same.note.signatures, ...note.signatures] };
    }
    const bytes = formatNote(note);
    if (signed) {
      checkInterrupted(); // the last moment to stop with nothing signed
      await fsp.mkdir(join(store.root, CHECKPOINTS_DIR), { recursive: true, mode: 0o755 });
      await writeFileAtomic(file, bytes, { mode: 0o644 });
      await fsyncDir(store.root);
    }
    return { file, note: bytes, checkpoint, signed };
  } finally {
    await release().catch(() => {});
  }
}

/** Why no root is made at or above a short line's number (LogRoots `short`). */
function shortLineMessage(short: LogRoots['short']): string {
  if (!short) return 'the log gives no root at that size';
  return `line ${short.line} of the log is ${short.bytes} bytes, shorter than any log line (${MIN_LOG_LINE_BYTES}), and no line after it seals it off as a torn append: snap signs no checkpoint over such a line`;
}

/** Why a checkpoint of 0 lines is extended by no log: its root is not the empty tree's. */
function emptyRootMessage(source: string): string {
  return `${source} covers 0 lines but its root is not the empty tree's (SHA-256 of nothing, RFC 9162 §2.1.1): it is a checkpoint of no log`;
}

/** One problem {@link verifyCheckpoints} finds. */
export interface CheckpointProblem {
  /**
   * `malformed`: not a checkpoint; `origin`: checkpoints of different logs; `ahead`: a checkpoint of
   * more lines than the log has (lines were removed); `mismatch`: the first N lines no longer give
   * its root (the log was rewritten; for N = 0, its root is not the empty tree's); `inconsistent`: no consistency proof joins two successive
   * checkpoints; `unsigned`: the newest checkpoint has no valid signature by a given key;
   * `bad-signature`: a given key's signature on it fails; `none`: no checkpoint to check;
   * `not-extended`: the log does not extend a checkpoint kept elsewhere.
   */
  kind: 'malformed' | 'origin' | 'ahead' | 'mismatch' | 'inconsistent' | 'unsigned' | 'bad-signature' | 'none' | 'not-extended';
  source: string;
  size?: number;
  message: string;
}

/** The result of {@link verifyCheckpoints}. */
export interface CheckpointVerification {
  ok: boolean;
  /** Complete lines in the log (the tree size now). */
  lines: number;
  checkpoints: number;
  newest?: { source: string; origin: string; size: number; root: string; signedBy: string[] };
  external: { source: string; size: number; extends: boolean; signedBy: string[] }[];
  problems: CheckpointProblem[];
}

/**
 * Check the log against its checkpoints (`snap log --verify --pubkey PUB`, `--checkpoint FILE`):
 * every store checkpoint's root equals that of the first N lines; successive checkpoints are
 * joined by RFC 9162 consistency proofs (computed from the log, verified against the two
 * checkpoints' roots, §2.1.4); with `pubkeys`, the newest checkpoint carries a valid signature by
 * one of them (key name = origin); each `external` checkpoint (kept elsewhere) is extended by the
 * log — and, with `pubkeys`, signed by one of them. With `origin` (the log's name, as C2SP
 * tlog-checkpoint has verifiers configured with it), every checkpoint must name that origin — a
 * log, head and checkpoints copied from another store whose checkpoints the same key signs fail
 * (`origin`) — and this machine's kept checkpoint of that origin is checked even when no checkpoint
 * in the store names it. `originFrom` says where `origin` came from, in the problem's message
 * (default `--origin`; `log --verify` passes the trusted state when the origin is the one this
 * machine kept for the store).
 * @throws SnapError `IO_ERROR`; a malformed `external` checkpoint throws `CHECKPOINT_MALFORMED`
 */
export async function verifyCheckpoints(storeRoot: string, opts: CheckpointCheckOptions): Promise<CheckpointVerification> {
  return (await prepareCheckpointCheck(storeRoot)).finish(opts);
}

/** What {@link verifyCheckpoints} is given. */
export interface CheckpointCheckOptions {
  pubkeys: readonly PublicKey[];
  external: readonly CheckpointFile[];
  remembered?: RememberedCheckpoints;
  origin?: string;
  originFrom?: string;
}

/** A {@link verifyCheckpoints} whose store checkpoints are read, waiting for a pass over the log. */
export interface PreparedCheckpointCheck {
  /**
   * The leaves it expects to need: give it to a pass over the log made for another purpose too
   * (io `logLines`, `verifyLog`, provenance `attestRecords`), so that the log is read once.
   */
  leaves: LogRootsCollector;
  /**
   * The verdict of {@link verifyCheckpoints} with `opts`, on the checkpoints read by the prepare
   * step and the roots `leaves` gathered; when no pass ended, or `opts` asks for roots at sizes
   * `leaves` did not gather (a checkpoint of this machine's other than the one expected), it makes
   * its own pass over the log. Call it once.
   */
  finish(opts: CheckpointCheckOptions): Promise<CheckpointVerification>;
}

/**
 * The checkpoints this machine kept of the logs that `all` name (by origin), and of `origin`; one
 * that is also among `all` (same origin, size and root) is checked with them, and reported once.
 */
function keptToCheck(all: readonly { checkpoint: Checkpoint }[], opts: { remembered?: RememberedCheckpoints; origin?: string }): { origin: string; size: number; root: string }[] {
  return [...new Set([...all.map((c) => c.checkpoint.origin), ...(opts.origin !== undefined ? [opts.origin] : [])])].flatMap((origin) => {
    const k = opts.remembered?.byOrigin[origin];
    const listed = k !== undefined && all.some((c) => c.checkpoint.origin === origin && c.checkpoint.size === k.size && toBase64(c.checkpoint.root) === k.root);
    return k && !listed ? [{ origin, ...k }] : [];
  });
}

/**
 * {@link verifyCheckpoints} in two steps, around a pass over the log that the caller makes for
 * another purpose too: the store's checkpoints are read now, and the roots at their sizes — and at
 * `expected.sizes` and those of this machine's kept checkpoints in `expected` (what `finish` is
 * expected to be given) — are gathered by `leaves` from whichever pass reads the log next.
 * @throws SnapError `IO_ERROR` | `CHECKPOINT_MALFORMED` (the checkpoints folder, as {@link storeCheckpoints})
 */
export async function prepareCheckpointCheck(storeRoot: string, expected: { remembered?: RememberedCheckpoints; origin?: string; sizes?: readonly number[] } = {}): Promise<PreparedCheckpointCheck> {
  const { checkpoints, bad } = await storeCheckpoints(storeRoot);
  const leaves = new LogRootsCollector([...checkpoints.map((c) => c.checkpoint.size), ...(expected.sizes ?? []), ...keptToCheck(checkpoints, expected).map((k) => k.size)]);
  return { leaves, finish: (opts) => judgeCheckpoints(storeRoot, checkpoints, bad, leaves, opts) };
}

/** The verdict of {@link verifyCheckpoints} on the store's checkpoints read (`checkpoints`, `bad`), with the roots of `leaves` when it gathered every size needed. */
async function judgeCheckpoints(storeRoot: string, checkpoints: readonly StoredCheckpoint[], bad: readonly { source: string; message: string }[], leaves: LogRootsCollector, opts: CheckpointCheckOptions): Promise<CheckpointVerification> {
  const problems: CheckpointProblem[] = bad.map((b) => ({ kind: 'malformed', source: b.source, message: b.message }));
  const all = [...checkpoints, ...opts.external];
  if (opts.origin !== undefined) {
    for (const c of all) {
      if (c.checkpoint.origin !== opts.origin) problems.push({ kind: 'origin', source: c.source, size: c.checkpoint.size, message: `${c.source} is a checkpoint of ${c.checkpoint.origin}, not of ${opts.origin} (${opts.originFrom ?? '--origin'}): the log of another store, or another log` });
    }
  }
  const kept = keptToCheck(all, opts);
  const sizes = [...all.map((c) => c.checkpoint.size), ...kept.map((k) => k.size)];
  const { lines, roots, short } = leaves.done && leaves.gathers(sizes) ? leaves.result() : await logRoots(storeRoot, sizes, { whole: false });
  /** Why the log does not give the root of a checkpoint of `size` lines (`source`) when it is a mismatch. */
  const mismatchWhy = (size: number, source: string, after: string): string =>
    size === 0 ? emptyRootMessage(source) : short && size >= short.line ? `${source} covers ${size} lines: ${shortLineMessage(short)}` : `the first ${size} lines of the log no longer give the root of ${source}: the log was rewritten after ${after}`;
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const noteKeys = (origin: string) => opts.pubkeys.map((k) => ({ name: origin, publicKey: k.publicKey }));
  const origins = new Set(checkpoints.map((c) => c.checkpoint.origin));
  if (origins.size > 1) problems.push({ kind: 'origin', source: CHECKPOINTS_DIR, message: `the checkpoints name ${origins.size} different origins (${[...origins].join(', ')}): they are not of one log` });
  // A checkpoint of more lines than the log has is ahead of it; one of 0 lines (the empty tree) is
  // extended by every log, provided its root is the empty tree's.
  const extendsLog = (c: { checkpoint: Checkpoint }): 'ahead' | 'mismatch' | undefined => {
    if (c.checkpoint.size > lines) return 'ahead';
    const root = roots.get(c.checkpoint.size);
    return root && bytesEqual(root, c.checkpoint.root) ? undefined : 'mismatch';
  };
  for (const c of checkpoints) {
    const why = extendsLog(c);
    if (why === 'ahead') problems.push({ kind: 'ahead', source: c.source, size: c.checkpoint.size, message: `${c.source} covers ${c.checkpoint.size} lines, the log has ${lines}: lines were removed` });
    if (why === 'mismatch') problems.push({ kind: 'mismatch', source: c.source, size: c.checkpoint.size, message: mismatchWhy(c.checkpoint.size, c.source, 'that checkpoint') });
  }
  for (let i = 1; i < checkpoints.length; i++) {
    const a = (checkpoints[i - 1] as CheckpointFile).checkpoint;
    const b = (checkpoints[i] as CheckpointFile).checkpoint;
    if (b.size > lines || a.size === 0) continue; // reported above
    if (!joined(a, b, roots)) {
      problems.push({ kind: 'inconsistent', source: (checkpoints[i] as CheckpointFile).source, size: b.size, message: `no consistency proof joins the checkpoints of ${a.size} and ${b.size} lines: the log between them was rewritten` });
    }
  }
  for (const k of kept) {
    const why = keptNotExtended(k, lines, roots);
    if (why) problems.push({ kind: 'not-extended', source: opts.remembered?.source ?? 'the trusted state', size: k.size, message: `this machine has kept a checkpoint of ${k.origin} of ${k.size} lines (signed or verified signed here), and the log ${why === 'ahead' ? `has only ${lines}: lines were removed` : short && k.size >= short.line ? `no longer gives its root: ${shortLineMessage(short)}` : 'no longer gives its root: it was rewritten after it'} (and the newer checkpoints removed)` });
  }
  const newestStored = checkpoints[checkpoints.length - 1];
  const newestFile = newestStored && { ...newestStored, note: newestStored.note ?? (await readCheckpointFile(newestStored.source)).note };
  let newest: CheckpointVerification['newest'];
  if (newestFile) {
    const c = newestFile.checkpoint;
    const v = verifyNote(newestFile.note, noteKeys(c.origin));
    newest = { source: newestFile.source, origin: c.origin, size: c.size, root: hex(c.root), signedBy: opts.pubkeys.filter((k) => v.verified.length > 0 && verifyNote(newestFile.note, [{ name: c.origin, publicKey: k.publicKey }]).verified.length > 0).map((k) => k.keyid) };
    if (opts.pubkeys.length > 0) {
      if (v.failed.length > 0) problems.push({ kind: 'bad-signature', source: newestFile.source, size: c.size, message: `a signature on ${newestFile.source} by a given key does not verify: the checkpoint was altered` });
      else if (v.verified.length === 0) problems.push({ kind: 'unsigned', source: newestFile.source, size: c.size, message: `the newest checkpoint ${newestFile.source} carries no signature by the given --pubkey keys (name ${c.origin}): it may have been forged` });
    }
  } else if (opts.pubkeys.length > 0 || opts.origin !== undefined) {
    problems.push({ kind: 'none', source: CHECKPOINTS_DIR, message: 'the store has no checkpoint to check the log against (make one with snap log checkpoint --key KEY; if there were some, they were removed)' });
  }
  const external = opts.external.map((c) => {
    const why = extendsLog(c);
    const v = verifyNote(c.note, noteKeys(c.checkpoint.origin));
    if (why) problems.push({ kind: 'not-extended', source: c.source, size: c.checkpoint.size, message: why === 'ahead' ? `${c.source} covers ${c.checkpoint.size} lines, the log has only ${lines}: lines were removed` : mismatchWhy(c.checkpoint.size, c.source, 'it') });
    if (opts.pubkeys.length > 0 && v.failed.length > 0) problems.push({ kind: 'bad-signature', source: c.source, size: c.checkpoint.size, message: `a signature on ${c.source} by a given key does not verify` });
    else if (opts.pubkeys.length > 0 && v.verified.length === 0) problems.push({ kind: 'unsigned', source: c.source, size: c.checkpoint.size, message: `${c.source} carries no signature by the given --pubkey keys` });
    return { source: c.source, size: c.checkpoint.size, extends: why === undefined, signedBy: v.verified.length > 0 ? opts.pubkeys.filter((k) => verifyNote(c.note, [{ name: c.checkpoint.origin, publicKey: k.publicKey }]).verified.length > 0).map((k) => k.keyid) : [] };
  });
  return { ok: problems.length === 0, lines: lines, checkpoints: checkpoints.length, ...(newest ? { newest } : {}), external, problems };
}

/** The audit-log command of the line `snap log checkpoint` appends once it has made a checkpoint. */
export const LOG_CHECKPOINT_COMMAND = 'log-checkpoint';

/**
 * Whether `line` is the audit-log line recording checkpoint `c` itself: a {@link LOG_CHECKPOINT_COMMAND}
 * line whose `details` name its `origin`, `size` and `root` (64 lowercase hex), as `snap log
 * checkpoint` writes them. That line is appended after the checkpoint is made, so no checkpoint
 * covers its own record: `log --verify` says so instead of advising a checkpoint that would only
 * add another such line. What it says is unsigned, as every line after the newest checkpoint.
 */
export function recordsCheckpoint(line: AuditLine | undefined, c: { origin: string; size: number; root: string }): boolean {
  const d = line?.details;
  return line?.command === LOG_CHECKPOINT_COMMAND && d !== undefined && d.origin === c.origin && d.size === c.size && d.root === c.root;
}

/** The base64 root of a checkpoint, for reports. */
export function rootText(c: Checkpoint): string {
  return toBase64(c.root);
}
