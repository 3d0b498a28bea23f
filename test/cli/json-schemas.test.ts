/**
 * The published contracts of the gate's `--json` outputs (docs/schemas/, docs/FORMAT.md "JSON output
 * schemas"): each command is run on real temporary trees, once passing and once failing, and its
 * stdout must be valid under its JSON Schema (draft 2020-12, checked by ajv). A schema that accepts
 * anything would pass those too, so each schema must also refuse a real output with one member
 * renamed.
 */
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, objectFiles } from '../helpers/store.js';
import { SCHEMAS, schemaErrors as errorsOf } from '../helpers/json-schemas.js';
import { ERROR_CODES } from '../../src/core/errors.js';

const keys = useKeyPair('ci');
const other = useKeyPair('other');

const CSV = 'id,text,label\n1,win money now,spam\n2,lunch at noon,ham\n3,meeting notes,ham\n4,cheap pills,spam\n';
const SNAP_JSON = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });

/** Paths the cases use, made in `beforeAll`. */
const w = { work: '', store: '', data: '', flipped: '', model: '', broken: '', archive: '', tampered: '', proof: '', recordProof: '', damaged: '', grown: '', piped: '', attGone: '', reordered: '' };
const S = () => ['--store', w.store];

/** One run: the schema its stdout must meet, its name, its arguments, and the exit code it must end with. */
type Case = [schema: string, name: string, args: () => string[], exit: 0 | 1 | 2 | 3];

