/**
 * The parent snapshot's digests of its large files, for a seal into a store. A file of at least
 * {@link LARGE_FILE_BYTES} is read in chunks, not in one piece; when the parent had a file at the
 * same path whose object is in the store, the worker hashes it first and copies it only if its
 * digest is new after all (an unchanged large file is read once and never written), instead of
 * copying while hashing (which writes a copy that is then dropped when the object exists).
 *
 * Hints are only hints. Lines are read without the full checks (a line that does not read as a
 * file entry is skipped), and what a seal does with a hint never decides what it records: the
 * digest is always computed from the file's bytes, and every digest is looked up in the store.
 * A wrong hint costs one more read of that file, nothing else.
 *
 * Small files need no hint (the worker reads them whole, hashes, and writes only a new object), so
 * only the large files' lines are kept: at most {@link MAX_LARGE_HINTS} of them, each with a path of
 * at most `MAX_PATH_BYTES` (a manifest path's limit, SPEC §2) and {@link MAX_HINT_PATH_BYTES} of
 * paths in all, which bounds the memory whatever the parent manifest holds (the manifest is in the
 * store, where a store writer may plant lines of 15 MB paths; a hint dropped only means a copy while
 * hashing). Keeping them in a map, rather than a cursor over the manifest, lets the hashing
 * workers list the folders (parallel-walk.ts) of a seal that has a parent.
 */
import { MAX_PATH_BYTES, utf8Length } from '../core/paths.js';
import { openRegularFile } from './small-file.js';

/** Files of at least this many bytes are hashed in chunks (must equal hash-worker.ts WHOLE_FILE_MAX). */
export const LARGE_FILE_BYTES = 8 << 20;

/** Most large-file hints kept (2^17 files of 8 MiB is 1 PiB). */
export const MAX_LARGE_HINTS = 1 << 17;

/**
 * Most UTF-8 bytes of the hints' paths kept, in all (32 MiB: 2^17 paths of 256 bytes): with
 * {@link MAX_LARGE_HINTS}, some 80 MiB of memory at most, whatever the parent manifest's lines say.
 */
export const MAX_HINT_PATH_BYTES = 1 << 25;

/** A canonical file line (the common case), read without JSON.parse. */
const FILE_LINE = /^\{"path":"([^"\\\u0000-\u001f]+)","sha256":"([0-9a-f]{64})","size":(\d+)\}$/;

/**
 * Bytes of the parent manifest read at a time, into one buffer that never grows: a line longer than
 * this is no file entry (longer than {@link MAX_FILE_LINE_BYTES}), and is skipped, not held.
 */
const HINTS_READ_BYTES = 1 << 20;

/** Longest line read as a file entry, in bytes: a path of MAX_PATH_BYTES with every byte escaped (`\u00XX`), and the rest of the line. */
const MAX_FILE_LINE_BYTES = 6 * MAX_PATH_BYTES + 256;

/** Digits of the smallest size worth reading a line for ("8388608" has 7). */
const MIN_SIZE_DIGITS = String(LARGE_FILE_BYTES).length;

/** The parent's large files: dataset path → SHA-256 (hex). */
export class ParentHints {
  private readonly byPath = new Map<string, string>();
  /** Folder → the names of its large files with hints, in manifest order. */
  private readonly byDir = new Map<string, string[]>();
  /** UTF-8 bytes of the paths kept. */
  private pathBytes = 0;

