#!/usr/bin/env node
// Verify on hostile input stays fast (issue 8, item 0): an envelope stuffed with junk signatures,
// tried against several trusted keys. Each case runs `snap verify` as a whole process and must end
// within its time budget; the budgets live here, never in unit tests.
//
// usage: node bench/hostile-bench.mjs [--rounds R] [--json FILE]    (run by `npm run bench` too)
//
// Cases (a one-file dataset sealed by key 1 of 4; all four keys trusted with --threshold 4, so every
// signature is tried against every key that has not yet been matched):
//   cap          64 signatures (MAX_SIGNATURES): 63 junk + 1 valid       → exit 1 (threshold not met)
//   over-cap     30,000 junk signatures (the attack seen: 14 s before)   → exit 1 (refused at parse)
//   archive      an archive whose envelope is ~1 MiB of junk signatures  → exit 1 (refused at parse)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
// SNAP_BENCH_CLI=path/to/main.js measures another build (e.g. an older one, for a before/after figure).
const cli = process.env.SNAP_BENCH_CLI ?? join(resolve(here, '..'), 'dist', 'cli', 'main.js');
/**
 * Budget per hostile verify, in ms, over a plain verify of the same snapshot (one valid signature,
 * one key) measured in the same run: the machine's own noise and start-up cost are in the baseline.
 */
export const HOSTILE_EXTRA_BUDGET_MS = 1000;

function snap(args, allowed = [0]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!allowed.includes(r.status)) throw new Error(`snap ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, status: r.status, stdout: r.stdout };
}

// Junk that costs a verifier the most: well-formed Ed25519 signatures (a valid point R, S < L) made
// by a key nobody trusts, over other bytes, so each one runs a full verification before it fails.
const attacker = generateKeyPairSync('ed25519').privateKey;
const junk = (n, keyid) => Array.from({ length: n }, (_, i) => ({ keyid, sig: sign(null, Buffer.from(`junk ${i}`), attacker).toString('base64') }));

/** Run every case `rounds` times; returns rows {case, signatures, exit, medianMs, maxMs, budgetMs, ok}. */
export function benchHostile({ rounds = 3 } = {}) {
  if (!existsSync(cli)) throw new Error('dist/cli/main.js is missing: run "npm run build" first');
  const work = mkdtempSync(join(tmpdir(), 'snap-hostile-'));
  try {
    const keys = [1, 2, 3, 4].map((i) => {
      snap(['keygen', `k${i}`, '--out-dir', work, '--json']);
      return { key: join(work, `k${i}.key`), pub: join(work, `k${i}.pub`) };
    });
    const data = join(work, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a.txt'), 'a\n');
    const store = join(work, 'store');
    snap(['seal', data, '--as', 'ds@v1', '--key', keys[0].key, '--store', store, '--json']);
    const envPath = join(store, 'snapshots', 'ds', 'v1', 'envelope.json');
    const env = JSON.parse(readFileSync(envPath, 'utf8'));
    const pubs = keys.flatMap((k) => ['--pubkey', k.pub]);
    const writeEnv = (e) => {
      chmodSync(envPath, 0o644);
      writeFileSync(envPath, JSON.stringify(e));
    };
    const cases = [];
    cases.push({ name: 'cap: 64 signatures, 4 trusted keys', signatures: 64, env: { ...env, signatures: [...junk(63, env.signatures[0].keyid), ...env.signatures] } });
    cases.push({ name: 'over the cap: 30,000 junk signatures', signatures: 30000, env: { ...env, signatures: junk(30000, 'x') } });
    const rows = [];
    const timed = (argv, allowed) => {
      const times = [];
      let status;
      for (let r = 0; r < rounds; r++) {
        const out = snap(argv, allowed);
        times.push(out.ms);
        status = out.status;
      }
      return { times, status };
    };
    const base = timed(['verify', data, '--against', 'ds@v1', '--pubkey', keys[0].pub, '--store', store, '--json'], [0]);
    const baseline = median(base.times);
    rows.push(row('baseline: 1 valid signature, 1 key', 1, base.status, base.times, baseline));
    for (const c of cases) {
      writeEnv(c.env);
      const times = [];
      let status;
      for (let r = 0; r < rounds; r++) {
        const out = snap(['verify', data, '--against', 'ds@v1', ...pubs, '--threshold', '4', '--store', store, '--json'], [1]);
        times.push(out.ms);
        status = out.status;
      }
      rows.push(row(c.name, c.signatures, status, times, baseline));
    }
    // An archive with a ~1 MiB envelope.
    writeEnv(env);
    const file = join(work, 'ds@v1.snap.tar');
    snap(['export', 'ds@v1', '-o', file, '--store', store, '--json']);
    writeEnv({ ...env, signatures: junk(7000, env.signatures[0].keyid) });
    const file2 = join(work, 'big-envelope.snap.tar');
    snap(['export', 'ds@v1', '-o', file2, '--store', store, '--json'], [0, 1, 3]);
    if (existsSync(file2)) {
      const times = [];
      let status;
      for (let r = 0; r < rounds; r++) {
        const out = snap(['verify', file2, ...pubs, '--threshold', '4', '--json'], [1, 3]);
        times.push(out.ms);
        status = out.status;
      }
      rows.push(row('archive with a ~1 MiB envelope (7,000 signatures)', 7000, status, times, baseline));
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function row(name, signatures, exit, times, baseline) {
  const medianMs = median(times);
  const budgetMs = Math.round(baseline + HOSTILE_EXTRA_BUDGET_MS);
  return { case: name, signatures, exit, medianMs: Math.round(medianMs), maxMs: Math.round(Math.max(...times)), budgetMs, ok: medianMs <= budgetMs };
}

/** Markdown table of {@link benchHostile} rows. */
export function hostileTable(rows) {
  const lines = ['| hostile input | exit | median ms | max ms | budget ms | within |', '|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.case} | ${r.exit} | ${r.medianMs} | ${r.maxMs} | ${r.budgetMs} | ${r.ok ? 'yes' : 'NO'} |`);
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--rounds');
  const rows = benchHostile({ rounds: i >= 0 ? Number(args[i + 1]) : 3 });
  console.log(hostileTable(rows));
  const j = args.indexOf('--json');
  if (j >= 0) writeFileSync(args[j + 1], JSON.stringify(rows, null, 2));
  process.exit(rows.every((r) => r.ok) ? 0 : 1);
}
