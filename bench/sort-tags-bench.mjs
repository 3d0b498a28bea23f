#!/usr/bin/env node
// Sorting conflict tags (src/records/sort-tags.ts) against Float64Array.prototype.sort, in one
// process: N tags like the record diff's (a random 40-bit prefix × 4096 + a label number 0–3), each
// round sorting a fresh copy with each, alternated; every sortTags result is compared with the
// built-in sort's. Prints medians with min–max (ms per sort) and the load average. A
// micro-benchmark, not a target: `snap diff` is what counts (see docs/PERFORMANCE.md).
//
// usage: node bench/sort-tags-bench.mjs [--n N] [--rounds R] [--repeat K]   (needs `npm run build`)
//   --n N       tags per sort (default 1,000,000)
//   --rounds R  rounds (default 5); each round times both sorts
//   --repeat K  sorts per timing (default 1; for small N), each on a fresh copy
import { loadavg } from 'node:os';
import { sortTags } from '../dist/records/sort-tags.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const n = opt('n', 1_000_000);
const rounds = opt('rounds', 5);
const repeat = opt('repeat', 1);

const tags = new Float64Array(n);
for (let i = 0; i < n; i++) tags[i] = Math.floor(Math.random() * 2 ** 40) * 4096 + Math.floor(Math.random() * 4);
const expected = tags.slice().sort();

/** Milliseconds per sort of a fresh copy (copies made before the clock starts). */
function time(sort) {
  const copies = Array.from({ length: repeat }, () => tags.slice());
  const t0 = process.hrtime.bigint();
  for (const c of copies) sort(c);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / repeat;
  const last = copies[copies.length - 1];
  for (let i = 0; i < n; i++) if (!Object.is(last[i], expected[i])) throw new Error(`different result at ${i}`);
  return ms;
}

const kinds = { 'Float64Array.sort': (v) => v.sort(), sortTags };
const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
const load0 = loadavg()[0];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? Object.keys(kinds) : Object.keys(kinds).reverse();
  for (const k of order) times[k].push(time(kinds[k]));
}
const fmt = (x) => x.toFixed(n < 100_000 ? 3 : 1);
console.log(`${n} tags, ${rounds} rounds × ${repeat}, load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`);
for (const [k, t] of Object.entries(times)) {
  const s = [...t].sort((a, b) => a - b);
  console.log(`${k.padEnd(18)} median ${fmt(s[Math.floor(s.length / 2)])} ms (${fmt(s[0])}–${fmt(s[s.length - 1])}); first ${fmt(t[0])}`);
}
