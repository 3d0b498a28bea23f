/**
 * The parent snapshot's file digests, for an incremental seal: streamed from the parent's manifest
 * in manifest order and looked up in that same order (the order the dataset is walked in), so
 * memory stays O(1) however many files there are.
 *
 * Hints are only hints. Lines are read without the full checks (a line that does not read as a
 * file entry is skipped), and what a seal does with a hint never decides what it records: the
 * digest is always computed from the file's bytes. A hint equal to that digest only says that the
 * store already holds the object (the parent kept its contents), so it need not be looked up.
 */
import { createReadStream } from 'node:fs';
import { compareUtf8 } from '../core/paths.js';

/** A canonical file line (the common case), read without JSON.parse. */
const FILE_LINE = /^\{"path":"([^"\\\u0000-\u001f]+)","sha256":"([0-9a-f]{64})","size":\d+\}$/;

/** Cursor over a parent manifest's file entries; {@link ParentHints.get} must be called with increasing paths. */
export class ParentHints {
  private readonly lines: AsyncGenerator<string[]>;
  private run: string[] = [];
  private i = 0;
  private done = false;
  private current: { path: string; sha256: string } | undefined;

  /** @param manifestPath the parent snapshot's `manifest.jsonl` (a missing or unreadable file gives no hints) */
  constructor(manifestPath: string) {
    this.lines = readLines(manifestPath);
  }

  /**
   * The parent's SHA-256 (hex) for a regular file at `path`, or undefined. Paths must come in
   * increasing manifest order (SPEC §2: by UTF-8 bytes); the cursor only moves forward.
   */
  async get(path: string): Promise<string | undefined> {
    for (;;) {
      const c = this.current;
      if (c !== undefined) {
        const order = compareUtf8(c.path, path);
        if (order === 0) return c.sha256;
        if (order > 0) return undefined;
      }
      if (!(await this.advance())) return undefined;
    }
  }

  /** Move to the next file entry; false at the end. */
  private async advance(): Promise<boolean> {
    for (;;) {
      while (this.i >= this.run.length) {
        if (this.done) {
          this.current = undefined;
          return false;
        }
        const r = await this.lines.next();
        if (r.done) {
          this.done = true;
          continue;
        }
        this.run = r.value;
        this.i = 0;
      }
      const line = this.run[this.i++] as string;
      const m = FILE_LINE.exec(line);
      if (m) {
        this.current = { path: m[1] as string, sha256: m[2] as string };
        return true;
      }
      try {
        const e = JSON.parse(line) as { path?: unknown; sha256?: unknown };
        if (typeof e.path === 'string' && typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256)) {
          this.current = { path: e.path, sha256: e.sha256 };
          return true;
        }
      } catch {
        /* not a file entry: no hint */
      }
    }
  }
}

/** The lines of a file, a chunk's worth at a time; nothing (no error) when it cannot be read. */
async function* readLines(path: string): AsyncGenerator<string[]> {
  let rest = '';
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const lines = (rest + (chunk as string)).split('\n');
      rest = lines.pop() as string;
      yield lines;
    }
  } catch {
    return;
  }
  if (rest !== '') yield [rest];
}
