/**
 * Differential test of record forensics (docs/FORMAT.md §19): random record sets — CSV with commas,
 * quotes, embedded line breaks, unicode and empty fields; JSONL with nested values and numbers in
 * several spellings; Parquet; a label-by-folder set — get random edits (label flips, injected,
 * deleted and modified records, reordered rows, duplicate keys, conflicting labels, files moved
 * between label folders, and changes of form only: CRLF, a BOM, column and member order, quoting,
 * number and string spellings). The records `diff` (snapshot against folder, snapshot against
 * snapshot, two `--manifest-only` snapshots) and `verify` name must be exactly those of a ground
 * truth computed here, independently of snap's code, from the documented canonical forms (§19.3),
 * identities (§19.4), index order (§19.5) and pairing (record-diff.ts: equal fingerprints are
 * unchanged; then same feature hash is a flip; then index order pairs modified records).
 *
 * The truth and the generators are in test/helpers/records-differential.ts (shared with the
 * differential test of `check`).
 *
 * `SNAP_DIFFERENTIAL_SEEDS=N` runs N seeds instead of the suite's 40 (by hand: `SNAP_DIFFERENTIAL_SEEDS=400
 * npx vitest run test/records/diff-differential.test.ts`, a few minutes), from seed `SNAP_DIFFERENTIAL_FROM`
 * (default 1); `SNAP_DIFFERENTIAL_SEED=S` runs seed S only (a case depends on its seed only).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { watchFsRequests } from '../helpers/fs-watchdog.js';
import { useStore } from '../helpers/store.js';
import { compareSets, compareVerify, describeCase, expected, makeCase, sealableB, sorted, truths, utf8Order, writeSide, type Json } from '../helpers/records-differential.js';

const keys = useKeyPair();
const shared = useStore();
// A seal here once never finished (one fs request of its commit pending, every thread idle): if
// it happens again, the request and where it was made are on stderr before the test times out.
afterAll(watchFsRequests(120_000));

async function runCase(seed: number): Promise<void> {
  const c = makeCase(seed);
  const exp = truths(c);
  const store = shared.path;
  const dirA = await tempDir('snap-diffdiff-a-');
  const dirB = await tempDir('snap-diffdiff-b-');
  await writeSide(dirA, c, 'a');
  await writeSide(dirB, c, 'b');
  const manifestOnly = seed % 2 === 1 ? ['--manifest-only'] : [];
  const name = `dd${seed}x${Math.random().toString(36).slice(2, 8)}`;
  const sa = await snapJson(['seal', dirA, '--as', `${name}@a`, '--key', keys.key, '--store', store, '--jobs', '1', ...manifestOnly]);
  expect(sa.code, `seal A, seed ${seed}: ${sa.stderr}\n${describeCase(c)}`).toBe(0);

  // snapshot A against folder B
  const d1 = await snapJson(['diff', `${name}@a`, dirB, '--store', store, '--jobs', '1']);
  expect(d1.json.records?.unavailable ?? [], `seed ${seed}`).toEqual([]);
  compareSets('diff A B-folder', c, d1.json.records.sets, exp);

  // folder A against folder B (the sets of both folders' snap.json)
  if (seed % 3 === 0) {
    const d0 = await snapJson(['diff', dirA, dirB, '--jobs', '1']);
    expect(d0.json.records?.unavailable ?? [], `seed ${seed}`).toEqual([]);
    compareSets('diff A-folder B-folder', c, d0.json.records.sets, exp);
  }

  // what was done, as logged: a set whose records were only reordered (or not touched) names no record
  for (const t of c.tab) {
    if (t.set.identity === 'position' || !t.log.every((l) => l === 'reorder')) continue;
    const s = d1.json.records.sets.find((y: Json) => y.name === t.set.path);
    expect(s.summary, `only reordered: ${t.set.path}, seed ${seed}`).toMatchObject({ added: 0, removed: 0, modified: 0, flipped: 0, unchanged: t.a.length });
  }

  // check B against A: the count thresholds (all 0 by default) are breached by exactly the truth's counts
  if (seed % 4 === 0) {
    const ch = await snapJson(['check', dirB, '--against', `${name}@a`, '--store', store, '--jobs', '1']);
    const got = ch.json.breaches.filter((x: Json) => ['maxLabelChanges', 'maxModified', 'maxRemoved'].includes(x.rule)).map((x: Json) => [x.set, x.rule, x.value]);
    const want: [string, string, number][] = [];
    for (const [setName, x] of [...exp].sort(([p], [q]) => utf8Order(p, q))) {
      const e = expected(x.truth).summary;
      if (e.labelChanges > 0) want.push([setName, 'maxLabelChanges', e.labelChanges]);
      if (e.modified > 0) want.push([setName, 'maxModified', e.modified]);
      if (e.removed > 0) want.push([setName, 'maxRemoved', e.removed]);
    }
    expect(sorted(got), `check, seed ${seed}`).toEqual(sorted(want));
  }

  // verify B against A: every modified record file carries its record diff, and label moves are named
  const v = await snapJson(['verify', dirB, '--against', `${name}@a`, '--pubkey', keys.pub, '--store', store, '--jobs', '1']);
  compareVerify(v.json, c, exp);

  // snapshot A against snapshot B (two --manifest-only snapshots on odd seeds)
  const sb = await snapJson(['seal', dirB, '--as', `${name}@b`, '--key', keys.key, '--store', store, '--jobs', '1', ...manifestOnly]);
  if (!sealableB(exp)) {
    expect(sb.code, `seal B with duplicate keys, seed ${seed}`).toBe(3);
    expect(sb.stderr + sb.stdout).toContain('RECORDS_DUPLICATE_KEY');
    return;
  }
  expect(sb.code, `seal B, seed ${seed}: ${sb.stderr}\n${describeCase(c)}`).toBe(0);
  const d2 = await snapJson(['diff', `${name}@a`, `${name}@b`, '--store', store, '--jobs', '1']);
  expect(d2.json.records?.unavailable ?? [], `seed ${seed}`).toEqual([]);
  compareSets('diff A B-snapshot', c, d2.json.records.sets, exp);
}

const envSeeds = Number(process.env.SNAP_DIFFERENTIAL_SEEDS ?? '');
/** Cases in the suite: about 20 s on a loaded two-core machine (each case holds one to three tabular sets and a label-folder set). */
const SUITE_SEEDS = 40;
const SEEDS = Number.isInteger(envSeeds) && envSeeds > 0 ? envSeeds : SUITE_SEEDS;
const FIRST = Number(process.env.SNAP_DIFFERENTIAL_FROM ?? '1') || 1;
const ONE = process.env.SNAP_DIFFERENTIAL_SEED;

describe('record diff, differential: snap names exactly the records a ground truth computed from FORMAT §19 names', () => {
  it(`over ${ONE !== undefined ? `seed ${ONE}` : `${SEEDS} random cases`} of CSV, JSONL, Parquet and label-folder sets`, async () => {
    const seeds = ONE !== undefined ? [Number(ONE)] : Array.from({ length: SEEDS }, (_, i) => FIRST + i);
    for (const seed of seeds) await runCase(seed);
  }, 600_000);
});