  /**
   * Read the hints of the large files of a parent manifest (SPEC §2 `manifest.jsonl`). A missing
   * or unreadable file gives no hints and no error.
   * @param manifestPath the parent snapshot's manifest
   * @param minBytes     the smallest file size kept (default {@link LARGE_FILE_BYTES})
   * @param max          the most hints kept (default {@link MAX_LARGE_HINTS}); later lines are ignored
   */
  static async read(manifestPath: string, minBytes = LARGE_FILE_BYTES, max = MAX_LARGE_HINTS): Promise<ParentHints> {
    const h = new ParentHints();
    const minDigits = Math.min(MIN_SIZE_DIGITS, String(minBytes).length);
    // The lines worth a look end in `:DIGITS}` with at least minDigits digits; a regular expression
    // over each read finds them natively (the line's own checks follow in `consider`), instead of a
    // loop over every line (most of a manifest is small files: docs/PERFORMANCE.md, "the unchanged
    // second seal's look-ups").
    const candidate = new RegExp(`:[0-9]{${minDigits},}\\}\\n`, 'g');
    let fh: Awaited<ReturnType<typeof openRegularFile>>;
    try {
      // Non-blocking and only a regular file: a FIFO planted as the parent's manifest gives no hints, never a hang.
      fh = await openRegularFile(manifestPath, 'cannot read the parent manifest');
    } catch {
      return h;
    }
    try {
      const buf = Buffer.allocUnsafe(HINTS_READ_BYTES);
      /** Bytes in `buf`: a partial line left from the last read, then what this read added. */
      let have = 0;
      /** Within a line longer than a read (no file entry: see MAX_FILE_LINE_BYTES): its bytes are dropped up to its newline. */
      let skipping = false;
      for (;;) {
        if (have === buf.length) {
          // No newline in a full buffer: a line longer than any file entry. Not held: skipped to its end.
          skipping = true;
          have = 0;
        }
        const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
        if (bytesRead === 0) break;
        have += bytesRead;
        if (skipping) {
          const nl = buf.indexOf(0x0a);
          if (nl < 0 || nl >= have) {
            have = 0;
            continue;
          }
          skipping = false;
          buf.copy(buf, 0, nl + 1, have);
          have -= nl + 1;
        }
        const end = buf.lastIndexOf(0x0a, have - 1) + 1; // after the last whole line (0: none yet)
        if (end === 0) continue;
        const text = buf.toString('latin1', 0, end); // one byte a character: indexes are byte offsets
        candidate.lastIndex = 0;
        let m: RegExpExecArray | null;
        while ((m = candidate.exec(text)) !== null) {
          if (h.byPath.size >= max) return h;
          const nl = m.index + m[0].length - 1;
          h.consider(buf, text.lastIndexOf('\n', m.index) + 1, nl, minBytes, minDigits);
        }
        buf.copy(buf, 0, end, have);
        have -= end;
      }
      if (skipping) return h;
      if (have > 0 && h.byPath.size < max) h.consider(buf, 0, have, minBytes, minDigits);
    } catch {
      return h;
    } finally {
      await fh.close().catch(() => undefined);
    }
    return h;
  }

  /** Keep the line buf[start, end) if it is a file entry of at least `minBytes` whose path a manifest may hold, while the paths' bound allows. */
  private consider(buf: Buffer, start: number, end: number, minBytes: number, minDigits: number): void {
    // A file line ends in `"size":DIGITS}`: count the digits before reading the line as text. A line
    // longer than any file line (a path of MAX_PATH_BYTES, each byte escaped) is not read as text.
    if (end - start < 16 || end - start > MAX_FILE_LINE_BYTES || buf[end - 1] !== 0x7d) return;
    let d = end - 2;
    while (d > start && (buf[d] as number) >= 0x30 && (buf[d] as number) <= 0x39) d--;
    if (end - 2 - d < minDigits || buf[d] !== 0x3a) return;
    const line = buf.toString('utf8', start, end);
    let path: string;
    let sha: string;
    let size: number;
    const m = FILE_LINE.exec(line);
    if (m) {
      [path, sha, size] = [m[1] as string, m[2] as string, Number(m[3])];
    } else {
      try {
        const e = JSON.parse(line) as { path?: unknown; sha256?: unknown; size?: unknown };
        if (typeof e.path !== 'string' || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256) || typeof e.size !== 'number') return;
        [path, sha, size] = [e.path, e.sha256, e.size];
      } catch {
        return; // not a file entry: no hint
      }
    }
    if (size < minBytes || this.byPath.has(path)) return;
    const bytes = utf8Length(path);
    if (bytes > MAX_PATH_BYTES || this.pathBytes + bytes > MAX_HINT_PATH_BYTES) return; // no manifest path, or past the bound: no hint
    this.pathBytes += bytes;
    this.byPath.set(path, sha);
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const names = this.byDir.get(dir);
    if (names) names.push(path.slice(slash + 1));
    else this.byDir.set(dir, [path.slice(slash + 1)]);
  }

  /** Number of hints kept. */
  get size(): number {
    return this.byPath.size;
  }

  /** The parent's SHA-256 (hex) for a large regular file at `path`, or undefined. */
  get(path: string): string | undefined {
    return this.byPath.get(path);
  }

  /**
   * Add to `into` the hints of folder `dir`'s files whose names sort from `first` to `last`
   * (inclusive, JavaScript string order, which is manifest order for the printable-ASCII names a
   * worker lists: parallel-walk.ts). Keys are dataset paths.
   */
  addRange(into: Map<string, string>, dir: string, first: string, last: string): void {
    const names = this.byDir.get(dir);
    if (!names) return;
    const prefix = dir === '' ? '' : `${dir}/`;
    for (const n of names) if (n >= first && n <= last) into.set(prefix + n, this.byPath.get(prefix + n) as string);
  }
}
