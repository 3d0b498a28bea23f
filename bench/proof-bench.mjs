#!/usr/bin/env node
// Inclusion proofs at scale (docs/FORMAT.md §11): `snap prove` streams the manifest once and keeps
// O(log n) hashes, so its peak RSS must not grow with the manifest. A snapshot folder with a
// synthetic manifest of N lines is written (statement and envelope signed with a throw-away key),
// then the first, middle and last entries are proven and checked with `snap verify-proof`.
//
// usage: node bench/proof-bench.mjs [--lines N] [--json FILE]     (run by `npm run bench` too)
//   --lines N   manifest lines of the large snapshot (default 1,000,000); a 1,000-line one is the baseline
//
// Budgets (checked here, never in unit tests): peak RSS of prove on N lines ≤ PROVE_RSS_BUDGET_MIB;
// and prove on N lines still succeeds with V8's heap capped at CAPPED_HEAP_MIB, far less than the
// manifest itself (108 MiB at a million lines): a prover that held the manifest, or one entry per
// line, would die there. (RSS alone rises with N for a while as V8 lets garbage grow its heap:
// about 130 MiB at 1M lines and 146 MiB at 2M, with the same 2.5 KiB proof.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, hash as oneShot } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const cli = process.env.SNAP_BENCH_CLI ?? join(repo, 'dist', 'cli', 'main.js');
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Peak RSS of `snap prove` on the large manifest, in MiB. */
export const PROVE_RSS_BUDGET_MIB = 192;
/** V8 old-space limit (`--max-old-space-size`) under which `snap prove` must still prove the last entry, in MiB. */
export const CAPPED_HEAP_MIB = 32;

