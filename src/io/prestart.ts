/**
 * Hashing workers started at the very beginning of a run, before the command's modules load and
 * its arguments, keys and store are read: a worker thread takes tens of milliseconds to boot (a
 * Node environment of its own), which then overlaps that work instead of following it. The
 * workers get no `workerData`; the {@link HashPool} that takes them sends their configuration as
 * their first message. They are unreferenced until taken, so workers nobody takes (a usage error,
 * a command that did not need them) never keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import { workerSource } from './hash-worker.js';

/** Started workers not yet taken, and whether each has died (never handed out then). */
const spare: { worker: Worker; dead: boolean }[] = [];
let source: string | undefined;

/** The source every hashing worker runs (the same string for pre-started and new workers). */
export function hashWorkerSource(): string {
  source ??= workerSource();
  return source;
}

/** Start `count` hashing workers now (unreferenced), for the next {@link takeHashWorkers}. */
export function prestartHashWorkers(count: number): void {
  for (let i = 0; i < count; i++) {
    const entry = { worker: new Worker(hashWorkerSource(), { eval: true }), dead: false };
    entry.worker.unref();
    entry.worker.on('error', () => (entry.dead = true)); // a pool never gets it; it makes a new one
    entry.worker.on('exit', () => (entry.dead = true));
    spare.push(entry);
  }
}

/** Up to `count` pre-started workers that are still alive; each is handed out once. */
export function takeHashWorkers(count: number): Worker[] {
  const out: Worker[] = [];
  while (out.length < count && spare.length > 0) {
    const e = spare.shift() as (typeof spare)[number];
    if (e.dead) continue;
    e.worker.removeAllListeners('error');
    e.worker.removeAllListeners('exit');
    out.push(e.worker);
  }
  return out;
}
