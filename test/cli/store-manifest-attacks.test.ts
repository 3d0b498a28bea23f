/**
 * A snapshot's manifest or statement in the store, altered by someone who can write to the store
 * but holds no key: every command that reads it — not only verify — must find that it no longer
 * matches what was signed (exit 1, `INTEGRITY_FAILURE`) and report nothing from it, in bounded
 * memory; and no command may act on an id other than the signed one.
 * Before, `diff` and `report` named the altered manifest's entries as the snapshot's, `check` took
 * its thresholds from a `snap.json` entry of the altered manifest, and `prove` held a manifest of
 * one long line whole (a 400 MB line: 290 s, 849 MB); `revoke` and `attest` named the id of an
 * edited statement.json, so the signed snapshot stayed unrevoked once the file was put back.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyTree, makeTree, REPO, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, sealTree, snapshotFolder, tamper } from '../helpers/store.js';
import { MAX_MANIFEST_ENTRY_BYTES } from '../../src/io/manifest-file.js';

const keys = useKeyPair('alice');
const TABULAR = join(REPO, 'examples', 'tabular');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const codeOf = (r: { json: Json }): string | undefined => r.json.error?.code ?? r.json.failure?.code;

async function seal(dir: string, store: string, as: string): Promise<void> {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
}

/** Flip the label of breast-cancer id 10 (malignant ↔ benign). */
async function flipOne(dir: string): Promise<void> {
  const path = join(dir, 'breast_cancer.csv');
  const lines = (await fsp.readFile(path, 'utf8')).split('\n');
  const i = lines.findIndex((l) => l.startsWith('10,'));
  lines[i] = lines[i]!.endsWith(',malignant') ? lines[i]!.replace(/,malignant$/, ',benign') : lines[i]!.replace(/,benign$/, ',malignant');
  await fsp.writeFile(path, lines.join('\n'));
}

/** A new store holding the example as tab@v1 and `b` (default: the example with one label flipped) as tab@v2. */
async function twoVersions(b?: string): Promise<{ store: string; b: string }> {
  const store = await newStorePath();
  await seal(TABULAR, store, 'tab@v1');
  if (b === undefined) {
    b = await copyTree(TABULAR);
    await flipOne(b);
  }
  await seal(b, store, 'tab@v2');
  return { store, b };
}

/** Ways to alter a manifest file, each leaving something a reader could take for entries. */
const ALTERATIONS: [string, (text: string) => string][] = [
  ['a size changed in a valid line', (t) => t.replace(/"size":(\d+)/, (_, n: string) => `"size":${Number(n) + 1}`)],
  ['a line that is not JSON', (t) => `garbage\n${t}`],
  ['one line of 2 MiB with no newline', () => 'a'.repeat(2 << 20)],
  ['the last newline cut off', (t) => t.slice(0, -1)],
];

describe('a snapshot manifest altered in the store', () => {
  let store: string;
  let v2Data: string;
  let manifest: string;
  let original: string;
  beforeAll(async () => {
    ({ store, b: v2Data } = await twoVersions());
    manifest = join(snapshotFolder(store, 'tab', 'v1'), 'manifest.jsonl');
    original = await fsp.readFile(manifest, 'utf8');
  });
  beforeEach(async () => {
    await fsp.chmod(manifest, 0o644);
    await fsp.writeFile(manifest, original);
  });

  it('is intact before each case: diff, prove, report and check all run', async () => {
    const d = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', store, '--pubkey', keys.pub]);
    expect(d.code).toBe(1);
    expect(d.json.records.summary.flipped).toBe(1);
    expect((await snapJson(['prove', 'tab@v1', 'iris.csv', '--store', store, '-o', join(await tempDir(), 'p.json')])).code).toBe(0);
    expect((await snapJson(['check', 'tab@v2', '--against', 'tab@v1', '--store', store])).code).toBe(1);
  });

  for (const [what, alter] of ALTERATIONS) {
    it(`(${what}) makes diff, diff against a folder, prove, report and check exit 1 with INTEGRITY_FAILURE, naming nothing`, async () => {
      await tamper(manifest, alter);
      const out = await tempDir();
      const runs: [string, string[]][] = [
        ['diff', ['diff', 'tab@v1', 'tab@v2', '--store', store, '--pubkey', keys.pub]],
        ['diff with a folder', ['diff', 'tab@v1', v2Data, '--store', store]],
        ['prove', ['prove', 'tab@v1', 'iris.csv', '--store', store, '-o', join(out, 'p.json')]],
        ['report', ['report', 'tab@v1', 'tab@v2', '--store', store, '-o', join(out, 'r.html')]],
        ['check', ['check', 'tab@v2', '--against', 'tab@v1', '--store', store]],
      ];
      for (const [name, args] of runs) {
        const r = await snapJson(args);
        expect(r.code, `${name}: ${r.stderr}`).toBe(1);
        expect(codeOf(r), name).toBe('INTEGRITY_FAILURE');
        expect(r.json.added ?? r.json.records ?? r.json.breaches, name).toBeUndefined();
      }
      expect(await fsp.readdir(out)).toEqual([]); // no proof, no report
    });
  }
});