function snap(argv, allowed = [0], nodeArgs = []) {
  const node = [process.execPath, ...nodeArgs, cli, ...argv];
  const full = timeBin ? [timeBin, ['-f', '%M', ...node]] : [node[0], node.slice(1)];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!allowed.includes(r.status)) throw new Error(`snap ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const rssKiB = timeBin ? Number(r.stderr.trim().split('\n').pop()) : undefined;
  return { ms, rssMiB: rssKiB === undefined ? undefined : rssKiB / 1024, stdout: r.stdout };
}

/** Write a snapshot folder of `n` file entries `d/NNNNNNN.bin`; returns its folder and one path per position. */
async function writeSnapshot(dir, n, lib, key) {
  const nodeHash = (l, r) => oneShot('sha256', Buffer.concat([Buffer.of(1), l, r]), 'buffer');
  const tree = new lib.MerkleTreeBuilder({ nodeHash });
  const manifestHash = createHash('sha256');
  const fd = openSync(join(dir, 'manifest.jsonl'), 'w');
  const pathOf = (i) => `d/${String(i).padStart(7, '0')}.bin`;
  let chunk = [];
  for (let i = 0; i < n; i++) {
    const line = lib.serializeEntry({ path: pathOf(i), sha256: createHash('sha256').update(String(i)).digest('hex'), size: i % 4096 });
    tree.appendLeafHash(oneShot('sha256', '\0' + line, 'buffer'));
    chunk.push(line + '\n');
    if (chunk.length === 10000 || i === n - 1) {
      const buf = Buffer.from(chunk.join(''));
      manifestHash.update(buf);
      writeSync(fd, buf);
      chunk = [];
    }
  }
  closeSync(fd);
  let total = 0;
  for (let i = 0; i < n; i++) total += i % 4096;
  const statement = lib.buildStatement({
    dataset: 'bench', version: `n${n}`, merkleRoot: lib.toHex(tree.root()), manifestSha256: manifestHash.digest('hex'),
    fileCount: n, totalBytes: total, createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' },
  });
  const bytes = lib.serializeStatement(statement);
  writeFileSync(join(dir, 'statement.json'), bytes);
  writeFileSync(join(dir, 'envelope.json'), lib.serializeEnvelope(lib.signEnvelope(bytes, [key])));
  return { dir, paths: [pathOf(0), pathOf(n >> 1), pathOf(n - 1)] };
}

/** Prove and check the first, middle and last entries of a snapshot folder. */
function measure(snapDir, paths, work, pub) {
  const out = [];
  for (const [where, p] of [['first', paths[0]], ['middle', paths[1]], ['last', paths[2]]]) {
    const file = join(work, `${where}-${Math.random().toString(16).slice(2)}.json`);
    const pr = snap(['prove', snapDir, p, '-o', file]);
    const ve = snap(['verify-proof', file, '--pubkey', pub]);
    out.push({ entry: where, proveMs: Math.round(pr.ms), provePeakRssMiB: pr.rssMiB && Math.round(pr.rssMiB), proofBytes: statSync(file).size, verifyProofMs: Math.round(ve.ms) });
  }
  return out;
}

/** Run the benchmark; returns its figures and whether the budgets held. */
export async function benchProofs({ lines = 1_000_000 } = {}) {
  if (!existsSync(cli)) throw new Error('dist/cli/main.js is missing: run "npm run build" first');
  const lib = await import(join(repo, 'dist', 'index.js'));
  const key = lib.privateKeyFromSeed(new Uint8Array(32).fill(7));
  const work = mkdtempSync(join(tmpdir(), 'snap-proof-bench-'));
  try {
    const pub = join(work, 'bench.pub');
    writeFileSync(pub, lib.encodeKeyPair(key).publicPem);
    const small = await writeSnapshot(mkdtempSync(join(work, 'small-')), 1000, lib, key);
    const t0 = process.hrtime.bigint();
    const large = await writeSnapshot(mkdtempSync(join(work, 'large-')), lines, lib, key);
    const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const baseline = measure(small.dir, small.paths, work, pub);
    const big = measure(large.dir, large.paths, work, pub);
    const maxRss = (rows) => Math.max(...rows.map((r) => r.provePeakRssMiB ?? 0));
    let cappedOk = true;
    try {
      snap(['prove', large.dir, large.paths[2]], [0], [`--max-old-space-size=${CAPPED_HEAP_MIB}`]);
    } catch {
      cappedOk = false;
    }
    return {
      lines, manifestBytes: statSync(join(large.dir, 'manifest.jsonl')).size, buildMs: Math.round(buildMs),
      baseline, large: big,
      budgets: { peakRssMiB: PROVE_RSS_BUDGET_MIB, peakOk: !timeBin || maxRss(big) <= PROVE_RSS_BUDGET_MIB, cappedHeapMiB: CAPPED_HEAP_MIB, cappedOk },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A Markdown table of {@link benchProofs}'s figures. */
export function proofTable(r) {
  const rows = [
    `| manifest | entry | prove ms | prove peak RSS | proof bytes | verify-proof ms |`,
    `|---|---|---|---|---|---|`,
    ...r.baseline.map((x) => `| 1,000 lines | ${x.entry} | ${x.proveMs} | ${x.provePeakRssMiB ?? '?'} MiB | ${x.proofBytes} | ${x.verifyProofMs} |`),
    ...r.large.map((x) => `| ${r.lines.toLocaleString('en-US')} lines (${Math.round(r.manifestBytes / 2 ** 20)} MiB) | ${x.entry} | ${x.proveMs} | ${x.provePeakRssMiB ?? '?'} MiB | ${x.proofBytes} | ${x.verifyProofMs} |`),
  ];
  const b = r.budgets;
  rows.push('', `prove peak RSS ≤ ${b.peakRssMiB} MiB: ${timeBin ? (b.peakOk ? 'ok' : 'MISS') : 'not measured (no /usr/bin/time)'}; prove with the V8 heap capped at ${b.cappedHeapMiB} MiB: ${b.cappedOk ? 'ok' : 'MISS'}`);
  return rows.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : def;
  };
  const r = await benchProofs({ lines: Number(opt('lines', '1000000')) });
  console.log(proofTable(r));
  const jsonFile = opt('json', undefined);
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify(r, null, 2) + '\n');
  if (!(r.budgets.peakOk && r.budgets.cappedOk)) process.exitCode = 1;
}
