#!/usr/bin/env node
// Main-thread CPU of whole `snap` commands (issue 14, item 3: the main thread must not become the
// limit on many cores). Runs `snap seal --manifest-only` and `snap verify` on DIR, and the same two
// on a one-file folder (start-up: loading the command, the key, the signature), R rounds each, and
// samples the main thread's CPU time (/proc/PID/task/PID/schedstat, nanoseconds on the CPU) every
// 2 ms until the process ends, keeping the last sample. The per-file figure is (main-thread CPU on
// DIR − on one file) ÷ files, and 1 s ÷ that is how many files per second one main thread could
// feed however many workers hash. Linux only (schedstat).
//
// usage: node bench/main-thread.mjs DIR [--rounds R] [--cli PATH]
//   --cli PATH  another build's dist/cli/main.js (to compare before / after a change)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const dir = resolve(args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? '');
const rounds = Number(opt('rounds', '3'));
const cli = resolve(opt('cli', join(here, '..', 'dist', 'cli', 'main.js')));
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run "npm run build" first`);
  process.exit(2);
}
if (!existsSync('/proc/self/task')) {
  console.error('main-thread.mjs needs Linux /proc (schedstat)');
  process.exit(2);
}

/** Run `node cli ...argv` and return the main thread's CPU ms (last schedstat sample before it ended). */
function mainThreadMs(argv) {
  return new Promise((res, rej) => {
    const child = spawn('node', [cli, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    let last = NaN;
    const sample = () => {
      try {
        last = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      } catch {
        /* ended */
      }
    };
    const timer = setInterval(sample, 2);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) rej(new Error(`snap ${argv[0]} exited ${code}: ${err.trim()}`));
      else res(last);
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'snap-main-thread-'));
try {
  execFileSync('node', [cli, 'keygen', 'bench', '--out-dir', work, '--quiet']);
  const key = join(work, 'bench.key');
  const pub = join(work, 'bench.pub');
  const store = join(work, 'store');
  const one = join(work, 'one');
  mkdirSync(one);
  writeFileSync(join(one, 'a.bin'), 'one file');
  execFileSync('node', [cli, 'seal', dir, '--as', 'big@v1', '--key', key, '--store', store, '--manifest-only', '--quiet']);
  execFileSync('node', [cli, 'seal', one, '--as', 'one@v1', '--key', key, '--store', store, '--manifest-only', '--quiet']);
  const files = JSON.parse(execFileSync('node', [cli, 'show', 'big@v1', '--store', store, '--json'], { encoding: 'utf8' })).statement.predicate.fileCount;
  const rows = { seal: [], verify: [], sealOne: [], verifyOne: [] };
  for (let r = 0; r < rounds; r++) {
    rows.sealOne.push(await mainThreadMs(['seal', one, '--as', `one@s${r}`, '--key', key, '--store', store, '--manifest-only', '--quiet']));
    rows.seal.push(await mainThreadMs(['seal', dir, '--as', `big@s${r}`, '--key', key, '--store', store, '--manifest-only', '--quiet']));
    rows.verifyOne.push(await mainThreadMs(['verify', one, '--against', 'one@v1', '--pubkey', pub, '--store', store, '--quiet']));
    rows.verify.push(await mainThreadMs(['verify', dir, '--against', 'big@v1', '--pubkey', pub, '--store', store, '--quiet']));
    console.error(`round ${r + 1}: main thread CPU ms: seal ${rows.seal[r].toFixed(0)} (one file ${rows.sealOne[r].toFixed(0)}), verify ${rows.verify[r].toFixed(0)} (one file ${rows.verifyOne[r].toFixed(0)})`);
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  console.log(`${files} files, ${rounds} rounds; main-thread CPU, median (min–max) over rounds, start-up (a one-file run) subtracted per round`);
  for (const [name, big, small] of [['seal --manifest-only', rows.seal, rows.sealOne], ['verify', rows.verify, rows.verifyOne]]) {
    const us = big.map((b, i) => ((b - small[i]) * 1000) / files);
    console.log(`${name}: ${median(us).toFixed(1)} (${Math.min(...us).toFixed(1)}–${Math.max(...us).toFixed(1)}) µs per file, start-up ${median(small).toFixed(0)} ms: one main thread feeds at most ${Math.round(1e6 / median(us)).toLocaleString('en-US')} files/s`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
