#!/usr/bin/env node
// Record benchmark (docs/FORMAT.md §19): on a generated table of N rows (id, x, y, text, label),
// as CSV and as JSONL, measured in one run, warm page cache:
//   - seal with a record index against seal without one (--no-records), into an empty store;
//   - a second version with 100 labels flipped, 100 rows added and 100 removed:
//     `snap diff A B` between the two sealed snapshots (indexes only), and between snapshot A and
//     the folder of B (B indexed on the fly), against `daff diff --id id` (npm daff) on the same CSVs;
//   - peak RSS of each (from /usr/bin/time).
// The diff output is checked: exactly 100 flipped, 100 added, 100 removed.
//
// usage: node bench/records-bench.mjs [--help] [--rows N] [--columns C] [--formats csv,jsonl] [--dir DIR] [--no-daff] [--json FILE]
//        node bench/records-bench.mjs --seal-rounds R [--rows N] [--formats csv,jsonl] [--files K] [--one-thread] [--cli PATH]
//   --seal-rounds R  only the seal figures, R paired rounds: each round seals without and with a record
//                index, alternated (without, with, without, with …), and prints per format the medians
//                (min–max) of wall time, CPU-seconds (user + sys of the process) and peak RSS, and the
//                ratio with / without of each pair; the load average before and after
//   --files K    with --seal-rounds: the table cut into K files (train-000.csv …, each with the header),
//                and a third seal per round, with the index and --jobs 1 (the files read one after
//                another), so that the gain of reading several files at once is paired in the same run
//   --one-thread with --seal-rounds: that third seal (--jobs 1) also for one file. One file is read on
//                one thread whatever --jobs is (a split read was tried and not landed: docs/PERFORMANCE.md,
//                "Fourteenth session"), so today the two seals should agree: a check that --jobs costs nothing
//   --cli PATH   run another build's dist/cli/main.js (to measure before / after a change)
//   --columns C  C extra numeric feature columns (default 0: id, x, y, text, label); daff's time grows
//                with the columns, snap's record diff does not (an index line per record, whatever its width)
// Also used by bench/run.mjs (benchRecords), unless it is given --no-records.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
let cli = join(repo, 'dist', 'cli', 'main.js');
const daffBin = join(repo, 'node_modules', 'daff', 'bin', 'daff.js');
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const LABELS = ['cat', 'dog', 'bird'];
const CHANGES = 100;

