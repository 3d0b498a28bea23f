#!/usr/bin/env node
// Record indexes at scale, below the CLI: builds two record indexes of N synthetic records each with
// the index builder (external sort: sorted runs spilled to disk, then merged) — version B with 100
// labels flipped, 100 records added and 100 removed — and diffs them with the record diff; each step
// in its own process, reporting wall time and peak RSS. No file parsing is measured here (see
// records-bench.mjs for that): this shows that memory stays bounded at 10 million records.
//
// usage: node bench/records-scale.mjs [--records N] [--dir DIR]      (N default 10,000,000)
//        (internally: node bench/records-scale.mjs build|diff …)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(resolve(here, '..'), 'dist');
const LABELS = ['cat', 'dog', 'bird'];
const CHANGES = 100;

const argv = process.argv.slice(2);
const mode = argv[0] === 'build' || argv[0] === 'diff' || argv[0] === 'diff-summary' ? argv[0] : undefined;
const rest = mode ? argv.slice(1) : argv;
const opt = (name, def) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};

async function build(dir, n, version) {
  const { IndexBuilder } = await import(join(dist, 'records', 'build-index.js'));
  const runs = join(dir, `runs-${version}`);
  mkdirSync(runs, { recursive: true });
  // With its summary (docs/FORMAT.md §19.10), as seal writes it.
  const b = new IndexBuilder({ identity: 'key', labelled: true, tmpDir: runs, name: `synthetic-${version}`, strictKeys: true, summary: true });
  const flip = (i) => version === 'b' && i % Math.floor(n / CHANGES) === 1;
  const removed = (i) => version === 'b' && i % Math.floor(n / CHANGES) === 2;
  let row = 0;
  const add = (i, label) => {
    const features = `{"text":"word${i % 1000} text ${i % 77}","x":"${(i * 0.37) % 97}","y":"${(i * 7919) % 100003}"}`;
    b.add({ canonical: `{"id":"${i}","label":"${label}",${features.slice(1)}`, features, key: `["${i}"]`, label }, ++row, 0);
  };
  for (let i = 0; i < n; i++) {
    if (removed(i)) continue;
    add(i, flip(i) ? LABELS[(i + 1) % 3] : LABELS[i % 3]);
  }
  if (version === 'b') for (let k = 0; k < CHANGES; k++) add(n + k, LABELS[k % 3]);
  const built = await b.finish(join(dir, `index-${version}`));
  rmSync(runs, { recursive: true, force: true });
  writeFileSync(join(dir, `index-${version}.json`), JSON.stringify({ sha256: built.sha256, count: built.count, summary: built.summary?.sha256 ?? null }));
  console.log(JSON.stringify({ count: built.count, bytes: built.bytes, summaryBytes: built.summary ? statSync(built.summary.path).size : 0, rssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

/** The record diff of the two indexes: whole (`diff`), or through their summaries (`diff-summary`, as `snap diff` of two snapshots). */
async function diff(dir, viaSummary) {
  const { diffIndexFiles } = await import(join(dist, 'records', 'diff-index-files.js'));
  const { diffBySummaries } = await import(join(dist, 'records', 'diff-summaries.js'));
  const { RecordDiffCollector } = await import(join(dist, 'records', 'record-report.js'));
  const x = { identity: 'key', labelled: true, name: 'synthetic' };
  const c = new RecordDiffCollector('key');
  const side = (v) => {
    const m = JSON.parse(readFileSync(join(dir, `index-${v}.json`), 'utf8'));
    return { path: join(dir, `index-${v}`), x: { ...x, sha256: m.sha256, count: m.count }, summaryPath: join(dir, `index-${v}.summary`), summarySha256: m.summary };
  };
  const r = viaSummary ? await diffBySummaries(side('a'), side('b'), 'key', c) : await diffIndexFiles({ path: join(dir, 'index-a'), x }, { path: join(dir, 'index-b'), x }, 'key', c);
  if (!r) throw new Error('no summary diff (a summary over its size limit?)');
  const s = r.counts;
  if (s.flipped !== CHANGES || s.added !== CHANGES || s.removed !== CHANGES || s.modified !== 0) throw new Error(`diff found ${JSON.stringify(s)}`);
  // The order of the records both sides hold (row-order.ts): B's removals renumber the rows after them and its additions come last, so none moved;
  // through the summaries it is not known then (`snap diff` diffs the whole indexes for it).
  if (s.order && s.order.moved !== 0) throw new Error(`diff found ${s.order.moved} records moved`);
  console.log(JSON.stringify({ unchanged: s.unchanged, flipped: s.flipped, added: s.added, removed: s.removed, order: s.order ?? null, rssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

function step(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stderr}`);
  return { ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6), ...JSON.parse(r.stdout.trim().split('\n').pop()) };
}

if (mode === 'build') await build(rest[0], Number(rest[1]), rest[2]);
else if (mode === 'diff' || mode === 'diff-summary') await diff(rest[0], mode === 'diff-summary');
else {
  const n = Number(opt('records', '10000000'));
  const dir = join(resolve(opt('dir', process.env.SNAP_BENCH_DIR ?? join(tmpdir(), 'snap-bench'))), `records-scale-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const a = step(['build', dir, String(n), 'a']);
  const b = step(['build', dir, String(n), 'b']);
  const d = step(['diff', dir]);
  const ds = step(['diff-summary', dir]);
  console.log(`${n.toLocaleString('en-US')} records (index ${(statSync(join(dir, 'index-a')).size / 2 ** 30).toFixed(2)} GiB):`);
  console.log(`  build index A: ${(a.ms / 1000).toFixed(1)} s, peak RSS ${a.rssMiB} MiB`);
  console.log(`  build index B: ${(b.ms / 1000).toFixed(1)} s, peak RSS ${b.rssMiB} MiB`);
  console.log(`  summaries:     ${(a.summaryBytes / 2 ** 20).toFixed(1)} MiB and ${(b.summaryBytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(`  diff A B:      ${(d.ms / 1000).toFixed(1)} s, peak RSS ${d.rssMiB} MiB (${d.flipped} flipped, ${d.added} added, ${d.removed} removed, ${d.unchanged} unchanged${d.order ? `; ${d.order.moved} of ${d.order.common} moved` : ''})`);
  console.log(`  diff A B through the summaries: ${(ds.ms / 1000).toFixed(1)} s, peak RSS ${ds.rssMiB} MiB (the same counts)`);
  rmSync(dir, { recursive: true, force: true });
}
