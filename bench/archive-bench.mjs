#!/usr/bin/env node
// Archive benchmark: `snap export` against `tar -cf`, and `snap restore` (from the archive, and from
// the store) against `tar -xf`, on the same data, as wall-time ratios measured in the same round
// (median of the per-round ratios). Each timed command starts after `sync` (none pays for the
// write-back of the one before) and after its inputs were read once (warm page cache); the order of
// tar and snap alternates between rounds. `export` flushes the archive before it names it (a
// power loss cannot leave a short FILE); `tar -cf` does not, so each round also times the `sync`
// right after `tar -cf` and reports export × (`tar -cf`; `sync`) beside export × `tar -cf`.
//
// usage: node bench/archive-bench.mjs [--rounds R] [--corpus /tmp/corpus/small,/tmp/corpus/shards] [--work DIR] [--json FILE]
// Also used by bench/run.mjs (benchArchives).
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(resolve(here, '..'), 'dist', 'cli', 'main.js');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function timed(cmd, argv) {
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd} ${argv.join(' ')}\n${r.stderr}`);
  return ms;
}

/** `sync` right now, timed (ms): what it takes to put on disk what the command before only wrote to the page cache. */
function timedSync() {
  const t0 = process.hrtime.bigint();
  spawnSync('sync');
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Read every file under `path` (or the file itself), so the timed command starts with a warm page cache. */
function warm(path) {
  spawnSync('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'warm', path]);
}

const clean = (...paths) => {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
  spawnSync('sync');
};

/**
 * Benchmark one corpus folder. Returns per-round times (ms) and the median ratios.
 * @param {{ data: string, work: string, key: string, pub: string, rounds?: number, name?: string }} o
 */
export function benchArchives(o) {
  const rounds = o.rounds ?? 3;
  const name = o.name ?? basename(o.data);
  const w = join(o.work, `archive-${name}`);
  clean(w);
  mkdirSync(w, { recursive: true });
  const store = join(w, 'store');
  execFileSync('node', [cli, 'seal', o.data, '--as', 'bench@v1', '--key', o.key, '--store', store, '--quiet']);
  const T = join(w, 't.tar');
  const E = join(w, 'bench@v1.snap.tar');
  // Warm the page cache for both sides (the dataset for tar, the store objects for snap).
  timed('tar', ['-cf', T, '-C', o.data, '.']);
  timed('node', [cli, 'export', 'bench@v1', '-o', E, '--store', store, '--quiet']);
  // Checks, not timed: a second export is byte-identical; a restore is the original tree.
  const E2 = join(w, 'again.snap.tar');
  timed('node', [cli, 'export', 'bench@v1', '-o', E2, '--store', store, '--quiet']);
  const identical = spawnSync('cmp', ['-s', E, E2]).status === 0;
  clean(E2);
  const rows = { tarC: [], tarCSync: [], exp: [], tarX: [], restoreArchive: [], restoreStore: [] };
  const ratios = { export: [], exportSynced: [], restoreArchive: [], restoreStore: [] };
  let sameTree = true;
  for (let r = 0; r < rounds; r++) {
    const X = join(w, 'x');
    const R1 = join(w, 'r1');
    const R2 = join(w, 'r2');
    clean(T, E, X, R1, R2);
    const snapFirst = r % 2 === 1;
    // Every timed command reads inputs just read (warm page cache, SPEC §9), whatever ran before it.
    let tcSync = 0;
    const tarC = () => {
      warm(o.data);
      const ms = timed('tar', ['-cf', T, '-C', o.data, '.']);
      tcSync = ms + timedSync();
      return ms;
    };
    const exportE = () => (warm(join(store, 'objects')), timed('node', [cli, 'export', 'bench@v1', '-o', E, '--store', store, '--quiet']));
    const tarX = () => (warm(T), timed('tar', ['-xf', T, '-C', X]));
    const restoreE = () => (warm(E), timed('node', [cli, 'restore', E, R1, '--pubkey', o.pub, '--quiet']));
    let tc, ex;
    if (snapFirst) {
      ex = exportE();
      tc = tarC();
    } else {
      tc = tarC();
      ex = exportE();
    }
    // Each extraction's output is removed (and synced) before the next one starts, so no writer
    // finds the page cache full of the one before.
    const tarXclean = () => {
      mkdirSync(X);
      const ms = tarX();
      clean(X);
      return ms;
    };
    const restoreEclean = () => {
      const ms = restoreE();
      if (r === 0) sameTree = spawnSync('diff', ['-rq', '--no-dereference', o.data, R1]).status === 0;
      clean(R1);
      return ms;
    };
    let tx, ra;
    if (snapFirst) {
      ra = restoreEclean();
      tx = tarXclean();
    } else {
      tx = tarXclean();
      ra = restoreEclean();
    }
    const tx2 = tarXclean();
    warm(join(store, 'objects'));
    const rs = timed('node', [cli, 'restore', 'bench@v1', R2, '--pubkey', o.pub, '--store', store, '--quiet']);
    clean(R2);
    rows.tarC.push(tc);
    rows.tarCSync.push(tcSync);
    rows.exp.push(ex);
    rows.tarX.push(tx, tx2);
    rows.restoreArchive.push(ra);
    rows.restoreStore.push(rs);
    ratios.export.push(ex / tc);
    ratios.exportSynced.push(ex / tcSync);
    ratios.restoreArchive.push(ra / tx);
    ratios.restoreStore.push(rs / tx2);
  }
  clean(w);
  return {
    corpus: name,
    rounds,
    identicalExports: identical,
    restoredTreeMatches: sameTree,
    medianMs: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, Math.round(median(v))])),
    ratio: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, median(v)])),
    ratios,
    ms: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.map(Math.round)])),
  };
}

/** Markdown rows for results of {@link benchArchives}. */
export function archiveTable(results) {
  const f = (x) => x.toFixed(2);
  const ok = (x) => (x <= 1.5 ? 'ok' : 'MISS');
  const lines = [
    '| corpus | tar -cf ms | export ms | export × tar -cf | same × (tar -cf; sync) | tar -xf ms | restore FILE ms | restore FILE × tar -xf | restore REF × tar -xf | per-round ratios (export × tar -cf; export × (tar -cf; sync); restore FILE; restore REF) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const per = [r.ratios.export, r.ratios.exportSynced, r.ratios.restoreArchive, r.ratios.restoreStore].map((xs) => xs.map(f).join(' ')).join('; ');
    lines.push(
      `| ${r.corpus} | ${r.medianMs.tarC} | ${r.medianMs.exp} | ${f(r.ratio.export)} (${ok(r.ratio.export)}) | ${f(r.ratio.exportSynced)} | ${r.medianMs.tarX} | ${r.medianMs.restoreArchive} | ${f(r.ratio.restoreArchive)} (${ok(r.ratio.restoreArchive)}) | ${f(r.ratio.restoreStore)} (${ok(r.ratio.restoreStore)}) | ${per} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (n, d) => {
    const i = args.indexOf(`--${n}`);
    return i >= 0 ? args[i + 1] : d;
  };
  if (!existsSync(cli)) {
    console.error('dist/cli/main.js is missing: run "npm run build" first');
    process.exit(2);
  }
  const rounds = Number(opt('rounds', '3'));
  const corpora = opt('corpus', '/tmp/corpus/small,/tmp/corpus/shards').split(',').filter(Boolean);
  const work = resolve(opt('work', join(tmpdir(), 'snap-archive-bench')));
  const jsonOut = opt('json', undefined);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync('node', [cli, 'keygen', 'bench', '--out-dir', join(work, 'keys'), '--quiet']);
  const key = join(work, 'keys', 'bench.key');
  const pub = join(work, 'keys', 'bench.pub');
  const results = [];
  for (const data of corpora) {
    if (!existsSync(data)) {
      console.error(`no corpus at ${data} (make it with bench/make-corpus.mjs)`);
      process.exit(2);
    }
    console.error(`benchmarking ${data} (${rounds} rounds) …`);
    results.push(benchArchives({ data, work, key, pub, rounds }));
  }
  rmSync(work, { recursive: true, force: true });
  console.log(`\nsnap archive bench — ${new Date().toISOString()}, node ${process.version}, ${rounds} rounds (median of per-round ratios; target ≤ 1.5)\n`);
  console.log(archiveTable(results));
  for (const r of results) console.log(`\n${r.corpus}: two exports byte-identical: ${r.identicalExports}; restored tree = original (diff -r): ${r.restoredTreeMatches}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2) + '\n');
}
