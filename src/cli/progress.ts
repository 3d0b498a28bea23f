/**
 * Progress on stderr for the long commands (seal, verify, fsck, export, import, restore): files,
 * bytes, MB/s and, when the totals are known, percent and ETA. Drawn with cli-progress, only when
 * stderr is a terminal and neither --quiet nor --json was given.
 */
import type { Progress } from '../ops/seal.js';
import type { Args, CliIo } from './common.js';
import { formatBytes, formatCount } from './format.js';

/** A progress reporter: `update` as work advances, `stop` at the end. */
interface ProgressReporter {
  update(p: Progress): void;
  stop(): void;
}

const NONE: ProgressReporter = { update() {}, stop() {} };

/**
 * A progress bar on `stream` when `enabled`, else a reporter that does nothing. cli-progress is
 * loaded only when a bar is drawn, to keep start-up fast in pipelines.
 */
async function progressReporter(enabled: boolean, stream: NodeJS.WriteStream, label: string): Promise<ProgressReporter> {
  if (!enabled) return NONE;
  const { default: cliProgress } = await import('cli-progress');
  /** One bar per phase: a `Progress` with another `phase` clears the bar drawn so far and starts its own. */
  const start = (name: string) => ({
    t0: performance.now(),
    started: false,
    bar: new cliProgress.SingleBar(
      {
        stream,
        format: `${name} {bar} {percentage}% | {files} files | {done} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    ),
  });
  let phase: string | undefined;
  let cur = start(label);
  return {
    update(p) {
      if (p.phase !== phase) {
        if (cur.started) cur.bar.stop();
        phase = p.phase;
        cur = start(p.phase ?? label);
      }
      const total = p.totalBytes ?? 0;
      const secs = Math.max((performance.now() - cur.t0) / 1000, 0.001);
      const files = p.totalFiles !== undefined ? `${formatCount(p.files)}/${formatCount(p.totalFiles)}` : formatCount(p.files);
      const payload = { files, done: formatBytes(p.bytes), rate: formatBytes(p.bytes / secs) };
      if (!cur.started) {
        cur.bar.start(total > 0 ? total : 1, 0, payload);
        cur.started = true;
      }
      cur.bar.update(total > 0 ? Math.min(p.bytes, total) : 0, payload);
    },
    stop() {
      if (cur.started) cur.bar.stop();
    },
  };
}

/**
 * Run `work` with a progress bar on stderr when it is a terminal and neither --quiet nor --json was
 * given; the bar is cleared whether `work` succeeds or throws. `work` gets the callback to report
 * through, or undefined when nothing is shown (so it may skip counting totals).
 */
export async function withProgress<T>(a: Args, io: CliIo, label: string, work: (onProgress: ((p: Progress) => void) | undefined) => Promise<T>): Promise<T> {
  const shown = !a.quiet && !a.json && !!io.stderr.isTTY;
  const progress = await progressReporter(shown, io.stderr as NodeJS.WriteStream, label);
  try {
    return await work(shown ? (p) => progress.update(p) : undefined);
  } finally {
    progress.stop();
  }
}
