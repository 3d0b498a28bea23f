/**
 * Groups by key (a missing object and its users, by digest) gathered in any number, read back in
 * key order, in memory that does not grow with their number: the groups are held in a map until
 * they weigh {@link SpilledGroups} `held` (the caller says what a group weighs: its users), then
 * written, sorted by key, as one run of lines to a temporary file ({@link openSpillFile}: nothing
 * is left of it however the process ends), and the map starts again. When all are gathered, the
 * runs are merged (at most {@link MERGE_FAN_IN} at a time, level by level) into one run in key order, the groups
 * of one key combined in the order they were made — so the result is the one a single map would
 * have given. With no more than `held`, nothing is written.
 */
import { closeSync, writeSync } from 'node:fs';
import { ioError } from './errors.js';
import { linesAt, openSpillFile, type SpillCodec } from './spill-list.js';

/** How {@link SpilledGroups} writes, orders and combines its groups. */
export interface GroupCodec<T> extends SpillCodec<T> {
  /** The group's key: groups are read back in its order (as strings compare, by UTF-16 code units). */
  key(x: T): string;
  /** One group of `a` and `b`, two groups of one key, `a` made first (may change and return `a`). */
  combine(a: T, b: T): T;
}

/** Runs merged at once (each read a chunk at a time): more are merged in several passes. */
export const MERGE_FAN_IN = 64;

/** Text gathered before one write to the file. */
const WRITE_CHUNK_CHARS = 1 << 16;

/** A run of the file: its lines are groups in key order, one a key. */
interface Run {
  start: number;
  end: number;
}

const byKey = <T>(key: (x: T) => string) => (a: T, b: T): number => {
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** Groups by key, in bounded memory: see the module comment. */
export class SpilledGroups<T> {
  private held = new Map<string, T>();
  private weight = 0;
  private runs: Run[] = [];
  private fd: number | undefined;
  private path = '';
  private written = 0;
  private sorted: T[] | undefined;
  private count = 0;

  /**
   * @param codec how a group is written, ordered and combined
   * @param heldWeight the weight of the groups held in memory before they are written as a run
   * @param what what the groups are, for an error (`cannot write ${what} to …`)
   */
  constructor(
    private readonly codec: GroupCodec<T>,
    private readonly heldWeight: number,
    private readonly what: string,
  ) {}

  /** The group of `key` held in memory (one made since the last run was written), if any. */
  get(key: string): T | undefined {
    return this.held.get(key);
  }

  /**
   * Add a group of a key none held has (see {@link get}), weighing `weight`.
   * @throws SnapError `DISK_FULL` | `IO_ERROR` (a run cannot be written)
   */
  add(key: string, x: T, weight: number): void {
    this.held.set(key, x);
    this.grew(weight);
  }

  /**
   * A held group weighs `weight` more (users added to it); past `heldWeight`, the held groups are written as a run.
   * @throws SnapError `DISK_FULL` | `IO_ERROR`
   */
  grew(weight: number): void {
    this.weight += weight;
    if (this.weight >= this.heldWeight) this.writeHeld();
  }

  /**
   * Stop gathering: merge the runs into one. Call once before reading.
   * @throws SnapError `DISK_FULL` | `IO_ERROR`
   */
  finish(): void {
    if (this.runs.length === 0) {
      this.sorted = [...this.held.values()].sort(byKey(this.codec.key));
      this.count = this.sorted.length;
      this.held = new Map();
      return;
    }
    if (this.held.size > 0) this.writeHeld();
    let count: number | undefined;
    // Level by level: each run is read once a level (consecutive runs merged, so their order stays).
    while (this.runs.length > 1) {
      const next: Run[] = [];
      for (let i = 0; i < this.runs.length; i += MERGE_FAN_IN) {
        const some = this.runs.slice(i, i + MERGE_FAN_IN);
        if (some.length === 1) {
          next.push(some[0] as Run);
          continue;
        }
        const merged = this.merge(some);
        next.push(merged.run);
        count = merged.count; // the last level's one merge counts them all
      }
      this.runs = next;
    }
    if (count === undefined) {
      count = 0;
      for (const _ of linesAt(this.fd as number, (this.runs[0] as Run).start, (this.runs[0] as Run).end)) count++;
    }
    this.count = count;
  }

  /** Distinct keys (after {@link finish}). */
  get length(): number {
    return this.count;
  }

  /** Every group, in key order, each key once (after {@link finish}; can be read again). */
  *[Symbol.iterator](): Generator<T> {
    if (this.sorted) {
      yield* this.sorted;
      return;
    }
    const run = this.runs[0];
    if (run) yield* this.read(run);
  }

  /** Close the file (nothing is left of it); no group is left. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.held = new Map();
    this.sorted = undefined;
    this.runs = [];
    this.count = 0;
  }

  private *read(run: Run): Generator<T> {
    for (const line of linesAt(this.fd as number, run.start, run.end)) yield this.codec.decode(line);
  }

  /** Write the held groups as a run, sorted by key. */
  private writeHeld(): void {
    const start = this.written;
    const out = this.writer();
    for (const x of [...this.held.values()].sort(byKey(this.codec.key))) out.put(x);
    out.end();
    this.runs.push({ start, end: this.written });
    this.held = new Map();
    this.weight = 0;
  }

  /** Runs merged into one written after them, groups of one key combined in run order; and how many keys. */
  private merge(runs: Run[]): { run: Run; count: number } {
    const key = this.codec.key;
    const heads = runs.map((r) => {
      const it = this.read(r);
      const first = it.next();
      return { it, x: first.done ? undefined : first.value };
    });
    const start = this.written;
    const out = this.writer();
    let count = 0;
    for (;;) {
      let least: string | undefined;
      for (const h of heads) if (h.x !== undefined && (least === undefined || key(h.x) < least)) least = key(h.x);
      if (least === undefined) break;
      let group: T | undefined;
      for (const h of heads) {
        // Each run holds a key once: at most one group of it per run, taken in run order.
        if (h.x === undefined || key(h.x) !== least) continue;
        group = group === undefined ? h.x : this.codec.combine(group, h.x);
        const next = h.it.next();
        h.x = next.done ? undefined : next.value;
      }
      out.put(group as T);
      count++;
    }
    out.end();
    return { run: { start, end: this.written }, count };
  }

  /** Lines appended at the end of the file, a chunk at a time. */
  private writer(): { put(x: T): void; end(): void } {
    let pending: string[] = [];
    let chars = 0;
    const flush = (): void => {
      if (pending.length === 0) return;
      if (this.fd === undefined) ({ fd: this.fd, path: this.path } = openSpillFile(this.what));
      const bytes = Buffer.from(pending.join('\n') + '\n');
      pending = [];
      chars = 0;
      try {
        for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off, this.written + off);
      } catch (e) {
        throw ioError(e, this.path, `cannot write ${this.what} to the temporary folder (set TMPDIR to another disk)`);
      }
      this.written += bytes.length;
    };
    return {
      put: (x) => {
        const line = this.codec.encode(x);
        pending.push(line);
        chars += line.length + 1;
        if (chars >= WRITE_CHUNK_CHARS) flush();
      },
      end: flush,
    };
  }
}
