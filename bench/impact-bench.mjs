#!/usr/bin/env node
// `snap impact` on a wide planted graph stays linear in its edges (moved here from
// test/provenance/lineage-impact.test.ts, whose timed assertion cost 30 s of the test suite; the unit
// test now checks only the answer, on a smaller graph). N planted snapshots (unsigned statements, as
// someone who can write to the store can add) each derived from the same 64 snapshots the store does
// not hold. Before the fix each missing origin was walked once per edge naming it: 64 × N² steps,
// about 8 reads of the graph's time at N = 2,000 (24 s against 3 s). The walk must cost less than
// WALK_BUDGET_READS reads of the graph.
//
// usage: node bench/impact-bench.mjs [--n N]     (needs `npm run build`)
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildStatement, serializeStatement } from '../dist/core/statement.js';
import { impact, readSnapshotGraph } from '../dist/provenance/lineage.js';
import { openStore, resolveRef } from '../dist/io/store.js';

/** The walk (impact) may cost at most this many reads of the graph (readSnapshotGraph). */
export const WALK_BUDGET_READS = 4;
/** Missing origins each planted snapshot names. */
const ORIGINS = 64;

const at = process.argv.indexOf('--n');
const n = at > 0 ? Number(process.argv[at + 1]) : 2000;
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dir = await fsp.mkdtemp(join(tmpdir(), 'snap-impact-bench-'));
try {
  const st = join(dir, 'store');
  const data = join(dir, 'data');
  await fsp.mkdir(data);
  await fsp.writeFile(join(data, 'a'), 'a');
  const snap = (args) => execFileSync(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SNAP_STATE_DIR: join(dir, 'state') } });
  snap(['keygen', 'k', '--quiet']);
  snap(['seal', data, '--as', 'base@v1', '--key', join(dir, 'k.key'), '--store', st, '--quiet']);
  const derivedFrom = Array.from({ length: ORIGINS }, (_, k) => ({ snapshot: `sha256:${(k + 1).toString(16).padStart(64, '0')}`, ref: `gone@v${k}` }));
  for (let i = 0; i < n; i++) {
    const bytes = serializeStatement(buildStatement({
      dataset: 'wide', version: `v${i}`, merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1,
      createdAt: '2030-01-01T00:00:00Z', tool: { name: 'snap', version: '0.1.0' }, provenance: { derivedFrom },
    }));
    const d = join(st, 'snapshots', 'wide', `v${i}`);
    await fsp.mkdir(d, { recursive: true });
    await fsp.writeFile(join(d, 'statement.json'), bytes);
    await fsp.writeFile(join(d, 'envelope.json'), '{}');
    await fsp.writeFile(join(d, 'manifest.jsonl'), '');
  }
  const store = await openStore(st);
  const cpu = async (f) => {
    const t0 = process.cpuUsage();
    const out = await f();
    const u = process.cpuUsage(t0);
    return { seconds: (u.user + u.system) / 1e6, out };
  };
  await readSnapshotGraph(store); // the first read fills the page cache
  // Each timed three times, the least kept: a moment of load on a shared machine inflates one run.
  const reads = [];
  for (let r = 0; r < 3; r++) reads.push((await cpu(() => readSnapshotGraph(store))).seconds);
  const start = await resolveRef('base@v1', st);
  const walks = [];
  for (let r = 0; r < 3; r++) {
    const w = await cpu(() => impact(start, store));
    if (w.out.possiblyDerived.length !== n) throw new Error(`impact found ${w.out.possiblyDerived.length} of ${n} snapshots`);
    walks.push(w.seconds);
  }
  const read = Math.min(...reads);
  const walk = Math.min(...walks);
  const ratio = walk / read;
  console.log(`impact of ${n} planted snapshots × ${ORIGINS} missing origins: read ${read.toFixed(2)} CPU-s, impact ${walk.toFixed(2)} CPU-s (${ratio.toFixed(2)} reads; budget ${WALK_BUDGET_READS}) ${ratio <= WALK_BUDGET_READS ? 'ok' : 'OVER'}`);
  if (ratio > WALK_BUDGET_READS) process.exitCode = 1;
} finally {
  await fsp.rm(dir, { recursive: true, force: true });
}
