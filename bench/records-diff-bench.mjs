#!/usr/bin/env node
// Record diff of two sealed snapshots (docs/FORMAT.md §19.8) against `daff diff --id id`, in paired,
// alternated runs: the tables of records-bench.mjs (N rows, B = A with 100 labels flipped, 100 rows
// added, 100 removed) are made and sealed once (with --keep, kept in DIR for the next run), then each
// round runs `snap diff A B --json` with each given build and daff on the same CSV files, the order
// rotating from round to round. Reports wall time, CPU time (user + sys) and peak RSS from
// /usr/bin/time: median and min–max over the rounds, and the load average before and after.
// Every snap run's output is checked: exactly 100 flipped, 100 added, 100 removed, 0 modified.
//
// usage: node bench/records-diff-bench.mjs [--rows N] [--columns C] [--rounds R] [--dir DIR] [--keep]
//          [--base DIST_PARENT]... [--no-daff] [--json FILE]
//   --base P  also time the build in P/dist/cli/main.js (P holds dist/, package.json, node_modules),
//             e.g. a copy of an earlier build, to compare two versions in one run
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTables, setColumns } from './records-bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const daffBin = join(repo, 'node_modules', 'daff', 'bin', 'daff.js');
const CHANGES = 100;

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const opts = (name) => args.flatMap((a, i) => (a === `--${name}` ? [args[i + 1]] : []));

/** Run under /usr/bin/time: wall and CPU seconds, peak RSS MiB, stdout. */
function timed(cmd, argv) {
  spawnSync('sync');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const [e, u, s, m] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall: e, cpu: u + s, rssMiB: Math.round(m / 1024), code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const rows = Number(opt('rows', '1000000'));
const columns = Number(opt('columns', '0'));
const rounds = Number(opt('rounds', '5'));
const dir = resolve(opt('dir', join(tmpdir(), `snap-recdiff-${rows}-${columns}`)));
const cli = join(repo, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error('dist/cli/main.js is missing: run "npm run build" first');
  process.exit(2);
}
const store = join(dir, 'store');
const ready = join(dir, 'ready');
if (!existsSync(ready)) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.error(`making and sealing ${rows.toLocaleString('en-US')}-row tables in ${dir} …`);
  setColumns(columns);
  makeTables(dir, rows);
  const run = (argv) => {
    const r = spawnSync('node', [cli, ...argv], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`failed: snap ${argv.join(' ')}\n${r.stderr}`);
  };
  run(['keygen', 'bench', '--out-dir', dir]);
  for (const [v, ref] of [['a', 't@v1'], ['b', 't@v2']]) {
    run(['seal', join(dir, `${v}-csv`), '--as', ref, '--key', join(dir, 'bench.key'), '--store', store, '--records', 'train.csv key=id label=label', '--quiet']);
  }
  for (const v of ['a-jsonl', 'b-jsonl']) rmSync(join(dir, v), { recursive: true, force: true });
  writeFileSync(ready, '');
}

const builds = [{ name: 'snap (this build)', cli }, ...opts('base').map((p) => ({ name: `snap (${p})`, cli: join(resolve(p), 'dist', 'cli', 'main.js') }))];
const jobs = builds.map((b) => ({
  name: b.name,
  run: () => {
    const r = timed('node', [b.cli, 'diff', 't@v1', 't@v2', '--store', store, '--json']);
    const set = JSON.parse(r.stdout).records.sets[0];
    const s = set.summary;
    if (s.flipped !== CHANGES || s.added !== CHANGES || s.removed !== CHANGES || s.modified !== 0) throw new Error(`${b.name}: record diff found ${JSON.stringify(s)}`);
    return r;
  },
}));
if (!args.includes('--no-daff')) {
  jobs.push({
    name: 'daff diff --id id',
    run: () => timed('node', ['--max-old-space-size=12000', daffBin, 'diff', '--id', 'id', '--no-color', '--output', join(dir, 'daff.csv'), join(dir, 'a-csv', 'train.csv'), join(dir, 'b-csv', 'train.csv')]),
  });
}
const load0 = loadavg();
const got = jobs.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < jobs.length; k++) {
    const j = (k + r) % jobs.length;
    const t = jobs[j].run();
    got[j].push(t);
    console.error(`round ${r + 1}: ${jobs[j].name}: ${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU, ${t.rssMiB} MiB`);
  }
}
const load1 = loadavg();
const med = (v) => {
  const s = [...v].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const stat = (v) => ({ median: med(v), min: Math.min(...v), max: Math.max(...v) });
const out = { rows, columns: 5 + columns, rounds, load: { before: load0, after: load1 }, jobs: jobs.map((j, i) => ({ name: j.name, wall: stat(got[i].map((t) => t.wall)), cpu: stat(got[i].map((t) => t.cpu)), rssMiB: stat(got[i].map((t) => t.rssMiB)) })) };
const f = (s) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
console.log(`${rows.toLocaleString('en-US')} rows × ${5 + columns} columns, ${rounds} rounds; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${load1.map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| | wall s, median (min–max) | CPU s (user+sys) | peak RSS MiB |\n|---|---|---|---|');
for (const j of out.jobs) console.log(`| ${j.name} | ${f(j.wall)} | ${f(j.cpu)} | ${j.rssMiB.max} |`);
const daff = out.jobs.find((j) => j.name.startsWith('daff'));
if (daff) for (const j of out.jobs.filter((x) => x !== daff)) console.log(`\ndaff ÷ ${j.name}: ${(daff.wall.median / j.wall.median).toFixed(1)} × (wall), ${(daff.cpu.median / j.cpu.median).toFixed(1)} × (CPU)`);
const json = opt('json', undefined);
if (json) writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
