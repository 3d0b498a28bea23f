#!/usr/bin/env node
// CPU per file of snap's scan, next to the reference hasher's, inside one process: no process
// start-up, no signature, no store; what is left is the per-file cost (walk, protocol between the
// walk and the hashing workers, open/read/hash/close, manifest lines, leaf and Merkle node hashes).
// CPU time (user + system of every thread, process.cpuUsage) depends far less on the machine's
// load than wall time; the main thread's own CPU comes from /proc/thread-self/schedstat (Linux,
// nanoseconds; /proc/thread-self/stat in ticks of 10 ms where schedstat is missing), and gives the
// files per second one main thread could feed (item 3 of issue 14).
//
// usage: node bench/scan-cpu.mjs DIR [--rounds R] [--jobs J] [--json FILE]
//   (the scan of a seal only; bench/main-thread.mjs measures the main thread of whole seal and verify runs)
//   Each round runs the reference's scan and then snap's, in the same process, warm page cache.
//   Prints per-round figures and the median with min–max.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.env.SNAP_BENCH_DIST ?? join(here, '..', 'dist')); // SNAP_BENCH_DIST: another build, for A/B runs
// The operations are in dist/ops/ (since the fifteenth session); an older build given as SNAP_BENCH_DIST has them in dist/.
const sealModule = [join(dist, 'ops', 'seal.js'), join(dist, 'seal.js')].find((p) => existsSync(p));
if (!sealModule) {
  console.error('dist/ is missing: run "npm run build" first');
  process.exit(2);
}
const { scanDataset, appendLeaves } = await import(sealModule);
const { MerkleTreeBuilder } = await import(join(dist, 'core', 'merkle.js'));
const { nodeHashNative } = await import(join(dist, 'io', 'native-hash.js'));
// The early worker `snap seal DIR` boots for a folder past the main-thread budget (cli/early-workers.ts):
// with it the pool hashes nothing on the main thread, as the command does (absent in older builds: no-op).
const prestartPath = join(dist, 'io', 'prestart.js');
const { prestartHashWorkers } = existsSync(prestartPath) ? await import(prestartPath) : { prestartHashWorkers: () => {} };

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const dir = resolve(args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? '');
const rounds = Number(opt('rounds', '5'));
const jobs = Number(opt('jobs', String(availableParallelism())));
const jsonOut = opt('json', undefined);

const TICK_MS = 10; // USER_HZ = 100 on Linux
/**
 * CPU ms of the calling thread: from /proc/thread-self/schedstat (nanoseconds on the CPU, Linux
 * with schedstats), else user + system from /proc/thread-self/stat (ticks of 10 ms); NaN elsewhere.
 */
function threadCpuMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    /* no schedstat: ticks */
  }
  try {
    const s = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS; // fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function measure(fn) {
  const c0 = cpuMs();
  const m0 = threadCpuMs();
  const t0 = performance.now();
  const files = await fn();
  return { files, wallMs: performance.now() - t0, cpuMs: cpuMs() - c0, mainCpuMs: threadCpuMs() - m0 };
}

/** The reference (bench/reference-hasher.mjs): its walk and sort here, its own worker code in threads. */
function referenceScan() {
  const files = [];
  (function walk(d) {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  })(dir);
  files.sort();
  return new Promise((res, rej) => {
    let finished = 0;
    for (let w = 0; w < jobs; w++) {
      const worker = new Worker(join(here, 'reference-hasher.mjs'), { workerData: { files, w, workers: jobs } });
      worker.on('error', rej);
      worker.on('message', () => {
        if (++finished === jobs) res(files.length);
      });
    }
  });
}

/** snap's scan, as `seal --manifest-only` does it: manifest digest and Merkle root folded on the main thread. */
async function snapScan() {
  const manifestHash = createHash('sha256');
  const tree = new MerkleTreeBuilder({ nodeHash: nodeHashNative });
  prestartHashWorkers(1);
  const totals = await scanDataset({ dir, jobs }, async (text, leaves, count) => {
    manifestHash.update(text);
    if (appendLeaves) appendLeaves(tree, leaves, count);
    else for (let i = 0; i < count; i++) tree.appendLeafHash(leaves.subarray(32 * i, 32 * i + 32)); // an older build (SNAP_BENCH_DIST)
  });
  tree.root();
  manifestHash.digest();
  return totals.files;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs, d = 1) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

await referenceScan(); // warm the page cache and the code
await snapScan();
const rows = [];
for (let r = 0; r < rounds; r++) {
  const ref = await measure(referenceScan);
  const snap = await measure(snapScan);
  rows.push({ ref, snap });
  console.error(`round ${r + 1}: reference ${ref.cpuMs.toFixed(0)} CPU-ms (${ref.wallMs.toFixed(0)} ms wall), snap ${snap.cpuMs.toFixed(0)} CPU-ms (${snap.wallMs.toFixed(0)} ms wall, main thread ${snap.mainCpuMs.toFixed(0)} CPU-ms)`);
}
const files = rows[0].snap.files;
const us = (ms) => (ms * 1000) / files;
const out = {
  dir,
  files,
  jobs,
  rounds,
  referenceCpuUsPerFile: rows.map((r) => us(r.ref.cpuMs)),
  snapCpuUsPerFile: rows.map((r) => us(r.snap.cpuMs)),
  cpuRatio: rows.map((r) => r.snap.cpuMs / r.ref.cpuMs),
  wallRatio: rows.map((r) => r.snap.wallMs / r.ref.wallMs),
  snapMainCpuUsPerFile: rows.map((r) => us(r.snap.mainCpuMs)),
  referenceMainCpuUsPerFile: rows.map((r) => us(r.ref.mainCpuMs)),
};
const mainUs = median(out.snapMainCpuUsPerFile);
console.log(`${files} files, ${jobs} workers, ${rounds} rounds; median (min–max) over rounds`);
console.log(`CPU µs per file, all threads: reference ${spread(out.referenceCpuUsPerFile)}, snap ${spread(out.snapCpuUsPerFile)}; ratio ${spread(out.cpuRatio, 2)}`);
console.log(`wall ratio ${spread(out.wallRatio, 2)}`);
console.log(`main thread CPU µs per file: snap ${spread(out.snapMainCpuUsPerFile)} (reference ${spread(out.referenceMainCpuUsPerFile)}): one main thread feeds at most ${Math.round(1e6 / mainUs).toLocaleString('en-US')} files/s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(out, null, 2) + '\n');