describe('a statement.json altered in the store, its envelope intact', () => {
  it('makes diff without keys exit 1 (INTEGRITY_FAILURE, nothing reported), and with --pubkey marks the side untrusted (exit 1)', async () => {
    const { store } = await twoVersions();
    // A valid statement, only its time moved: what `show` and the diff headers print.
    await tamper(join(snapshotFolder(store, 'tab', 'v1'), 'statement.json'), (t) => t.replace(/"createdAt":"[^"]+"/, '"createdAt":"2020-01-01T00:00:00Z"'));
    const d = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', store]);
    expect(d.code).toBe(1);
    expect(codeOf(d)).toBe('INTEGRITY_FAILURE');
    expect(d.json.records).toBeUndefined();
    const t = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', store, '--pubkey', keys.pub]);
    expect(t.code).toBe(1);
    expect(t.json.a.trusted).toBe(false);
    expect(t.json.a.failure.code).toBe('INTEGRITY_FAILURE');
  });
});

describe('a statement.json edited while a snapshot is revoked or a model attested, then put back', () => {
  it('cannot make revoke revoke, nor attest name, another id than the signed one: verify then refuses the snapshot, impact finds the model', async () => {
    const store = await newStorePath();
    const data = await copyTree(TABULAR);
    const sealed = await snapJson(['seal', data, '--as', 'tab@v1', '--key', keys.key, '--store', store]);
    expect(sealed.code, sealed.stderr).toBe(0);
    const signedId: string = sealed.json.snapshot;
    const path = join(snapshotFolder(store, 'tab', 'v1'), 'statement.json');
    const original = await fsp.readFile(path, 'utf8');
    await tamper(path, (t) => t.replace(/"createdAt":"[^"]+"/, '"createdAt":"2020-01-01T00:00:00Z"'));
    const r = await snapJson(['revoke', 'tab@v1', '--reason', 'poisoned', '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.snapshot).toBe(signedId);
    const model = join(await tempDir(), 'model.bin');
    await fsp.writeFile(model, 'weights');
    const a = await snapJson(['attest', model, '--data', 'tab@v1', '--as', 'mdl@1', '--key', keys.key, '--store', store]);
    expect(a.code, a.stderr).toBe(0);
    await fsp.writeFile(path, original); // the attacker covers the tracks
    const v = await snapJson(['verify', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(codeOf(v)).toBe('SNAPSHOT_REVOKED');
    const i = await snapJson(['impact', 'tab@v1', '--store', store]);
    expect(i.json.snapshot.snapshot).toBe(signedId);
    expect(i.json.models.map((m: Json) => m.ref)).toEqual(['mdl@1']);
  });

  it("cannot make the next seal sign another id than the signed one as its default parent: impact still reaches the next version", async () => {
    const store = await newStorePath();
    const sealed = await snapJson(['seal', TABULAR, '--as', 'tab@v1', '--key', keys.key, '--store', store]);
    expect(sealed.code, sealed.stderr).toBe(0);
    const signedId: string = sealed.json.snapshot;
    const path = join(snapshotFolder(store, 'tab', 'v1'), 'statement.json');
    const original = await fsp.readFile(path, 'utf8');
    await tamper(path, (t) => `${t} `);
    const next = await snapJson(['seal', await makeTree({ 'a.csv': 'a\n' }), '--as', 'tab@v2', '--key', keys.key, '--store', store]);
    expect(next.code, next.stderr).toBe(0);
    await fsp.writeFile(path, original); // the attacker covers the tracks
    const shown = await snapJson(['show', 'tab@v2', '--store', store]);
    expect(shown.json.statement.predicate.parent).toBe(signedId);
    const i = await snapJson(['impact', 'tab@v1', '--store', store]);
    expect(i.json.derived.map((d: Json) => d.ref)).toEqual(['tab@v2']);
  });
});

describe("check's thresholds", () => {
  let store: string;
  beforeAll(async () => {
    store = await newStorePath();
    await seal(TABULAR, store, 'tab@v1');
  });

  /** A copy of the example with one label flipped and `check` in its snap.json replaced. */
  async function versionWith(check: Record<string, unknown>): Promise<string> {
    const dir = await copyTree(TABULAR);
    await flipOne(dir);
    const config = JSON.parse(await fsp.readFile(join(dir, 'snap.json'), 'utf8'));
    config.check = check;
    await fsp.writeFile(join(dir, 'snap.json'), JSON.stringify(config));
    return dir;
  }

  it('cannot be loosened by the version under review: its snap.json allowing 1,000 label changes still fails on one flip', async () => {
    const b = await versionWith({ maxLabelChanges: 1000, maxShift: null, maxAddedShare: 1 });
    const c = await snapJson(['check', b, '--against', 'tab@v1', '--store', store]);
    expect(c.code).toBe(1);
    expect(c.json.thresholds).toMatchObject({ maxLabelChanges: 0, maxShift: 0.05, maxAddedShare: 0.25 });
    expect(c.json.breaches.map((x: Json) => [x.set, x.rule])).toContainEqual(['breast_cancer.csv', 'maxLabelChanges']);
  });

  it('can be tightened by the version under review, and flags (the operator) win over both', async () => {
    const b = await versionWith({ maxAddedShare: 0.1, minChiSquareP: 0.01 });
    const c = await snapJson(['check', b, '--against', 'tab@v1', '--store', store]);
    expect(c.json.thresholds).toMatchObject({ maxAddedShare: 0.1, minChiSquareP: 0.01, maxLabelChanges: 0 });
    const f = await snapJson(['check', b, '--against', 'tab@v1', '--store', store, '--max-label-changes', '1', '--max-added-share', '0.3']);
    expect(f.json.thresholds).toMatchObject({ maxAddedShare: 0.3, maxLabelChanges: 1 });
    expect(f.json.breaches.map((x: Json) => x.rule)).not.toContain('maxLabelChanges');
  });

  it('take a snap.json object replaced by a FIFO for one not there (never blocking on it): INTEGRITY_FAILURE, not the defaults', async () => {
    const { store: s2 } = await twoVersions();
    const sha = createHash('sha256').update(await fsp.readFile(join(TABULAR, 'snap.json'))).digest('hex');
    const object = join(s2, 'objects', 'sha256', sha.slice(0, 2), sha.slice(2));
    await fsp.rm(object);
    execFileSync('mkfifo', [object]);
    const c = await snapJson(['check', 'tab@v2', '--against', 'tab@v1', '--store', s2]);
    expect([c.code, c.json.error?.code], c.stdout).toEqual([1, 'INTEGRITY_FAILURE']);
    expect(c.json.error.message).toContain('before 2026-11-30 kept no copy of it: seal the dataset again');
    const d = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', s2]);
    expect([d.code, d.json.error?.code], d.stdout).toEqual([1, 'INTEGRITY_FAILURE']);
    expect(d.json.error.message).toContain('or diff --no-records to compare files only');
    const files = await snapJson(['diff', 'tab@v1', 'tab@v2', '--store', s2, '--no-records']);
    expect(files.code, files.stdout).toBe(1); // they differ: one label flipped
    expect(files.json.modified.map((m: { path: string }) => m.path)).toEqual(['breast_cancer.csv']);
  });

  it("between two folders, cannot take a set out of the comparison or redefine it with the version under review's own snap.json rules", async () => {
    const a = await copyTree(TABULAR);
    // B flips a label of breast_cancer.csv, and its snap.json indexes only iris.csv.
    const narrowed = await copyTree(TABULAR);
    await flipOne(narrowed);
    const config = JSON.parse(await fsp.readFile(join(narrowed, 'snap.json'), 'utf8'));
    await fsp.writeFile(join(narrowed, 'snap.json'), JSON.stringify({ ...config, records: config.records.filter((r: Json) => r.pattern === 'iris.csv') }));
    const c = await snapJson(['check', narrowed, '--against', a]);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((x: Json) => [x.set, x.rule])).toContainEqual(['breast_cancer.csv', 'maxLabelChanges']);
    expect(c.json.records.sets.find((s: Json) => s.name === 'breast_cancer.csv').summary.flipped).toBe(1);
    // B drops the label from the rule, so that the flip would read as a modified record only: the set is not compared, a breach.
    const relabelled = await copyTree(TABULAR);
    await flipOne(relabelled);
    await fsp.writeFile(join(relabelled, 'snap.json'), JSON.stringify({ ...config, records: config.records.map((r: Json) => (r.pattern === 'breast_cancer.csv' ? { pattern: r.pattern, key: r.key } : r)) }));
    const d = await snapJson(['check', relabelled, '--against', a, '--max-modified', '1']);
    expect(d.code).toBe(1);
    expect(d.json.breaches.map((x: Json) => [x.set, x.rule])).toContainEqual(['breast_cancer.csv', 'unavailable']);
  });

  it("are not taken from an object the store's altered manifest points snap.json at", async () => {
    const { store: s2 } = await twoVersions(await versionWith({ maxShift: 0.05, maxAddedShare: 0.25 }));
    // The attacker stores a lax snap.json as an object and points v2's manifest entry at it.
    const lax = JSON.stringify({ ...JSON.parse(await fsp.readFile(join(TABULAR, 'snap.json'), 'utf8')), check: { maxLabelChanges: 1000, maxShift: null } });
    const sha = createHash('sha256').update(lax).digest('hex');
    await fsp.mkdir(join(s2, 'objects', 'sha256', sha.slice(0, 2)), { recursive: true });
    await fsp.writeFile(join(s2, 'objects', 'sha256', sha.slice(0, 2), sha.slice(2)), lax);
    await tamper(join(snapshotFolder(s2, 'tab', 'v2'), 'manifest.jsonl'), (t) =>
      t.replace(/\{"path":"snap\.json","sha256":"[0-9a-f]{64}","size":\d+\}/, JSON.stringify({ path: 'snap.json', sha256: sha, size: Buffer.byteLength(lax) })),
    );
    const c = await snapJson(['check', 'tab@v2', '--against', 'tab@v1', '--store', s2]);
    expect(c.code).toBe(1);
    expect(codeOf(c)).toBe('INTEGRITY_FAILURE');
  });
});

describe('a manifest replaced by a file longer than its signed fileCount lines can be', () => {
  it('is refused unread: verify exits 1 (INTEGRITY_FAILURE) at once; a sparse 64 GiB file was hashed whole, for minutes, to compare with the signed digest', async () => {
    const s = await sealTree({ 'a.txt': 'one\n', 'b.txt': 'two\n' }, keys);
    const path = join(s.dir, 'manifest.jsonl');
    await fsp.rm(path);
    await fsp.writeFile(path, '');
    await fsp.truncate(path, 64 * 2 ** 30);
    const r = await snapBin(['verify', s.data, '--against', s.ref, '--store', s.store, '--pubkey', keys.pub, '--json'], { timeoutMs: 20_000 });
    expect(r.signal, 'verify hashed the whole file').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout).failure).toMatchObject({ code: 'INTEGRITY_FAILURE', message: expect.stringContaining(`longer than its 2 signed lines can be (${2 * MAX_MANIFEST_ENTRY_BYTES} bytes)`) });
  }, 30_000);
});
