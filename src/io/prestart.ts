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
/** Whether a closed pool's idle workers are kept for the next pool ({@link keepIdleHashWorkers}). */
let keepIdle = false;
/** The most idle workers kept at once; more are stopped (each holds a Node environment, some 10 MiB). */
export const MAX_KEPT_WORKERS = 8;

/** The source every hashing worker runs (the same string for pre-started and new workers). */
export function hashWorkerSource(): string {
  source ??= workerSource();
  return source;
}

/** Start `count` hashing workers now (unreferenced), for the next {@link takeHashWorkers}. */
export function prestartHashWorkers(count: number): void {
  for (let i = 0; i < count; i++) addSpare(new Worker(hashWorkerSource(), { eval: true }));
}

function addSpare(worker: Worker): void {
  // A thread that has ended (threadId -1) sends no 'exit' any more: it must never wait in the list.
  const entry = { worker, dead: worker.threadId < 0 };
  entry.worker.unref();
  entry.worker.on('error', () => (entry.dead = true)); // a pool never gets it; it makes a new one
  entry.worker.on('exit', () => (entry.dead = true));
  spare.push(entry);
}

/**
 * Keep the idle workers of a closed hashing pool for the next pool of this process, instead of
 * stopping them (off by default). A worker thread costs some 40–70 ms of CPU to boot; a process
 * that runs many seals and verifies one after another (a service, a test suite that runs the CLI in
 * its own process) boots them once. The workers are configured anew by each pool that takes them
 * (`{ config }`, hash-worker.ts) and hold nothing between requests (each request is synchronous up to
 * its reply: every file it opened is closed). Kept workers are unreferenced: they never keep the
 * process alive. The `snap` binary leaves this off: it runs one command, and stops its workers
 * while the command ends (`WorkerPool.closeIdle`). Turning it off stops the workers kept.
 */
export function keepIdleHashWorkers(on: boolean): void {
  keepIdle = on;
  if (!on) for (const e of spare.splice(0)) void e.worker.terminate().catch(() => undefined);
}

/** Whether idle workers are kept ({@link keepIdleHashWorkers}). */
export function keepsIdleHashWorkers(): boolean {
  return keepIdle;
}

/**
 * Keep the idle workers of a closed pool for the next (the caller checked
 * {@link keepsIdleHashWorkers}); beyond {@link MAX_KEPT_WORKERS}, or when workers are not kept,
 * they are stopped.
 */
export function returnHashWorkers(workers: readonly Worker[]): void {
  for (const w of workers) {
    if (keepIdle && spare.length < MAX_KEPT_WORKERS) addSpare(w);
    else {
      w.unref();
      void w.terminate().catch(() => undefined);
    }
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
