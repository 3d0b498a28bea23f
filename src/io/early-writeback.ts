/**
 * Write-back of a large file started while it is still being written.
 *
 * A file that must be on disk before it is named (an archive: `export`, `seal --out`; an object
 * `import` stages) is flushed by one `fsync(2)` (or the store's `syncfs`) at its end. Left to the kernel, most of its bytes are still dirty in the page
 * cache then, and that one call waits for all of them (0.5 s for an archive of 1 GiB here) while
 * every core is idle. Calling `fdatasync(2)` every {@link EARLY_WRITEBACK_BYTES} written, on
 * libuv's thread pool so that the writer never waits for it, puts the disk to work while the file
 * is being made; the final `fsync` then waits only for the tail.
 */
import { fdatasync } from 'node:fs';

/** Bytes written between two early flushes (64 MiB): a few dozen calls for an archive of 1 GiB. */
export const EARLY_WRITEBACK_BYTES = 64 << 20;

/**
 * Counts the bytes written to one open file and starts an `fdatasync(2)` of it each time
 * {@link EARLY_WRITEBACK_BYTES} more were written, at most one at a time. An error of an early
 * flush is kept and thrown by {@link settle}: Linux reports a write-back error once per open file,
 * so the final `fsync` might not report it again.
 */
export class EarlyWriteback {
  private since = 0;
  private inflight: Promise<void> | undefined;
  private error: NodeJS.ErrnoException | undefined;

  /**
   * @param fd an open file descriptor, not closed before {@link settle} resolved
   * @param every bytes between flushes (default {@link EARLY_WRITEBACK_BYTES})
   * @param flush the flush to start (default `fs.fdatasync`; tests pass their own)
   */
  constructor(
    private readonly fd: number,
    private readonly every = EARLY_WRITEBACK_BYTES,
    private readonly flush: (fd: number, done: (e: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {}

  /** Note `bytes` more written; starts a flush when {@link every} bytes have been since the last. */
  wrote(bytes: number): void {
    this.since += bytes;
    if (this.since < this.every || this.inflight !== undefined || this.error !== undefined) return;
    this.since = 0;
    this.inflight = new Promise((resolve) => {
      this.flush(this.fd, (e) => {
        if (e && this.error === undefined) this.error = e;
        this.inflight = undefined;
        resolve();
      });
    });
  }

  /**
   * Wait for the flush under way, if any (always before the file is closed).
   * @throws the error of any early flush (an `ErrnoException`: `EIO`, `ENOSPC`, …)
   */
  async settle(): Promise<void> {
    while (this.inflight !== undefined) await this.inflight;
    if (this.error !== undefined) throw this.error;
  }
}
