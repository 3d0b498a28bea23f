#!/usr/bin/env node
// Pairing many files or records of one content, and collecting many links of one record set, stay linear (helper-133, 2026-11-30): diff's rename
// pairing (src/ops/diff.ts pairRenames), verify's and verify --merge's move pairing (src/shards/merge.ts
// mergeShardReports) and the record diff's leftovers (src/records/record-diff.ts pairLeftovers, and
// pairPathLeftovers of a label-folder set's shared names) each took
// one list per digest off its front with shift(), quadratic in its length: 35–55 CPU-seconds for a few
// hundred thousand entries that a crafted archive's manifest or record index can list. Each case is timed
// here in CPU-seconds against a budget; the unit tests check only what is paired.
//
// usage: node bench/pairing-bench.mjs [--n N]     (needs `npm run build`)
import { pairRenames } from '../dist/ops/diff.js';
import { pairLeftovers, pairPathLeftovers } from '../dist/records/record-diff.js';
import { nameMoves } from '../dist/records/label-flips.js';
import { linkBreaches } from '../dist/records/check.js';

/** Budget per case, in CPU-seconds (the quadratic pairing took 35–55 here at the default N). */
export const PAIRING_BUDGET_CPU_S = 2;

const at = process.argv.indexOf('--n');
const n = at > 0 ? Number(process.argv[at + 1]) : 400_000;
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const name = (i) => String(i).padStart(7, '0');

function cpu(f) {
  const t0 = process.cpuUsage();
  const out = f();
  const u = process.cpuUsage(t0);
  return { seconds: (u.user + u.system) / 1e6, out };
}

const rows = [];
{
  const removed = Array.from({ length: n }, (_, i) => ({ path: `a/${name(i)}`, sha256: EMPTY, size: 0 }));
  const added = Array.from({ length: n }, (_, i) => ({ path: `b/${name(i)}`, sha256: EMPTY, size: 0 }));
  const r = cpu(() => pairRenames(removed, added));
  if (r.out.length !== n) throw new Error(`pairRenames paired ${r.out.length} of ${n}`);
  rows.push(['diff: renames of one content (pairRenames)', r.seconds]);
}
{
  const la = Array.from({ length: n }, (_, i) => ({ features: 'f'.repeat(64), fingerprint: `a${i}`, label: 'ham', row: i }));
  const lb = Array.from({ length: n }, (_, i) => ({ features: 'f'.repeat(64), fingerprint: `b${i}`, label: 'spam', row: i }));
  const counts = { a: n, b: n, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, duplicatesA: 0, duplicatesB: 0, labelsA: {}, labelsB: {} };
  const none = () => {
    throw new Error('nothing but flips here');
  };
  const r = cpu(() => pairLeftovers(la, lb, counts, { added: none, removed: none, modified: none, duplicate: none, flipped: () => {} }, none, none));
  if (counts.flipped !== n) throw new Error(`pairLeftovers flipped ${counts.flipped} of ${n}`);
  rows.push(['record diff: duplicates relabelled (pairLeftovers)', r.seconds]);
}
{
  const problems = [
    ...Array.from({ length: n }, (_, i) => ({ path: `a/${name(i)}`, kind: 'missing', expected: { sha256: EMPTY, size: 0 } })),
    ...Array.from({ length: n }, (_, i) => ({ path: `b/${name(i)}`, kind: 'extra', actual: { sha256: EMPTY, size: 0 } })),
  ];
  const r = cpu(() => nameMoves(problems));
  const paired = problems.filter((p) => p.movedTo !== undefined).length;
  if (paired !== n) throw new Error(`nameMoves paired ${paired} of ${n}`);
  rows.push(['verify, verify --merge: moves of one content (nameMoves)', r.seconds]);
}
{
  // A label-folder set's one name under many labels (a forged index may list it under one label
  // many times): pairPathLeftovers scanned A for each record of B, 8–36 s at 40,000 a side.
  const hex = (s, i) => s + String(i).padStart(63, '0');
  const la = Array.from({ length: n }, (_, i) => ({ features: hex('a', i), fingerprint: hex('c', i), key: '["x"]', label: `l${i}`, row: i + 1 }));
  const lb = Array.from({ length: n }, (_, i) => ({ features: hex('a', n - 1 - i), fingerprint: hex('d', i), key: '["x"]', label: `n${i}`, row: i + 1 }));
  const lb2 = Array.from({ length: n }, (_, i) => ({ features: hex('b', i), fingerprint: hex('e', i), key: '["x"]', label: `l${n - 1 - i}`, row: i + 1 }));
  const counts = { flipped: 0, modified: 0 };
  const sink = { flipped: () => {}, modified: () => {} };
  const flips = cpu(() => pairPathLeftovers(la, lb, counts, sink)); // every B label new, each with the content of one of A
  const edits = cpu(() => pairPathLeftovers(la, lb2, counts, sink)); // the same labels, other contents
  if (counts.flipped !== n || counts.modified !== n) throw new Error(`pairPathLeftovers: ${counts.flipped} flipped, ${counts.modified} modified of ${n}`);
  rows.push(['record diff: one file name under many labels, moved (pairPathLeftovers)', flips.seconds]);
  rows.push(['record diff: one file name under many labels, edited (pairPathLeftovers)', edits.seconds]);
}
{
  const links = Array.from({ length: n }, (_, i) => `mail/spam/l${name(i)}`);
  const r = cpu(() => linkBreaches(links, [{ pattern: 'mail/*/', files: true }]));
  if (r.out[0]?.value.length !== n) throw new Error(`linkBreaches named ${r.out[0]?.value.length} of ${n}`);
  rows.push(['check: links planted in one label folder (linkBreaches)', r.seconds]);
}
console.log(`| case (N = ${n.toLocaleString('en')}) | CPU-s | budget ${PAIRING_BUDGET_CPU_S} |`);
console.log('|---|---|---|');
let over = 0;
for (const [what, s] of rows) {
  console.log(`| ${what} | ${s.toFixed(2)} | ${s <= PAIRING_BUDGET_CPU_S ? 'ok' : 'OVER'} |`);
  if (s > PAIRING_BUDGET_CPU_S) over++;
}
process.exitCode = over > 0 ? 1 : 0;