/** Run a command after `sync`; wall ms, peak RSS (MiB), CPU-seconds (user + sys), stdout. */
function run(cmd, argv, { allowFail = false, env } = {}) {
  spawnSync('sync');
  const full = timeBin ? [timeBin, ['-f', '%U %S %M', cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !allowFail) throw new Error(`failed (${r.status}): ${cmd} ${argv.join(' ')}\n${r.stderr.slice(-2000)}`);
  const last = timeBin ? r.stderr.trim().split('\n').pop()?.split(' ').map(Number) : undefined;
  return { ms, rssMiB: last ? Math.round(last[2] / 1024) : undefined, cpuS: last ? last[0] + last[1] : undefined, code: r.status, stdout: r.stdout };
}
const warm = (path) => spawnSync('sh', ['-c', 'find "$1" -type f -exec cat {} + > /dev/null', 'warm', path]);

let EXTRA = 0;
/** Set the number of extra numeric feature columns of the tables `makeTables` writes. */
export const setColumns = (c) => {
  EXTRA = c;
};
/** One row of the table, in both formats. */
function row(i) {
  const x = ((i * 0.37) % 97).toFixed(4);
  const y = (i * 7919) % 100003;
  const text = `word${i % 1000} text ${i % 77}`;
  const r = { id: i, x, y, text };
  for (let c = 0; c < EXTRA; c++) r[`f${c}`] = ((i * (c + 3) * 0.013) % 10).toFixed(3);
  r.label = LABELS[i % 3];
  return r;
}

/** Write version A (rows 0..n-1) and version B (100 flips, 100 removed, 100 added) as CSV and JSONL. */
export function makeTables(dir, n) {
  const pick = (k, salt) => (k * 104729 + salt * 7) % n; // spread over the table
  const flip = new Set(Array.from({ length: CHANGES }, (_, k) => pick(k + 1, 1)));
  const removed = new Set();
  for (let k = 1; removed.size < CHANGES; k++) {
    const r = pick(k + 1, 2);
    if (!flip.has(r)) removed.add(r);
  }
  const out = {};
  for (const v of ['a', 'b']) for (const f of ['csv', 'jsonl']) {
    mkdirSync(join(dir, `${v}-${f}`), { recursive: true });
    out[`${v}-${f}`] = openSync(join(dir, `${v}-${f}`, `train.${f}`), 'w');
  }
  const header = Object.keys(row(0)).join(',') + '\n';
  const buf = { 'a-csv': [header], 'b-csv': [header], 'a-jsonl': [], 'b-jsonl': [] };
  const flush = (force) => {
    for (const k of Object.keys(buf)) if (force || buf[k].length >= 20000) {
      writeSync(out[k], buf[k].join(''));
      buf[k] = [];
    }
  };
  const put = (v, r) => {
    buf[`${v}-csv`].push(Object.values(r).join(',') + '\n');
    buf[`${v}-jsonl`].push(JSON.stringify(r) + '\n');
  };
  for (let i = 0; i < n; i++) {
    const r = row(i);
    put('a', r);
    if (removed.has(i)) continue;
    put('b', flip.has(i) ? { ...r, label: LABELS[(i + 1) % 3] } : r);
    if (i % 20000 === 0) flush(false);
  }
  for (let k = 0; k < CHANGES; k++) put('b', { ...row(n + k), id: n + k });
  flush(true);
  for (const fd of Object.values(out)) closeSync(fd);
}

/**
 * The record benchmark; returns its figures.
 * @param o.work a scratch folder (made and removed here)
 */
export function benchRecords({ work, key, pub, rows = 1_000_000, daff = true, columns = 0, formats = ['csv', 'jsonl'] }) {
  EXTRA = columns;
  const dir = join(work, `records-${rows}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (!key) {
    run('node', [cli, 'keygen', 'bench', '--out-dir', dir]);
    key = join(dir, 'bench.key');
    pub = join(dir, 'bench.pub');
  }
  console.error(`records: making ${rows.toLocaleString('en-US')}-row tables in ${dir} …`);
  makeTables(dir, rows);
  const out = { rows, columns: 5 + columns, changes: { flipped: CHANGES, added: CHANGES, removed: CHANGES } };
  for (const f of formats) {
    const a = join(dir, `a-${f}`);
    const b = join(dir, `b-${f}`);
    const rule = `train.${f} key=id label=label`;
    const store = (s) => join(dir, `store-${f}-${s}`);
    warm(a);
    const plain = run('node', [cli, 'seal', a, '--as', 't@v1', '--key', key, '--store', store('plain'), '--no-records', '--quiet']);
    warm(a);
    const indexed = run('node', [cli, 'seal', a, '--as', 't@v1', '--key', key, '--store', store('rec'), '--records', rule, '--quiet']);
    warm(b);
    run('node', [cli, 'seal', b, '--as', 't@v2', '--key', key, '--store', store('rec'), '--records', rule, '--quiet']);
    const d = run('node', [cli, 'diff', 't@v1', 't@v2', '--store', store('rec'), '--json'], { allowFail: true });
    const set = JSON.parse(d.stdout).records.sets[0];
    const got = { flipped: set.summary.flipped, added: set.summary.added, removed: set.summary.removed, modified: set.summary.modified };
    if (got.flipped !== CHANGES || got.added !== CHANGES || got.removed !== CHANGES || got.modified !== 0) throw new Error(`records diff found ${JSON.stringify(got)}`);
    warm(b);
    const folder = run('node', [cli, 'diff', 't@v1', b, '--store', store('rec'), '--json'], { allowFail: true });
    out[f] = {
      bytes: Number(spawnSync('stat', ['-c', '%s', join(a, `train.${f}`)], { encoding: 'utf8' }).stdout.trim()),
      sealWithout: { ms: Math.round(plain.ms), rssMiB: plain.rssMiB },
      sealWith: { ms: Math.round(indexed.ms), rssMiB: indexed.rssMiB },
      sealRatio: indexed.ms / plain.ms,
      diffSnapshots: { ms: Math.round(d.ms), rssMiB: d.rssMiB },
      diffFolder: { ms: Math.round(folder.ms), rssMiB: folder.rssMiB },
    };
    for (const s of ['plain', 'rec']) rmSync(store(s), { recursive: true, force: true });
  }
  if (daff && out.csv) {
    warm(join(dir, 'a-csv'));
    warm(join(dir, 'b-csv'));
    const r = run('node', ['--max-old-space-size=12000', daffBin, 'diff', '--id', 'id', '--no-color', '--output', join(dir, 'daff.csv'), join(dir, 'a-csv', 'train.csv'), join(dir, 'b-csv', 'train.csv')], { allowFail: true });
    out.daff = { ms: Math.round(r.ms), rssMiB: r.rssMiB, exit: r.code };
    out.daffOverSnap = r.ms / out.csv.diffSnapshots.ms;
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/**
 * Seal only, paired and alternated: per round and format, seal without a record index, then with
 * one (each into a fresh store). Returns per format the runs and their medians (min–max).
 * @param o.work a scratch folder (made and removed here)
 */
export function benchSealPairs({ work, rows = 1_000_000, rounds = 5, formats = ['csv', 'jsonl'], columns = 0, files = 1, oneThread = false }) {
  EXTRA = columns;
  const dir = join(work, `records-seal-${rows}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('node', [cli, 'keygen', 'bench', '--out-dir', dir]);
  const key = join(dir, 'bench.key');
  console.error(`records: making ${rows.toLocaleString('en-US')}-row tables in ${dir} …`);
  makeTables(dir, rows);
  if (files > 1) for (const f of formats) splitTable(join(dir, `a-${f}`), `train.${f}`, files, f === 'csv');
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const out = { rows, rounds, files, oneThread: oneThread || files > 1, loadBefore: load() };
  const modes = out.oneThread ? ['without', 'with', 'withOneThread'] : ['without', 'with'];
  for (const f of formats) out[f] = Object.fromEntries(modes.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    for (const f of formats) {
      const a = join(dir, `a-${f}`);
      const store = join(dir, `store-${f}`);
      for (const mode of modes) {
        rmSync(store, { recursive: true, force: true });
        warm(a);
        const rule = files > 1 ? `train-*.${f} key=id label=label` : `train.${f} key=id label=label`;
        const flags = mode === 'without' ? ['--no-records'] : ['--records', rule, ...(mode === 'withOneThread' ? ['--jobs', '1'] : [])];
        const x = run('node', [cli, 'seal', a, '--as', 't@v1', '--key', key, '--store', store, ...flags, '--quiet']);
        out[f][mode].push({ ms: Math.round(x.ms), cpuS: x.cpuS, rssMiB: x.rssMiB });
        console.error(`records: round ${r + 1} ${f} ${mode}: ${(x.ms / 1000).toFixed(2)} s wall, ${x.cpuS?.toFixed(2)} CPU-s, ${x.rssMiB} MiB`);
      }
      rmSync(store, { recursive: true, force: true });
    }
  }
  out.loadAfter = load();
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Cut `dir/name` into `k` files `train-000.EXT` … of about equal rows (each CSV part with the header), then remove it. */
function splitTable(dir, name, k, header) {
  const lines = readFileSync(join(dir, name), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const head = header ? lines.shift() + '\n' : '';
  const ext = name.split('.').pop();
  const per = Math.ceil(lines.length / k);
  for (let i = 0; i < k; i++) writeFileSync(join(dir, `train-${String(i).padStart(3, '0')}.${ext}`), head + lines.slice(i * per, (i + 1) * per).map((l) => l + '\n').join(''));
  rmSync(join(dir, name));
}

/** Median and min–max of numbers, as text. */
function spread(xs, digits = 2) {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${m.toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`;
}

/** The paired seal figures as a Markdown table. */
export function sealPairsTable(r) {
  const formats = ['csv', 'jsonl'].filter((f) => r[f]);
  const split = r.oneThread || r.files > 1;
  const lines = [`${r.rows.toLocaleString('en-US')} rows${r.files > 1 ? ` in ${r.files} files` : ''}, ${r.rounds} rounds (${split ? 'without, with, with --jobs 1' : 'without, with'} alternated); medians (min–max); load average ${r.loadBefore} before, ${r.loadAfter} after`, '', `| | ${formats.map((f) => f.toUpperCase()).join(' | ')} |`, `|---|${formats.map(() => '---').join('|')}|`];
  const row = (name, fn) => lines.push(`| ${name} | ${formats.map((f) => fn(r[f])).join(' | ')} |`);
  row('seal without: wall s', (x) => spread(x.without.map((y) => y.ms / 1000)));
  row('seal with: wall s', (x) => spread(x.with.map((y) => y.ms / 1000)));
  row('seal without: CPU-s', (x) => spread(x.without.map((y) => y.cpuS)));
  row('seal with: CPU-s', (x) => spread(x.with.map((y) => y.cpuS)));
  row('ratio with / without, wall (per pair)', (x) => spread(x.with.map((y, i) => y.ms / x.without[i].ms)));
  row('ratio with / without, CPU (per pair)', (x) => spread(x.with.map((y, i) => y.cpuS / x.without[i].cpuS)));
  if (split) {
    row('seal with, --jobs 1 (one thread reads): wall s', (x) => spread(x.withOneThread.map((y) => y.ms / 1000)));
    row('seal with, --jobs 1: CPU-s', (x) => spread(x.withOneThread.map((y) => y.cpuS)));
    row('speed-up of the default --jobs over --jobs 1, wall (per round)', (x) => spread(x.with.map((y, i) => x.withOneThread[i].ms / y.ms)));
    row('ratio with / without, wall, --jobs 1 (per pair)', (x) => spread(x.withOneThread.map((y, i) => y.ms / x.without[i].ms)));
  }
  row('peak RSS without / with, MiB (max)', (x) => `${Math.max(...x.without.map((y) => y.rssMiB))} / ${Math.max(...x.with.map((y) => y.rssMiB))}`);
  if (split) row('peak RSS with --jobs 1, MiB (max)', (x) => `${Math.max(...x.withOneThread.map((y) => y.rssMiB))}`);
  return lines.join('\n');
}

/** The figures as a Markdown table. */
export function recordsTable(r) {
  const s = (x) => (x ? `${(x.ms / 1000).toFixed(2)} s, ${x.rssMiB ?? '?'} MiB` : '–');
  const both = (f) => `${r.csv ? f(r.csv) : '–'} | ${r.jsonl ? f(r.jsonl) : '–'}`;
  const lines = [`${r.rows.toLocaleString('en-US')} rows × ${r.columns} columns; B = A with ${CHANGES} labels flipped, ${CHANGES} rows added, ${CHANGES} removed`, '', '| | CSV | JSONL |', '|---|---|---|'];
  lines.push(`| file size | ${both((x) => `${(x.bytes / 2 ** 20).toFixed(1)} MiB`)} |`);
  lines.push(`| seal without record index (--no-records) | ${both((x) => s(x.sealWithout))} |`);
  lines.push(`| seal with record index | ${both((x) => s(x.sealWith))} |`);
  lines.push(`| ratio with / without (target ≤ 2) | ${both((x) => x.sealRatio.toFixed(1))} |`);
  lines.push(`| diff A B, two sealed snapshots | ${both((x) => s(x.diffSnapshots))} |`);
  lines.push(`| diff A B, snapshot A and folder B (B indexed on the fly) | ${both((x) => s(x.diffFolder))} |`);
  if (r.daff) lines.push(`| daff diff --id id (CSV files) | ${s(r.daff)}${r.daff.exit !== 0 ? ` (exit ${r.daff.exit})` : ''}; ${r.daffOverSnap.toFixed(1)} × snap's diff of the two snapshots (target ≥ 20) | |`);
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    // The usage is this file's header comment.
    const head = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
    console.log(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  }
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : def;
  };
  if (opt('cli', undefined)) cli = resolve(opt('cli', undefined)); // another build's CLI, to compare builds
  if (!existsSync(cli)) {
    console.error('dist/cli/main.js is missing: run "npm run build" first');
    process.exit(2);
  }
  const work = resolve(opt('dir', process.env.SNAP_BENCH_DIR ?? join(tmpdir(), 'snap-bench')));
  if (opt('seal-rounds', undefined) !== undefined) {
    const r = benchSealPairs({ work, rows: Number(opt('rows', '1000000')), rounds: Number(opt('seal-rounds', '5')), columns: Number(opt('columns', '0')), formats: opt('formats', 'csv,jsonl').split(','), files: Number(opt('files', '1')), oneThread: args.includes('--one-thread') });
    console.log(sealPairsTable(r));
    const json = opt('json', undefined);
    if (json) writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
    process.exit(0);
  }
  const r = benchRecords({ work, rows: Number(opt('rows', '1000000')), columns: Number(opt('columns', '0')), formats: opt('formats', 'csv,jsonl').split(','), daff: !args.includes('--no-daff') });
  console.log(recordsTable(r));
  const json = opt('json', undefined);
  if (json) writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
}