const CASES: Case[] = [
  ['verify', 'verify of the sealed folder', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 0],
  ['verify', 'verify of a folder with a flipped label (a modified record file)', () => ['verify', w.flipped, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 1],
  ['verify', 'verify by an untrusted key', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', other.pub, ...S()], 1],
  ['verify', 'verify of one shard', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--shard', '1/2', '--report', join(w.work, 'shard1.json'), ...S()], 0],
  ['verify', 'verify against an archive', () => ['verify', w.data, '--against', w.archive, '--pubkey', keys.pub, ...S()], 0],
  ['verify-archive', 'verify of an archive', () => ['verify', w.archive, '--pubkey', keys.pub, ...S()], 0],
  ['verify-archive', 'verify of an archive with a changed member', () => ['verify', w.tampered, '--pubkey', keys.pub, ...S()], 1],
  ['verify-archive', 'verify of an archive by an untrusted key', () => ['verify', w.archive, '--pubkey', other.pub, ...S()], 1],
  ['verify-merge', 'verify --merge of both shards', () => ['verify', '--merge', join(w.work, 'shard1.json'), join(w.work, 'shard2.json')], 0],
  ['verify-merge', 'verify --merge with a shard missing', () => ['verify', '--merge', join(w.work, 'shard1.json')], 1],
  ['check', 'check within the thresholds', () => ['check', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 0],
  ['check', 'check of a flipped label', () => ['check', w.flipped, '--against', 'ds@v1', ...S()], 1],
  ['check', 'check against a version signed by no trusted key', () => ['check', w.data, '--against', 'ds@v1', '--pubkey', other.pub, ...S()], 1],
  ['check', 'check of records added to a set that had none', () => ['check', w.grown, '--against', 'empty@v1', ...S()], 1],
  ['diff', 'diff of a snapshot with itself', () => ['diff', 'ds@v1', 'ds@v1', ...S()], 0],
  ['diff', 'diff of a flipped label', () => ['diff', 'ds@v1', w.flipped, '--pubkey', keys.pub, ...S()], 1],
  ['diff', 'diff of a folder whose CSV columns were reordered', () => ['diff', 'ds@v1', w.reordered, ...S()], 1],
  ['check', 'check of a folder whose CSV columns were reordered', () => ['check', w.reordered, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 1],
  ['diff', 'diff of two snapshots whose set lost a record (its order not measured)', () => ['diff', 'big@v1', 'big@v2', ...S()], 1],
  ['diff', 'diff --order of two snapshots whose set lost a record', () => ['diff', 'big@v1', 'big@v2', '--order', ...S()], 1],
  ['diff', 'diff of a folder with a FIFO where a signed file was (an extra naming it as other)', () => ['diff', 'ds@v1', w.piped, ...S()], 1],
  ['verify-model', 'verify-model', () => ['verify-model', w.model, '--pubkey', keys.pub, ...S()], 0],
  ['verify-model', 'verify-model by an untrusted key', () => ['verify-model', w.model, '--pubkey', other.pub, ...S()], 1],
  ['verify-proof', 'verify-proof', () => ['verify-proof', w.proof, '--pubkey', keys.pub, '--file', join(w.data, 'a.txt')], 0],
  ['verify-proof', 'verify-proof of another file', () => ['verify-proof', w.proof, '--pubkey', keys.pub, '--file', join(w.data, 'train.csv')], 1],
  ['verify-proof', 'verify-proof by an untrusted key', () => ['verify-proof', w.proof, '--pubkey', other.pub], 1],
  ['verify-proof', 'verify-proof of a record proof', () => ['verify-proof', w.recordProof, '--pubkey', keys.pub], 0],
  ['verify-proof', 'verify-proof of a record proof by an untrusted key', () => ['verify-proof', w.recordProof, '--pubkey', other.pub], 1],
  ['impact', 'impact', () => ['impact', 'ds@v1', '--pubkey', keys.pub, ...S()], 0],
  ['impact', 'impact with keys that sign nothing in the store', () => ['impact', 'ds@v1', '--pubkey', other.pub, ...S()], 1],
  ['impact', 'impact of a store whose model attestation was deleted (the audit log names it)', () => ['impact', 'ds@v1', '--store', w.attGone], 1],
  ['fsck', 'fsck', () => ['fsck', ...S()], 0],
  ['fsck', 'fsck of a store with a swapped snapshot folder', () => ['fsck', '--store', w.broken], 1],
  ['fsck', 'fsck --clean', () => ['fsck', '--clean', ...S()], 0],
  ['fsck', 'fsck of a store with a corrupt object', () => ['fsck', '--store', w.damaged], 1],
  ['fsck', 'fsck --repair-from an archive', () => ['fsck', '--store', w.damaged, '--repair-from', w.archive], 0],
  ['error', 'verify of an unknown ref', () => ['verify', w.data, '--against', 'nope@v1', '--pubkey', keys.pub, ...S()], 3],
  ['error', 'verify with a malformed --shard', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--shard', '3/2', ...S()], 2],
  ['error', 'an unknown command', () => ['nope'], 2],
  ['error', 'check of a missing folder', () => ['check', join(w.work, 'nope'), '--against', 'ds@v1', ...S()], 3],
];

/** Each case's output, by name, for the renamed-member tests. */
const outputs = new Map<string, unknown>();

beforeAll(async () => {
  w.work = await tempDir('snap-json-schemas-');
  w.store = await newStorePath();
  w.data = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': CSV, 'snap.json': SNAP_JSON });
  w.flipped = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': CSV.replace('1,win money now,spam', '1,win money now,ham'), 'snap.json': SNAP_JSON });
  const ok = async (args: string[]) => {
    const r = await snapJson(args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  };
  await ok(['seal', w.data, '--as', 'ds@v1', '--key', keys.key, ...S()]);
  // A set with no records, sealed; the same set with one record added.
  await ok(['seal', await makeTree({ 'train.csv': 'id,text,label\n', 'snap.json': SNAP_JSON }), '--as', 'empty@v1', '--key', keys.key, '--no-parent', ...S()]);
  w.piped = await makeTree({ 'train.csv': CSV, 'snap.json': SNAP_JSON });
  // Two snapshots of 2,000 records, the second without record 1: rows renumbered, the order not measured by default (FORMAT §19.8).
  const big = (from: number) => 'id,text,label\n' + Array.from({ length: 2000 - from + 1 }, (_, i) => `${from + i},text ${from + i},${(from + i) % 3 ? 'ham' : 'spam'}\n`).join('');
  await ok(['seal', await makeTree({ 'train.csv': big(1), 'snap.json': SNAP_JSON }), '--as', 'big@v1', '--key', keys.key, '--manifest-only', ...S()]);
  await ok(['seal', await makeTree({ 'train.csv': big(2), 'snap.json': SNAP_JSON }), '--as', 'big@v2', '--key', keys.key, '--manifest-only', ...S()]);
  // The same records with the label column moved first (FORMAT §19.11: the order is signed).
  w.reordered = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': CSV.replace(/^([^,\n]*),([^,\n]*),([^,\n]*)$/gm, '$3,$1,$2'), 'snap.json': SNAP_JSON });
  expect(spawnSync('mkfifo', [join(w.piped, 'a.txt')]).status).toBe(0);
  w.grown = await makeTree({ 'train.csv': 'id,text,label\n1,win money now,spam\n', 'snap.json': SNAP_JSON });
  w.archive = join(w.work, 'ds@v1.snap.tar');
  await ok(['export', 'ds@v1', '-o', w.archive, ...S()]);
  // The same archive with one byte of a.txt's member changed (its size kept).
  const tar = await fsp.readFile(w.archive);
  const at = tar.indexOf('alpha\n');
  expect(at).toBeGreaterThan(0);
  tar[at + 4] = 'b'.charCodeAt(0);
  w.tampered = join(w.work, 'tampered.snap.tar');
  await fsp.writeFile(w.tampered, tar);
  w.model = join(w.work, 'model.bin');
  await fsp.writeFile(w.model, 'weights');
  await ok(['attest', w.model, '--data', 'ds@v1', '--key', keys.key, '--as', 'clf@1', ...S()]);
  w.proof = join(w.work, 'a.proof.json');
  await ok(['prove', 'ds@v1', 'a.txt', '-o', w.proof, '--pubkey', keys.pub, ...S()]);
  w.recordProof = join(w.work, 'record-1.proof.json');
  await ok(['prove', 'ds@v1', 'train.csv', '--record', '1', '-o', w.recordProof, '--pubkey', keys.pub, ...S()]);
  await ok(['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--shard', '2/2', '--report', join(w.work, 'shard2.json'), ...S()]);
  // A copy of the store with one object's bytes changed: fsck fails (exit 1), --repair-from the archive mends it.
  w.damaged = join(await tempDir('snap-json-schemas-damaged-'), 'store');
  await fsp.cp(w.store, w.damaged, { recursive: true });
  const victim = (await objectFiles(w.damaged))[0]?.path as string;
  await fsp.chmod(victim, 0o644);
  await fsp.writeFile(victim, 'not what was sealed\n');
  // A copy of the store without clf@1's attestation folder (removing it needs no key): impact names it from the audit log (exit 1).
  w.attGone = join(await tempDir('snap-json-schemas-att-gone-'), 'store');
  await fsp.cp(w.store, w.attGone, { recursive: true });
  await fsp.rm(join(w.attGone, 'attestations', 'clf'), { recursive: true, force: true });
  // A store whose ds/v2 folder holds ds@v1's snapshot (a swapped folder): fsck fails (exit 1).
  w.broken = await newStorePath();
  const src = await makeTree({ 'a.txt': 'alpha\n' });
  for (const as of ['ds@v1', 'ds@v2']) await ok(['seal', src, '--as', as, '--key', keys.key, '--no-parent', '--store', w.broken]);
  const [v1, v2] = ['v1', 'v2'].map((v) => join(w.broken, 'snapshots', 'ds', v) as string);
  for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
    await fsp.chmod(join(v2 as string, f), 0o644);
    await fsp.copyFile(join(v1 as string, f), join(v2 as string, f));
  }
}, 120_000);

describe('each --json output meets its schema in docs/schemas/', () => {
  it('has a schema for every case, and a passing and a failing case for every schema', () => {
    const schemas = readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json') && n !== 'defs.schema.json').map((n) => n.replace('.schema.json', ''));
    for (const s of schemas) {
      expect(CASES.some(([x, , , exit]) => x === s && exit === 0) || s === 'error', `no passing case for ${s}`).toBe(true);
      expect(CASES.some(([x, , , exit]) => x === s && exit !== 0), `no failing case for ${s}`).toBe(true);
    }
    for (const [s] of CASES) expect(schemas).toContain(s);
  });

  it('names every error code of src/core/errors.ts, and no other', () => {
    const defs = JSON.parse(readFileSync(join(SCHEMAS, 'defs.schema.json'), 'utf8')) as { $defs: { errorCode: { enum: string[] } } };
    expect(defs.$defs.errorCode.enum).toEqual([...ERROR_CODES]);
  });

  for (const [schema, name, args, exit] of CASES) {
    it(`${name}: exit ${exit}, and its output is valid under ${schema}.schema.json`, async () => {
      const r = await snapJson(args());
      expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(exit);
      expect(r.json.ok).toBe(exit === 0);
      expect(errorsOf(schema, r.json), r.stdout).toBe('');
      outputs.set(name, r.json);
    }, 60_000);
  }
});

/** A deep copy of `doc` with the member at `path` renamed to `to` (its value kept). */
function renamed(doc: unknown, path: (string | number)[], to: string): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string;
  expect(parent, `${path.join('.')} is not in the output`).toHaveProperty([last]);
  parent[to] = parent[last];
  delete parent[last];
  return copy;
}

/** For each schema, a real output (by case name) and a member to rename in it. */
const RENAMES: [schema: string, caseName: string, path: (string | number)[], to: string][] = [
  ['verify', 'verify of the sealed folder', ['signedAs'], 'signedas'],
  ['verify', 'verify of a folder with a flipped label (a modified record file)', ['problems', 0, 'records', 'flipped', 0, 'from'], 'form'],
  ['verify', 'verify of one shard', ['shard', 'leaves'], 'leafs'],
  ['verify-archive', 'verify of an archive with a changed member', ['counts', 'modified'], 'changed'],
  ['verify-merge', 'verify --merge with a shard missing', ['findings', 0, 'kind'], 'type'],
  ['check', 'check of a flipped label', ['breaches', 0, 'limit'], 'max'],
  ['check', 'check of records added to a set that had none', ['breaches', 0, 'value'], 'share'],
  ['diff', 'diff of a flipped label', ['summary', 'bytesAdded'], 'addedBytes'],
  ['diff', 'diff of a folder whose CSV columns were reordered', ['records', 'sets', 0, 'types', 'order'], 'columns'],
  ['diff', 'diff of two snapshots whose set lost a record (its order not measured)', ['records', 'sets', 0, 'order', 'notMeasured'], 'reason'],
  ['verify-model', 'verify-model', ['attestations', 0, 'datasets', 0, 'merkleRoot'], 'root'],
  ['verify-proof', 'verify-proof', ['treeSize'], 'tree_size'],
  ['impact', 'impact with keys that sign nothing in the store', ['unverified', 0, 'code'], 'error'],
  ['impact', 'impact of a store whose model attestation was deleted (the audit log names it)', ['missingAttestations', 0, 'state'], 'status'],
  ['impact', 'impact of a store whose model attestation was deleted (the audit log names it)', ['models', 0, 'fromLog', 'seq'], 'line'],
  ['impact', 'impact of a store whose model attestation was deleted (the audit log names it)', ['auditLog', 'checkpoints', 'covered'], 'signed'],
  ['fsck', 'fsck of a store with a swapped snapshot folder', ['snapshots', 1, 'keepsObjects'], 'keepObjects'],
  ['fsck', 'fsck --repair-from an archive', ['repair', 'repaired', 0, 'was'], 'kind'],
  ['error', 'verify of an unknown ref', ['error', 'code'], 'kind'],
];

describe('each schema refuses a real output with one member renamed', () => {
  it('covers every schema', () => {
    const schemas = readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json') && n !== 'defs.schema.json').map((n) => n.replace('.schema.json', ''));
    expect(new Set(RENAMES.map(([s]) => s))).toEqual(new Set(schemas));
  });

  for (const [schema, caseName, path, to] of RENAMES) {
    it(`${schema}: ${path.join('.')} renamed to ${to} in "${caseName}" is refused`, () => {
      const doc = outputs.get(caseName);
      expect(doc, `the case "${caseName}" did not run`).toBeDefined();
      expect(errorsOf(schema, doc)).toBe('');
      expect(errorsOf(schema, renamed(doc, path, to))).not.toBe('');
    });
  }

  it('refuses a member of the wrong type, and a kind or code outside the closed set', () => {
    const v = outputs.get('verify of a folder with a flipped label (a modified record file)') as { counts: { matched: unknown }; problems: { kind: string }[] };
    expect(errorsOf('verify', { ...v, counts: { ...v.counts, matched: '2' } })).not.toBe('');
    expect(errorsOf('verify', { ...v, problems: [{ ...v.problems[0], kind: 'changed' }] })).not.toBe('');
    const c = outputs.get('check of a flipped label') as { breaches: { rule: string; value: unknown }[] };
    expect(errorsOf('check', { ...c, breaches: [{ ...c.breaches[0], value: null }] }), 'value null is for maxAddedShare only').not.toBe('');
    const e = outputs.get('verify of an unknown ref') as { error: object };
    expect(errorsOf('error', { ...e, error: { ...e.error, code: 'REF_UNKNOWN' } })).not.toBe('');
    expect(errorsOf('error', { ...e, ok: true })).not.toBe('');
  });
});
