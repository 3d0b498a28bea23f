/**
 * The machine interface, command by command (README, "--json and exit codes"): with `--json`,
 * stdout is exactly one JSON document, and its top-level `ok` is a boolean that is true exactly
 * when the exit code is 0 — on success, on a failed check (exit 1), and on an error (exit 2, 3).
 * One table runs every command of `snap --help` at least once each way it can end.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { COMMANDS, commandName } from '../../src/cli/commands/index.js';

const keys = useKeyPair('ci');
const other = useKeyPair('other');

const CSV = 'id,text,label\n1,win money now,spam\n2,lunch at noon,ham\n3,meeting notes,ham\n4,cheap pills,spam\n';
const SNAP_JSON = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });

/** Paths every case uses, made in `beforeAll`. */
const w = { work: '', store: '', data: '', flipped: '', other: '', model: '', policy: '', broken: '' };

/** One run: its name, its arguments (made once the fixtures exist), the exit code it must end with. */
type Case = [name: string, args: () => string[], exit: 0 | 1 | 2 | 3];

const S = () => ['--store', w.store];
const CASES: Case[] = [
  ['keygen', () => ['keygen', 'k1', '--out-dir', w.work], 0],
  ['keygen over an existing key', () => ['keygen', 'k1', '--out-dir', w.work], 3],
  ['init', () => ['init', '--store', join(w.work, 'new-store')], 0],
  ['init over a file', () => ['init', '--store', w.model], 3],
  ['seal', () => ['seal', w.data, '--as', 'ds@v1', '--key', keys.key, ...S()], 0],
  ['seal of an existing ref', () => ['seal', w.data, '--as', 'ds@v1', '--key', keys.key, ...S()], 3],
  ['seal with a missing argument', () => ['seal', w.data, ...S()], 2],
  ['seal --out', () => ['seal', w.data, '--as', 'ds@v9', '--key', keys.key, '--out', join(w.work, 'sealed.snap.tar'), ...S()], 0],
  ['verify', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 0],
  ['verify of changed data', () => ['verify', w.flipped, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 1],
  ['verify by an untrusted key', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', other.pub, ...S()], 1],
  ['verify of an unknown ref', () => ['verify', w.data, '--against', 'nope@v1', '--pubkey', keys.pub, ...S()], 3],
  ['verify --shard', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--shard', '1/1', '--report', join(w.work, 'shard1.json'), ...S()], 0],
  ['verify --merge', () => ['verify', '--merge', join(w.work, 'shard1.json')], 0],
  ['verify --merge of one shard twice', () => ['verify', '--merge', join(w.work, 'shard1.json'), join(w.work, 'shard1.json')], 1],
  ['diff of a snapshot with itself', () => ['diff', 'ds@v1', 'ds@v1', ...S()], 0],
  ['diff of changed data', () => ['diff', 'ds@v1', w.flipped, ...S()], 1],
  ['check within the thresholds', () => ['check', w.data, '--against', 'ds@v1', ...S()], 0],
  ['check of a label flip', () => ['check', w.flipped, '--against', 'ds@v1', ...S()], 1],
  ['drill', () => ['drill', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--attacks', 'truncate', ...S()], 0],
  ['drill that misses', () => ['drill', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--attacks', 'record-label-flip', '--no-records', ...S()], 1],
  ['drill with an unknown attack', () => ['drill', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--attacks', 'nope', ...S()], 2],
  ['report of identical sides', () => ['report', 'ds@v1', 'ds@v1', '-o', join(w.work, 'same.html'), ...S()], 0],
  ['report of changed data', () => ['report', 'ds@v1', w.flipped, '-o', join(w.work, 'changed.html'), ...S()], 1],
  ['list', () => ['list', ...S()], 0],
  ['list of an unknown NAME', () => ['list', 'nope', ...S()], 3],
  ['list of a store with a swapped snapshot folder', () => ['list', '--store', w.broken], 1],
  ['show', () => ['show', 'ds@v1', ...S()], 0],
  ['show of an unknown ref', () => ['show', 'nope@v1', ...S()], 3],
  ['sign', () => ['sign', 'ds@v1', '--key', other.key, ...S()], 0],
  ['sign only after an untrusted producer', () => ['sign', 'ds@v1', '--key', other.key, '--pubkey', join(w.work, 'k1.pub'), ...S()], 1],
  ['export', () => ['export', 'ds@v1', '-o', join(w.work, 'ds.snap.tar'), ...S()], 0],
  ['import', () => ['import', join(w.work, 'ds.snap.tar'), '--pubkey', keys.pub, '--store', join(w.work, 'imported')], 0],
  ['import by an untrusted key', () => ['import', join(w.work, 'ds.snap.tar'), '--pubkey', join(w.work, 'k1.pub'), '--store', join(w.work, 'imported2')], 1],
  ['prove', () => ['prove', 'ds@v1', 'a.txt', '-o', join(w.work, 'p.json'), '--pubkey', keys.pub, ...S()], 0],
  ['prove of a path not in the snapshot', () => ['prove', 'ds@v1', 'nope.txt', '-o', join(w.work, 'p2.json'), ...S()], 3],
  ['verify-proof', () => ['verify-proof', join(w.work, 'p.json'), '--pubkey', keys.pub], 0],
  ['verify-proof by an untrusted key', () => ['verify-proof', join(w.work, 'p.json'), '--pubkey', join(w.work, 'k1.pub')], 1],
  ['restore', () => ['restore', 'ds@v1', join(w.work, 'restored'), '--pubkey', keys.pub, ...S()], 0],
  ['restore by an untrusted key', () => ['restore', 'ds@v1', join(w.work, 'restored2'), '--pubkey', join(w.work, 'k1.pub'), ...S()], 1],
  ['attest', () => ['attest', w.model, '--data', 'ds@v1', '--key', keys.key, '--as', 'clf@1', ...S()], 0],
  ['verify-model', () => ['verify-model', w.model, '--pubkey', keys.pub, ...S()], 0],
  ['verify-model by an untrusted key', () => ['verify-model', w.model, '--pubkey', join(w.work, 'k1.pub'), ...S()], 1],
  ['lineage', () => ['lineage', 'ds@v1', ...S()], 0],
  ['impact', () => ['impact', 'ds@v1', ...S()], 0],
  ['bom', () => ['bom', 'ds@v1', '-o', join(w.work, 'bom.json'), ...S()], 0],
  ['bom by an untrusted key', () => ['bom', 'ds@v1', '-o', join(w.work, 'bom2.json'), '--pubkey', join(w.work, 'k1.pub'), ...S()], 1],
  ['revoke', () => ['revoke', 'ds@v1', '--reason', 'poisoned', '--key', keys.key, '--out', join(w.work, 'revocation.json'), ...S()], 0],
  ['import of a revocation', () => ['import', join(w.work, 'revocation.json'), '--pubkey', keys.pub, '--store', join(w.work, 'imported')], 0],
  ['verify of a revoked snapshot', () => ['verify', w.data, '--against', 'ds@v1', '--pubkey', keys.pub, ...S()], 1],
  ['policy init', () => ['policy', 'init', w.policy, '--name', 'acme', '--root-key', keys.pub], 0],
  ['policy sign', () => ['policy', 'sign', w.policy, '--key', keys.key], 0],
  ['policy show', () => ['policy', 'show', w.policy, '--root', keys.pub], 0],
  ['policy show against other roots', () => ['policy', 'show', w.policy, '--root', other.pub], 1],
  ['policy of an unknown action', () => ['policy', 'nope', w.policy], 2],
  ['fsck', () => ['fsck', ...S()], 0],
  ['fsck of a store with a swapped snapshot folder', () => ['fsck', '--store', w.broken], 1],
  ['prune', () => ['prune', ...S()], 0],
  ['prune of a store with a swapped snapshot folder', () => ['prune', '--yes', '--store', w.broken], 1],
  ['prune of an S3 store', () => ['prune', '--store', 's3://bucket/prefix'], 2],
  ['log', () => ['log', ...S()], 0],
  ['log --verify', () => ['log', '--verify', ...S()], 0],
  ['log checkpoint', () => ['log', 'checkpoint', '--key', keys.key, ...S()], 0],
  ['log of an unknown NAME', () => ['log', 'never', ...S()], 3],
  ['retain on a local store', () => ['retain', 'ds@v1', '--until', '1d', ...S()], 2],
  ['an unknown command', () => ['nope'], 2],
];

beforeAll(async () => {
  w.work = await tempDir('snap-json-ok-');
  w.store = await newStorePath();
  w.data = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': CSV, 'snap.json': SNAP_JSON });
  w.flipped = await makeTree({ 'a.txt': 'alpha\n', 'train.csv': CSV.replace('1,win money now,spam', '1,win money now,ham'), 'snap.json': SNAP_JSON });
  w.model = join(w.work, 'model.bin');
  await fsp.writeFile(w.model, 'weights');
  w.policy = join(w.work, 'policy.json');
  // A store whose ds/v2 folder holds ds@v1's snapshot (a swapped folder): list and fsck fail (exit 1).
  w.broken = await newStorePath();
  const src = await makeTree({ 'a.txt': 'alpha\n' });
  for (const as of ['ds@v1', 'ds@v2']) expect((await snapJson(['seal', src, '--as', as, '--key', keys.key, '--no-parent', '--store', w.broken])).code).toBe(0);
  const [v1, v2] = ['v1', 'v2'].map((v) => join(w.broken, 'snapshots', 'ds', v));
  for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
    await fsp.chmod(join(v2 as string, f), 0o644);
    await fsp.copyFile(join(v1 as string, f), join(v2 as string, f));
  }
}, 60_000);

describe('snap --json: one document whose ok is true exactly when the exit code is 0', () => {
  it('runs every command in the table', () => {
    const names = new Set(CASES.map(([name]) => name.split(' ')[0]));
    for (const c of COMMANDS) expect([...names], `no case runs ${commandName(c)}`).toContain(commandName(c));
  });

  for (const [name, args, exit] of CASES) {
    it(`${name}: exit ${exit}, ok ${exit === 0}`, async () => {
      const r = await snapJson(args());
      expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(exit);
      expect(typeof r.json.ok, r.stdout).toBe('boolean');
      expect(r.json.ok).toBe(r.code === 0);
    }, 60_000);
  }
});
