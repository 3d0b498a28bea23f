/**
 * `snap attest` and `snap verify-model`: a model's files attested as trained on signed snapshots,
 * and the gate before deployment that says which snapshots those were and whether each is trusted.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snapBin, snapJson, snap, tempDir, heapLimit, type KeyPair } from '../helpers/tree.js';
import { newStorePath, tamper } from '../helpers/store.js';
import { validateAttestation, buildAttestation, serializeAttestation } from '../../src/core/attestation.js';
import type { SnapError } from '../../src/core/errors.js';
import { seal as sealLibrary } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { formatTime } from '../../src/core/statement.js';

const DAY = 86_400_000;

let dataKey: KeyPair;
let mlKey: KeyPair;
let store: string;
let work: string;
let clean: { id: string; merkleRoot: string; data: string };
let outFile: string;

async function seal(files: Record<string, string>, as: string, extra: string[] = []) {
  const data = await makeTree(files);
  const r = await snapJson(['seal', data, '--as', as, '--key', dataKey.key, '--store', store, '--no-pipeline', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { id: r.json.snapshot as string, merkleRoot: r.json.merkleRoot as string, data };
}

const inWork = (name: string) => join(work, name);

/**
 * A copy of the store with 500 unsigned attestations planted as `planted@0…499` (no key needed),
 * attestation i naming `subjects(i)`, each with one training snapshot and, if given, `training`.
 */
async function storeWithPlantedAttestations(subjects: (i: number) => { name: string; digest: { sha256: string } }[], training?: { command: string }): Promise<string> {
  const crowded = join(await tempDir('snap-model-crowd-'), 'store');
  await fsp.cp(store, crowded, { recursive: true });
  const datasets = [{ ref: 'x@v1', snapshot: `sha256:${'1'.repeat(64)}`, merkleRoot: '2'.repeat(64) }];
  for (let i = 0; i < 500; i++) {
    const bytes = serializeAttestation(buildAttestation(subjects(i), { createdAt: '2026-01-01T00:00:00Z', datasets, model: 'planted', version: String(i), ...(training ? { training } : {}), tool: { name: 'snap', version: '0.1.0' } }));
    const dir = join(crowded, 'attestations', 'planted', String(i));
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(join(dir, 'envelope.json'), JSON.stringify({ payload: Buffer.from(bytes).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [] }));
  }
  return crowded;
}

/** `verify-model weights.bin --json` against `crowded`, the built CLI in its own process so that a 32 MiB heap bound applies to it alone; it must not run out of memory, and must exit 0. */
async function verifyModelUnder32MiB(crowded: string) {
  const r = await snapBin(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', crowded, '--json'], { cwd: work, env: { NODE_OPTIONS: heapLimit(32) }, timeoutMs: 50_000 });
  expect(r.stderr).not.toMatch(/heap out of memory/);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** `verify-model MODEL --json` in a process of its own, with the file swap hook SNAP_TEST_SWAP_FILE=`swap` (io/test-swap.ts). */
const verifyModelWithSwap = (model: string, swap: string, timeoutMs: number) =>
  snapBin(['verify-model', model, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store, '--json'], { env: { SNAP_TEST_SWAP_FILE: swap }, timeoutMs });

beforeAll(async () => {
  dataKey = await makeKeyPair('data');
  mlKey = await makeKeyPair('ml');
  store = await newStorePath();
  work = await tempDir('snap-model-');
  await seal({ 'raw.csv': 'a,b\n1,2\n' }, 'raw@v1', ['--source', 'https://vendor.example/dump.csv']);
  clean = await seal({ 'clean.csv': 'a,b\n1,2\n' }, 'clean@v1', ['--derived-from', 'raw@v1']);
  await fsp.writeFile(inWork('weights.bin'), 'WEIGHTS');
  await fsp.writeFile(inWork('tokenizer.json'), '{"vocab":[]}');
  await fsp.writeFile(inWork('hp.yaml'), 'lr: 0.1\n');
  outFile = inWork('clf@1.0.attestation.json');
  const r = await snapJson(
    ['attest', 'weights.bin', 'tokenizer.json', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@1.0', '--train-command', 'python train.py', '--train-commit', 'c'.repeat(40), '--hyperparameters', 'hp.yaml', '-o', outFile, '--store', store],
    { cwd: work },
  );
  if (r.code !== 0) throw new Error(`attest failed: ${r.stderr}`);
});

describe('the attestation statement of docs/FORMAT.md §13', () => {
  it('lists its members in the RFC 8785 order a statement holds them (training between tool and version)', async () => {
    const doc = await fsp.readFile(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const s13 = doc.slice(doc.indexOf('## 13. Model attestations'), doc.indexOf('## 14.'));
    const example = /```json\n(\{"_type".*?)```/s.exec(s13)?.[1] ?? '';
    const value = JSON.parse(example.replace(/\n\s*/g, ''));
    const sortedKeys = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(sortedKeys) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])])) : v;
    expect(JSON.stringify(value)).toBe(JSON.stringify(sortedKeys(value)));
    expect(Object.keys(value.predicate)).toEqual(['createdAt', 'datasets', 'model', 'tool', 'training', 'version']);
  });
});

describe('snap attest', () => {
  it('signs the artifacts and the training snapshots, stores the attestation write-once and exports it', async () => {
    const dir = join(store, 'attestations', 'clf', '1.0');
    expect(existsSync(join(dir, 'statement.json'))).toBe(true);
    expect(existsSync(join(dir, 'envelope.json'))).toBe(true);
    const env = JSON.parse(await fsp.readFile(outFile, 'utf8'));
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    expect(statement.predicateType).toBe('urn:snap:model-attestation:v1');
    expect(statement.subject.map((s: { name: string }) => s.name)).toEqual(['weights.bin', 'tokenizer.json']);
    expect(statement.predicate.datasets).toEqual([{ ref: 'clean@v1', snapshot: clean.id, merkleRoot: clean.merkleRoot }]);
    expect(statement.predicate.training.command).toBe('python train.py');
    expect(statement.predicate.training.hyperparameters.name).toBe('hp.yaml');
    expect(await fsp.readFile(join(dir, 'envelope.json'))).toEqual(await fsp.readFile(outFile));
  });

  it('names an attestation after the first file and its digest when --as is not given', async () => {
    await fsp.writeFile(inWork('Other Model.bin'), 'OTHER');
    const r = await snapJson(['attest', 'Other Model.bin', '--data', 'clean@v1', '--key', mlKey.key, '--store', store], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ref).toMatch(/^other-model@[0-9a-f]{12}$/);
  });

  it('quotes an artifact whose name could pass for another, its letters outside ASCII escaped, in attest, verify-model and impact', async () => {
    const name = 'mod\u0435l.bin'; // a Cyrillic е: model.bin on a screen
    await fsp.writeFile(inWork(name), 'LOOKALIKE');
    const a = await snap(['attest', name, '--data', 'clean@v1', '--key', mlKey.key, '--as', 'lookalike@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('  artifact     "mod\\u0435l.bin" sha256 ');
    const v = await snap(['verify-model', name, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('  file         "mod\\u0435l.bin" sha256 ');
    const i = await snap(['impact', 'clean@v1', '--store', store], { cwd: work });
    expect(i.stdout).toContain('"mod\\u0435l.bin"');
    expect(i.stdout).toContain('"weights.bin"'); // a plain name keeps its quotes and its letters
  });

  it('exits 3 (ATTESTATION_EXISTS) for an attestation name already in the store', async () => {
    const r = await snapJson(['attest', 'weights.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@1.0', '--store', store], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('ATTESTATION_EXISTS');
  });

  it('says, when the same files are attested again without --as, that the name was made from them and that --as names another attestation (it said "choose a new VERSION" of a name never given)', async () => {
    await fsp.writeFile(inWork('twice.bin'), 'TWICE');
    const first = await snapJson(['attest', 'twice.bin', '--data', 'clean@v1', '--key', mlKey.key, '--store', store], { cwd: work });
    expect(first.code, first.stderr).toBe(0);
    const again = await snapJson(['attest', 'twice.bin', '--data', 'clean@v1', '--key', mlKey.key, '--store', store], { cwd: work });
    expect(again.code).toBe(3);
    expect(again.json.error.code).toBe('ATTESTATION_EXISTS');
    expect(again.json.error.message).toContain(`${first.json.ref as string} is the name made from the model files' name and digest: these files were attested before (snap verify-model FILE… shows by whom and on what data); give --as MODEL@VERSION to sign another attestation of them`);
  });

  it('exits 3 (FILE_EXISTS) for an --out file that exists, storing nothing: the same MODEL@VERSION attests afterwards with a new --out', async () => {
    await fsp.writeFile(inWork('taken.json'), 'mine\n');
    await fsp.writeFile(inWork('w2.bin'), 'W2'); // not weights.bin: verify-model below expects its one attestation
    const r = await snapJson(['attest', 'w2.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@2.0', '-o', 'taken.json', '--store', store], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(inWork('taken.json'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(store, 'attestations', 'clf', '2.0'))).toBe(false);
    const again = await snapJson(['attest', 'w2.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@2.0', '-o', 'clf@2.0.json', '--store', store], { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(await fsp.readFile(join(store, 'attestations', 'clf', '2.0', 'envelope.json'))).toEqual(await fsp.readFile(inWork('clf@2.0.json')));
  });

  it('leaves no --out file when the attestation cannot be stored (ATTESTATION_EXISTS, exit 3)', async () => {
    const r = await snapJson(['attest', 'weights.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@1.0', '-o', 'dup.json', '--store', store], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('ATTESTATION_EXISTS');
    expect(existsSync(inWork('dup.json'))).toBe(false);
  });

  it('with --pubkey, attests only training data those keys trust: a snapshot forged in the store under the name given (SIGNATURE_INVALID) or revoked (SNAPSHOT_REVOKED) stops it, exit 1, nothing stored', async () => {
    await seal({ 'swap.csv': 's\n' }, 'swap@v1');
    await seal({ 'gone.csv': 'g\n' }, 'gone@v1');
    await fsp.writeFile(inWork('checked.bin'), 'CHECKED');
    const attest = (data: string, as: string) => snapJson(['attest', 'checked.bin', '--data', data, '--key', mlKey.key, '--as', as, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    const fine = await attest('swap@v1', 'checked@1');
    expect(fine.code, fine.stderr).toBe(0);
    expect(fine.json.dataVerified).toBe(true);
    // Someone who can write the store, and holds no data key, puts a snapshot of their own in its place.
    const stranger = await makeKeyPair('forger');
    const otherStore = await newStorePath();
    const forged = await snapJson(['seal', await makeTree({ 'swap.csv': 'poison\n' }), '--as', 'swap@v1', '--key', stranger.key, '--store', otherStore, '--no-pipeline']);
    expect(forged.code, forged.stderr).toBe(0);
    await fsp.rm(join(store, 'snapshots', 'swap', 'v1'), { recursive: true });
    await fsp.cp(join(otherStore, 'snapshots', 'swap', 'v1'), join(store, 'snapshots', 'swap', 'v1'), { recursive: true });
    const swapped = await attest('swap@v1', 'checked@2');
    expect(swapped.code).toBe(1);
    expect(swapped.json.error.code).toBe('SIGNATURE_INVALID');
    expect(swapped.json.error.message).toContain('swap@v1');
    expect(existsSync(join(store, 'attestations', 'checked', '2'))).toBe(false);
    expect((await snapJson(['revoke', 'gone@v1', '--reason', 'labels flipped', '--key', dataKey.key, '--store', store])).code).toBe(0);
    const revoked = await attest('gone@v1', 'checked@3');
    expect(revoked.code).toBe(1);
    expect(revoked.json.error.code).toBe('SNAPSHOT_REVOKED');
    expect(existsSync(join(store, 'attestations', 'checked', '3'))).toBe(false);
    // Without --pubkey the forged snapshot is attested as before, and the output says its signatures were not checked.
    const unchecked = await snap(['attest', 'checked.bin', '--data', 'swap@v1', '--key', mlKey.key, '--as', 'checked@4', '--store', store], { cwd: work });
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(unchecked.stderr).toMatch(/^note: the training snapshots' signatures were not checked/m);
  });

  it('exits 3 (REF_NOT_FOUND) for training data not in the store', async () => {
    const r = await snapJson(['attest', 'weights.bin', '--data', 'nothing@v1', '--key', mlKey.key, '--as', 'clf@x1', '--store', store], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 3 (NOT_FOUND) for a model file that does not exist', async () => {
    const r = await snapJson(['attest', 'missing.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@x2', '--store', store], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 2 (USAGE) for two model files with one name, or a malformed --train-commit', async () => {
    const sub = join(work, 'sub');
    await fsp.mkdir(sub, { recursive: true });
    await fsp.writeFile(join(sub, 'weights.bin'), 'W2');
    const twice = await snapJson(['attest', 'weights.bin', 'sub/weights.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@x3', '--store', store], { cwd: work });
    expect(twice.code).toBe(2);
    expect(twice.json.error.code).toBe('USAGE');
    const commit = await snapJson(['attest', 'weights.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'clf@x4', '--train-commit', 'abc', '--store', store], { cwd: work });
    expect(commit.code).toBe(2);
    expect(commit.json.error.code).toBe('USAGE');
    expect(existsSync(join(store, 'attestations', 'clf', 'x3'))).toBe(false);
  });
});

describe('snap verify-model', () => {
  it('exits 0 and names the training snapshots when the attestation and every snapshot are trusted', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.attestations).toHaveLength(1);
    expect(r.json.attestations[0].ref).toBe('clf@1.0');
    expect(r.json.attestations[0].datasets).toMatchObject([{ ref: 'clean@v1', snapshot: clean.id, trusted: true }]);
  });

  it('logs each run with the model files\' SHA-256 and, when it fails, the failure code: an unattested model is named in the audit log by its bytes', async () => {
    await fsp.writeFile(inWork('stranger.bin'), 'NOT ATTESTED');
    const r = await snapJson(['verify-model', 'stranger.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect([r.code, r.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    const lines = (await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const last = lines.at(-1);
    const sha = execFileSync('sha256sum', [inWork('stranger.bin')], { encoding: 'utf8' }).slice(0, 64);
    expect(last).toMatchObject({ command: 'verify-model', outcome: 'failed', details: { models: [sha], failure: 'ATTESTATION_NOT_FOUND' } });
    expect(last.ref).toBeUndefined();
    const ok = await snapJson(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(ok.code).toBe(0);
    const okLine = JSON.parse((await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).trim().split('\n').at(-1) as string);
    expect(okLine).toMatchObject({ command: 'verify-model', outcome: 'ok', ref: 'clf@1.0' });
    expect(okLine.details).toEqual({ models: [execFileSync('sha256sum', [inWork('weights.bin')], { encoding: 'utf8' }).slice(0, 64)] });
  });

  it('with --expect, passes the model meant and fails (exit 1, ATTESTATION_NOT_FOUND) files attested only as another model: swapped-in weights of a trusted model are not the one to deploy', async () => {
    const expectAs = (e: string) => snapJson(['verify-model', 'weights.bin', '--expect', e, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    for (const e of ['clf@1.0', 'clf']) {
      const ok = await expectAs(e);
      expect([e, ok.code, ok.json.ok]).toEqual([e, 0, true]);
    }
    for (const e of ['clf@2.0', 'fraud-model@1', 'fraud-model']) {
      const r = await expectAs(e);
      expect([e, r.code, r.json.failure?.code]).toEqual([e, 1, 'ATTESTATION_NOT_FOUND']);
      expect(r.json.failure.message).toContain('attested as clf@1.0');
      expect(r.json.attestations).toEqual([]);
    }
    const bad = await expectAs('Not A Name');
    expect([bad.code, bad.json.error?.code]).toEqual([2, 'USAGE']);
    const badVersion = await expectAs('clf@');
    expect([badVersion.code, badVersion.json.error?.code]).toEqual([2, 'REF_MALFORMED']);
  });

  it('says what else the attestation names when only some of the model files are given, and with --complete requires them all, each under its attested name (exit 1, ATTESTATION_NOT_FOUND)', async () => {
    const vm = (files: string[], extra: string[] = []) => snapJson(['verify-model', ...files, ...extra, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    const part = await vm(['weights.bin']);
    expect(part.code, part.stdout).toBe(0);
    expect(part.json.attestations[0].notGiven).toEqual(['tokenizer.json']);
    const human = await snap(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(human.stdout).toMatch(/^ {4}note {9}it also attests "tokenizer\.json", not checked here: .*--complete.*$/m);

    const partComplete = await vm(['weights.bin'], ['--complete']);
    expect([partComplete.code, partComplete.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    expect(partComplete.json.failure.message).toContain('clf@1.0 also attests "tokenizer.json", not given');
    const whole = await vm(['weights.bin', 'tokenizer.json'], ['--complete']);
    expect(whole.code, whole.stdout).toBe(0);
    expect(whole.json.attestations[0].notGiven).toEqual([]);

    // The same bytes under another name: attested by digest, but not as this file.
    const renamed = await tempDir('snap-model-renamed-');
    await fsp.copyFile(inWork('weights.bin'), join(renamed, 'model.bin'));
    await fsp.copyFile(inWork('tokenizer.json'), join(renamed, 'tokenizer.json'));
    const byDigest = await vm([join(renamed, 'model.bin'), join(renamed, 'tokenizer.json')]);
    expect(byDigest.code).toBe(0);
    const byName = await vm([join(renamed, 'model.bin'), join(renamed, 'tokenizer.json')], ['--complete']);
    expect([byName.code, byName.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    expect(byName.json.failure.message).toContain('names "model.bin" otherwise');
  });

  it('fails (exit 1, ATTESTATION_NOT_FOUND) a file given under an attested artifact\'s name whose bytes are another artifact\'s, even without --complete: the weights copied over the tokenizer are not the attested tokenizer', async () => {
    const swapped = await tempDir('snap-model-swapped-');
    await fsp.copyFile(inWork('weights.bin'), join(swapped, 'tokenizer.json'));
    const r = await snapJson(['verify-model', join(swapped, 'tokenizer.json'), '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect([r.code, r.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    expect(r.json.failure.message).toContain('clf@1.0 attests "tokenizer.json" with other contents');
    // Renamed, not swapped: the bytes under a name the attestation does not use still pass by digest.
    const renamed = await tempDir('snap-model-renamed-');
    await fsp.copyFile(inWork('weights.bin'), join(renamed, 'model.bin'));
    expect((await snapJson(['verify-model', join(renamed, 'model.bin'), '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work })).code).toBe(0);
  });

  it('takes a model folder as the whole model: every file in it, and exactly the files attested (a file left out, added or swapped fails, exit 1); a subfolder or link in it is refused (exit 3)', async () => {
    const model = await tempDir('snap-model-dir-');
    await fsp.copyFile(inWork('weights.bin'), join(model, 'weights.bin'));
    await fsp.copyFile(inWork('tokenizer.json'), join(model, 'tokenizer.json'));
    const vm = () => snapJson(['verify-model', model, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    const ok = await vm();
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.json.files.map((f: { name: string }) => f.name)).toEqual(['tokenizer.json', 'weights.bin']);

    await fsp.rename(join(model, 'tokenizer.json'), join(work, 'tok.away'));
    const missing = await vm();
    expect([missing.code, missing.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    expect(missing.json.failure.message).toContain('"tokenizer.json", not given');
    await fsp.rename(join(work, 'tok.away'), join(model, 'tokenizer.json'));

    await fsp.writeFile(join(model, 'extra.py'), 'import os\n');
    const extra = await vm();
    expect([extra.code, extra.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    await fsp.rm(join(model, 'extra.py'));

    await fsp.writeFile(join(model, 'tokenizer.json'), '{"vocab":["swapped"]}');
    const swapped = await vm();
    expect([swapped.code, swapped.json.failure?.code]).toEqual([1, 'ATTESTATION_NOT_FOUND']);
    await fsp.copyFile(inWork('tokenizer.json'), join(model, 'tokenizer.json'));
    expect((await vm()).code).toBe(0);

    await fsp.symlink(inWork('hp.yaml'), join(model, 'hp.yaml'));
    const link = await vm();
    expect([link.code, link.json.error?.code]).toEqual([3, 'FILE_UNSUPPORTED_TYPE']);
    await fsp.rm(join(model, 'hp.yaml'));
    await fsp.mkdir(join(model, 'sub'));
    const sub = await vm();
    expect([sub.code, sub.json.error?.code]).toEqual([3, 'FILE_UNSUPPORTED_TYPE']);
  });

  it('names an attested model folder after the folder when --as is not given, its version from the files', async () => {
    const parent = await tempDir('snap-model-named-');
    const model = join(parent, 'Fraud Model');
    await fsp.mkdir(model);
    await fsp.writeFile(join(model, 'config.json'), '{"layers":3}');
    await fsp.writeFile(join(model, 'weights.bin'), 'W3');
    const a = await snapJson(['attest', model, '--data', 'clean@v1', '--key', mlKey.key, '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    expect(a.json.ref).toMatch(/^fraud-model@[0-9a-f]{12}$/);
    await fsp.writeFile(join(model, 'weights.bin'), 'W4');
    const b = await snapJson(['attest', model, '--data', 'clean@v1', '--key', mlKey.key, '--store', store], { cwd: work });
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.ref).toMatch(/^fraud-model@[0-9a-f]{12}$/);
    expect(b.json.ref).not.toBe(a.json.ref);
  });

  it('attests a model folder as its files, which verify-model then takes as the folder (exit 0)', async () => {
    const model = await tempDir('snap-model-attest-dir-');
    await fsp.writeFile(join(model, 'config.json'), '{"layers":2}');
    await fsp.writeFile(join(model, 'model.safetensors'), 'SAFETENSORS');
    const a = await snapJson(['attest', model, '--data', 'clean@v1', '--key', mlKey.key, '--as', 'folder-model@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const v = await snapJson(['verify-model', model, '--expect', 'folder-model@1', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(v.code, v.stdout).toBe(0);
    expect(v.json.attestations.map((x: { ref: string }) => x.ref)).toEqual(['folder-model@1']);
  });

  it('refuses a FIFO given as --attestation at once (IO_ERROR, exit 3) instead of waiting on it', async () => {
    const fifo = inWork('attestation.fifo');
    await fsp.rm(fifo, { force: true });
    execFileSync('mkfifo', [fifo]);
    // A subprocess: a blocked open would hang the test process itself (snapBin kills it after 30 s).
    const r = await snapBin(['verify-model', 'weights.bin', '--attestation', fifo, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store, '--json'], { cwd: work });
    expect(r.code, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('not a regular file') });
  });

  it('checks an exported attestation file with --attestation', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', 'tokenizer.json', '--attestation', outFile, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(r.code, r.stdout).toBe(0);
  });

  it('with --attestation, names a file that is no model attestation as such (exit 1, the code it was refused with), not as a model changed since it was attested', async () => {
    const junk = inWork('junk.attestation.json');
    await fsp.writeFile(junk, '{"x":1}');
    for (const [file, code] of [[join(store, 'snapshots', 'clean', 'v1', 'envelope.json'), 'STATEMENT_UNKNOWN_PREDICATE_TYPE'], [junk, 'ENVELOPE_MALFORMED']] as const) {
      const r = await snapJson(['verify-model', 'weights.bin', '--attestation', file, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
      expect([file, r.code, r.json.failure?.code]).toEqual([file, 1, code]);
      expect(r.json.failure.message).not.toMatch(/changed since attested/);
      expect(r.json.rejected).toEqual([{ id: '', failure: { code, message: expect.stringContaining('attestation refused') } }]);
      const human = await snap(['verify-model', 'weights.bin', '--attestation', file, '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
      expect(human.stdout).toMatch(new RegExp(`^ {2}rejected {5}\\(unreadable\\): attestation refused: .*\\[${code}\\]$`, 'm'));
    }
  });

  it('exits 1 (SIGNATURE_INVALID) naming the snapshot when its signer is not trusted', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--store', store], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(r.json.attestations[0].datasets[0]).toMatchObject({ ref: 'clean@v1', trusted: false, failure: { code: 'SIGNATURE_INVALID' } });
    const text = await snap(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--store', store], { cwd: work });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('NOT TRUSTED');
    // The usual cause: only the model's key was given. The verdict says to give the data's too.
    expect(r.json.failure.message).toMatch(/^training data not trusted: clean@v1: .*; verify-model checks the attestation and the snapshots with the same --pubkey keys: give the data's public key too \(--pubkey DATA\.pub\)$/);
    expect(text.stdout).toMatch(/^MODEL NOT VERIFIED: training data not trusted: .*give the data's public key too \(--pubkey DATA\.pub\)/);
  });

  it('exits 1 (SIGNATURE_INVALID) when the attestation itself is not signed by a trusted key', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(r.json.rejected[0].ref).toBe('clf@1.0');
  });

  it('exits 1 (ATTESTATION_NOT_FOUND) for a model file changed since it was attested', async () => {
    const dir = await tempDir();
    await fsp.writeFile(join(dir, 'weights.bin'), 'WEIGHTS, fine-tuned');
    const r = await snapJson(['verify-model', join(dir, 'weights.bin'), '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('ATTESTATION_NOT_FOUND');
  });

  it('exits 1 (INTEGRITY_FAILURE) when a training snapshot was altered after the attestation', async () => {
    const s = await seal({ 'x.csv': 'x\n' }, 'alter@v1');
    await fsp.writeFile(inWork('alter.bin'), 'ALTER');
    const a = await snapJson(['attest', 'alter.bin', '--data', 'alter@v1', '--key', mlKey.key, '--as', 'alter-model@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const file = join(store, 'snapshots', 'alter', 'v1', 'statement.json');
    const genuine = await fsp.readFile(file);
    await tamper(file, (t) => t.replace('"fileCount":1', '"fileCount":2'));
    try {
      const r = await snapJson(['verify-model', 'alter.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
      expect(r.code).toBe(1);
      expect(r.json.attestations[0].datasets[0]).toMatchObject({ trusted: false, failure: { code: 'INTEGRITY_FAILURE' } });
      expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
      expect(s.id).toBe(a.json.datasets[0].snapshot);
    } finally {
      // The store is shared: the next tests' impact would find alter@v1 replaced (alter-model@1 names the genuine one).
      await fsp.writeFile(file, genuine);
    }
  });

  it('exits 1 (INTEGRITY_FAILURE) when a stored attestation statement was altered', async () => {
    await fsp.writeFile(inWork('tamper.bin'), 'TAMPER');
    const a = await snapJson(['attest', 'tamper.bin', '--data', 'clean@v1', '--key', mlKey.key, '--as', 'tamper-model@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const file = join(store, 'attestations', 'tamper-model', '1', 'statement.json');
    const genuine = await fsp.readFile(file);
    await tamper(file, (t) => t.replace('"clean@v1"', '"raw@v1"'));
    try {
      const r = await snapJson(['verify-model', 'tamper.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
      expect(r.code).toBe(1);
      expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
    } finally {
      // The store is shared: the next tests' impact would find raw@v1 named as clean@v1's snapshot (replaced).
      await fsp.writeFile(file, genuine);
    }
  });

  it('exits 1 (SNAPSHOT_EXPIRED) when a training snapshot has expired since the model was attested', async () => {
    const data = await makeTree({ 'old.csv': 'o\n' });
    const past = new Date(Math.floor((Date.now() - 2 * DAY) / 1000) * 1000);
    await sealLibrary({ dir: data, as: 'expiring@v1', key: await readPrivateKey(dataKey.key), store, now: () => past, expiresAt: formatTime(new Date(past.getTime() + DAY)) });
    await fsp.writeFile(inWork('expired.bin'), 'EXPIRED');
    const a = await snapJson(['attest', 'expired.bin', '--data', 'expiring@v1', '--key', mlKey.key, '--as', 'expired-model@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const r = await snapJson(['verify-model', 'expired.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.json.attestations[0].datasets[0]).toMatchObject({ ref: 'expiring@v1', trusted: false, failure: { code: 'SNAPSHOT_EXPIRED' } });
    expect(r.json.failure.code).toBe('SNAPSHOT_EXPIRED');
  });

  it('exits 1 (SNAPSHOT_REVOKED) when a trusted key revoked a training snapshot, and not for a revocation by an untrusted key', async () => {
    await seal({ 'poisoned.csv': 'p\n' }, 'poisoned@v1');
    await fsp.writeFile(inWork('revoked.bin'), 'REVOKED');
    const a = await snapJson(['attest', 'revoked.bin', '--data', 'poisoned@v1', '--key', mlKey.key, '--as', 'revoked-model@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const verifyModel = () => snapJson(['verify-model', 'revoked.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    const stranger = await makeKeyPair('stranger');
    const byStranger = await snapJson(['revoke', 'poisoned@v1', '--reason', 'not mine to say', '--key', stranger.key, '--store', store]);
    expect(byStranger.code, byStranger.stderr).toBe(0);
    const stillTrusted = await verifyModel();
    expect(stillTrusted.code, stillTrusted.stdout).toBe(0);
    const revoked = await snapJson(['revoke', 'poisoned@v1', '--reason', 'labels flipped', '--key', dataKey.key, '--store', store]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const r = await verifyModel();
    expect(r.code).toBe(1);
    expect(r.json.attestations[0].datasets[0]).toMatchObject({ ref: 'poisoned@v1', trusted: false, failure: { code: 'SNAPSHOT_REVOKED' } });
    expect(r.json.failure.code).toBe('SNAPSHOT_REVOKED');
    const text = await snap(['verify-model', 'revoked.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('[SNAPSHOT_REVOKED]');
    // Attesting another model on it now still works, but says at once that revocations are kept for it.
    expect(a.json.notes).toBeUndefined();
    await fsp.writeFile(inWork('again.bin'), 'AGAIN');
    const again = await snapJson(['attest', 'again.bin', '--data', 'poisoned@v1', '--key', mlKey.key, '--as', 'again-model@1', '--store', store], { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.notes).toEqual([expect.stringMatching(/^poisoned@v1 \(sha256:[0-9a-f]{64}\) has 2 revocations in the store, not judged here/)]);
    await fsp.writeFile(inWork('human.bin'), 'HUMAN');
    const human = await snap(['attest', 'human.bin', '--data', 'poisoned@v1', '--key', mlKey.key, '--as', 'human-model@1', '--store', store], { cwd: work });
    expect(human.stderr).toMatch(/^note: poisoned@v1 .* has 2 revocations in the store/m);
  });

  it('still verifies a model (exit 0) when a copy of its training snapshot planted under another name makes the id ambiguous, and bom --model still describes it', async () => {
    const copy = join(store, 'snapshots', 'clean-copy', 'v1');
    await fsp.cp(join(store, 'snapshots', 'clean', 'v1'), copy, { recursive: true });
    try {
      const r = await snapJson(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
      expect(r.code, r.stdout).toBe(0);
      expect(r.json.attestations[0].datasets).toMatchObject([{ ref: 'clean@v1', snapshot: clean.id, trusted: true }]);
      const out = join(work, 'ambiguous.cdx.json');
      const b = await snapJson(['bom', '--model', 'clf@1.0', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '-o', out, '--store', store]);
      expect(b.code, b.stdout + b.stderr).toBe(0);
      const bom = JSON.parse(await fsp.readFile(out, 'utf8'));
      expect(bom.components.map((c: { 'bom-ref': string }) => c['bom-ref'])).toEqual([`snapshot:${clean.id}`]);
    } finally {
      await fsp.rm(join(store, 'snapshots', 'clean-copy'), { recursive: true, force: true });
    }
  });

  it('still exits 1 (SNAPSHOT_REVOKED) on a machine that saw the revocation once the store has lost it', async () => {
    const state = await tempDir('snap-state-');
    await seal({ 'poisoned.csv': 'q\n' }, 'poisoned@v2');
    await fsp.writeFile(inWork('revoked2.bin'), 'REVOKED2');
    expect((await snapJson(['attest', 'revoked2.bin', '--data', 'poisoned@v2', '--key', mlKey.key, '--as', 'revoked-model@2', '--store', store], { cwd: work })).code).toBe(0);
    const r = await snapJson(['revoke', 'poisoned@v2', '--reason', 'labels flipped', '--key', dataKey.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const verifyModel = () => snapJson(['verify-model', 'revoked2.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work, env: { SNAP_STATE_DIR: state } });
    expect((await verifyModel()).json.failure.code).toBe('SNAPSHOT_REVOKED');
    // Someone with write access to the store, and no key, removes the revocation.
    await fsp.rm(join(store, 'revocations', r.json.snapshot.slice(7)), { recursive: true, force: true });
    const again = await verifyModel();
    expect(again.code).toBe(1);
    expect(again.json.failure.code).toBe('SNAPSHOT_REVOKED');
  });

  it('goes on with a note, as verify does, when the trusted state cannot be read (a folder where trusted-state.json should be): exit 0, not IO_ERROR', async () => {
    const state = await tempDir('snap-state-');
    await fsp.mkdir(join(state, 'trusted-state.json'));
    const env = { SNAP_STATE_DIR: state };
    const r = await snapJson(['verify-model', 'weights.bin', 'tokenizer.json', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.stderr).toMatch(/^note: cannot read the trusted state: .*: the revocations this machine has seen are not applied in this run$/m);
    const v = await snapJson(['verify', clean.data, '--against', 'clean@v1', '--pubkey', dataKey.pub, '--store', store], { env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/^note: cannot read the trusted state: .*: the revocations this machine has seen are not applied in this run$/m);
    const quiet = await snapJson(['verify-model', 'weights.bin', 'tokenizer.json', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store, '-q'], { cwd: work, env });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('keeps in memory only the attestations that cover the files: 500 planted ones of 256 long-named subjects each do not exhaust a 32 MiB heap', async () => {
    const subjects = (i: number) => Array.from({ length: 256 }, (_, k) => ({ name: `${i}-${k}-`.padEnd(255, 'x'), digest: { sha256: (i * 1000 + k).toString(16).padStart(64, '0') } }));
    // Unsigned (no key needed): only the envelope is read, its payload parsed to match subjects.
    const r = await verifyModelUnder32MiB(await storeWithPlantedAttestations(subjects));
    expect(JSON.parse(r.stdout).attestations.map((a: { ref: string }) => a.ref)).toEqual(['clf@1.0']);
  }, 60_000);

  it('keeps of an untrusted attestation that covers the files only what it reports: 500 planted ones naming the weights\' digest beside 255 long-named subjects do not exhaust a 32 MiB heap, and each is listed as rejected', async () => {
    const weights = createHash('sha256').update(await fsp.readFile(inWork('weights.bin'))).digest('hex'); // public: it is in the genuine attestation
    const subjects = (i: number) => [{ name: 'weights.bin', digest: { sha256: weights } }, ...Array.from({ length: 255 }, (_, k) => ({ name: `${i}-${k}-`.padEnd(255, 'x'), digest: { sha256: (i * 1000 + k).toString(16).padStart(64, '0') } }))];
    // Unsigned (no key needed), and it covers the files: the check rejects it, but it was kept parsed.
    const r = await verifyModelUnder32MiB(await storeWithPlantedAttestations(subjects, { command: 'y'.repeat(4096) }));
    const out = JSON.parse(r.stdout);
    expect(out.attestations.map((a: { ref: string }) => a.ref)).toEqual(['clf@1.0']);
    expect(out.rejected).toHaveLength(500);
    expect(out.rejected[0]).toMatchObject({ ref: 'planted@0', failure: { code: 'SIGNATURE_INVALID' } });
  }, 60_000);

  it('exits 3 (NOT_FOUND) when there is no store', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--store', await newStorePath()], { cwd: work });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 2 (USAGE) without --pubkey', async () => {
    const r = await snapJson(['verify-model', 'weights.bin', '--store', store], { cwd: work });
    expect(r.code).toBe(2);
  });

  it('judges the model at once on the attestations it can read when one in the store was replaced by a FIFO, lists the FIFO one as unreadable, and impact leaves it out and says so, instead of both blocking for ever', async () => {
    const planted = join(store, 'attestations', 'planted');
    await fsp.mkdir(join(planted, '1'), { recursive: true });
    execFileSync('mkfifo', [join(planted, '1', 'envelope.json')]);
    try {
      // In subprocesses: without the non-blocking open each blocks in open(2) until killed.
      const v = await snapBin(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store, '--json'], { cwd: work, timeoutMs: 15_000 });
      expect(v.signal).toBeNull();
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(JSON.parse(v.stdout).unreadable).toEqual([{ ref: 'planted@1', failure: { code: 'IO_ERROR', message: expect.stringContaining('not a regular file') } }]);
      const i = await snapBin(['impact', 'clean@v1', '--store', store, '--json'], { timeoutMs: 15_000 });
      expect(i.signal).toBeNull();
      // The shared store still holds the swap@v1 an earlier test put in place of the genuine one (checked@1 names that): impact
      // names it replaced and exits 1 for it; the FIFO folder is only skipped.
      const replaced = (JSON.parse(i.stdout).replacedSnapshots as { ref: string }[]).map((x) => x.ref);
      expect(replaced.filter((ref) => ref !== 'swap@v1')).toEqual([]);
      expect(i.code, i.stderr).toBe(replaced.length > 0 ? 1 : 0);
      expect(JSON.parse(i.stdout).models.map((m: { ref: string }) => m.ref)).toContain('clf@1.0');
      expect(JSON.parse(i.stdout).skippedAttestations).toContainEqual(expect.objectContaining({ ref: 'planted@1', code: 'IO_ERROR', reason: expect.stringContaining('not a regular file') }));
    } finally {
      await fsp.rm(planted, { recursive: true, force: true });
    }
  });

  it('is not blocked for every model by one attestation folder it cannot read (empty, a file, a FIFO, a trusted envelope without its statement): each is skipped and named, the model judged on the rest (exit 0)', async () => {
    const root = join(store, 'attestations');
    await fsp.mkdir(join(root, 'empty', '1'), { recursive: true });
    await fsp.mkdir(join(root, 'afile'), { recursive: true });
    await fsp.writeFile(join(root, 'afile', '1'), 'not a folder');
    await fsp.mkdir(join(root, 'piped', '1'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'piped', '1', 'envelope.json')]);
    // clf@1.0's own signed envelope, copied without statement.json: trusted, covering the files, unreadable.
    await fsp.mkdir(join(root, 'clf', '9'), { recursive: true });
    await fsp.copyFile(join(root, 'clf', '1.0', 'envelope.json'), join(root, 'clf', '9', 'envelope.json'));
    try {
      const args = ['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store];
      const v = await snapBin([...args, '--json'], { cwd: work, timeoutMs: 15_000 });
      expect(v.code, v.stdout + v.stderr).toBe(0);
      const out = JSON.parse(v.stdout);
      expect(out.attestations.map((a: { ref: string }) => a.ref)).toEqual(['clf@1.0']);
      expect(out.unreadable.map((u: { ref: string; failure: { code: string } }) => [u.ref, u.failure.code])).toEqual([
        ['afile@1', 'NOT_FOUND'],
        ['clf@9', 'NOT_FOUND'],
        ['empty@1', 'NOT_FOUND'],
        ['piped@1', 'IO_ERROR'],
      ]);
      const h = await snapBin(args, { cwd: work, timeoutMs: 15_000 });
      expect(h.code, h.stdout + h.stderr).toBe(0);
      expect(h.stdout).toMatch(/^note: attestation empty@1 left out, it cannot be read: .* \[NOT_FOUND\]$/m);
      // A model no readable attestation covers still fails (exit 1), and the message names the unreadable folders.
      await fsp.writeFile(inWork('unattested.bin'), 'NEVER ATTESTED');
      const u = await snapBin(['verify-model', 'unattested.bin', '--pubkey', mlKey.pub, '--store', store, '--json'], { cwd: work, timeoutMs: 15_000 });
      expect(u.code, u.stdout + u.stderr).toBe(1);
      expect(JSON.parse(u.stdout).failure).toMatchObject({ code: 'ATTESTATION_NOT_FOUND', message: expect.stringContaining('4 attestation folders of the store could not be read') });
    } finally {
      for (const d of ['empty', 'afile', 'piped', join('clf', '9')]) await fsp.rm(join(root, d), { recursive: true, force: true });
    }
  });

  it.each([
    ['fifo', 'swapped for a FIFO after it was checked is refused at once (exit 3, FILE_UNSUPPORTED_TYPE), not waited on for ever', 15_000, 'FILE_UNSUPPORTED_TYPE'],
    ['grow', 'grown to 3 GiB while it is hashed is refused (exit 3, FILE_CHANGED), not hashed to its end', 60_000, 'FILE_CHANGED'],
  ] as const)('hashes a model file through one descriptor, to the size it had (swap hook %s): one %s', async (swap, _what, timeoutMs, code) => {
    const dir = await tempDir('snap-model-swap-');
    await fsp.writeFile(join(dir, 'weights.bin'), 'WEIGHTS');
    const r = await verifyModelWithSwap(join(dir, 'weights.bin'), `${swap}:${join(dir, 'weights.bin')}`, timeoutMs);
    expect(r.signal).toBeNull();
    expect([r.code, JSON.parse(r.stdout).error?.code]).toEqual([3, code]);
  });

  it('refuses a file of a model folder made a link after the folder was listed (exit 3, FILE_UNSUPPORTED_TYPE): a folder holds no links, even one put there between the listing and the read', async () => {
    const model = await tempDir('snap-model-swap-dir-');
    await fsp.writeFile(join(model, 'config.json'), '{"layers":3}');
    await fsp.writeFile(join(model, 'model.safetensors'), 'LINKSWAP');
    const a = await snapJson(['attest', model, '--data', 'clean@v1', '--key', mlKey.key, '--as', 'linkswap@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const r = await verifyModelWithSwap(model, `symlink:${join(model, 'model.safetensors')}`, 15_000);
    expect([r.code, JSON.parse(r.stdout).error?.code], r.stdout).toEqual([3, 'FILE_UNSUPPORTED_TYPE']);
  });

  it('still judges the model, and list and show end at once, when a snapshot folder planted in the store holds a FIFO as statement.json or envelope.json', async () => {
    const planted = join(store, 'snapshots', 'planted');
    for (const [version, fifo] of [['v1', 'statement.json'], ['v2', 'envelope.json']] as const) {
      await fsp.mkdir(join(planted, version), { recursive: true });
      for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) if (f !== fifo) await fsp.writeFile(join(planted, version, f), '{}');
      execFileSync('mkfifo', [join(planted, version, fifo)]);
    }
    try {
      // In subprocesses: without the fix each blocks in open(2) until killed.
      const v = await snapBin(['verify-model', 'weights.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store, '--json'], { cwd: work, timeoutMs: 15_000 });
      expect(v.signal).toBeNull();
      expect(v.code, v.stderr).toBe(0);
      const l = await snapBin(['list', '--store', store, '--json'], { timeoutMs: 15_000 });
      expect(l.signal).toBeNull();
      for (const ref of ['planted@v1', 'planted@v2']) {
        const s = await snapBin(['show', ref, '--store', store, '--json'], { timeoutMs: 15_000 });
        expect(s.signal).toBeNull();
        expect([s.code, JSON.parse(s.stdout).error.code]).toEqual([1, 'INTEGRITY_FAILURE']); // a store file that is not a regular file: the snapshot was damaged
      }
    } finally {
      await fsp.rm(planted, { recursive: true, force: true });
    }
  });
});

describe('the attestation validator', () => {
  const good = () =>
    buildAttestation([{ name: 'w.bin', digest: { sha256: 'a'.repeat(64) } }], {
      model: 'm', version: '1', createdAt: '2026-11-21T10:00:00Z', datasets: [{ ref: 'd@v1', snapshot: `sha256:${'b'.repeat(64)}`, merkleRoot: 'c'.repeat(64) }], tool: { name: 'snap', version: '0.1.0' },
    });
  const code = (mutate: (s: any) => void) => {
    const s = JSON.parse(JSON.stringify(good()));
    mutate(s);
    try {
      validateAttestation(s);
      return 'valid';
    } catch (e) {
      return (e as SnapError).code;
    }
  };
  it('accepts a well-formed attestation', () => expect(code(() => {})).toBe('valid'));
  for (const [what, mutate] of [
    ['an unknown predicate member', (s: any) => (s.predicate.expiresAt = 'x')],
    ['no datasets', (s: any) => (s.predicate.datasets = [])],
    ['a subject with a folder in its name', (s: any) => (s.subject[0].name = 'a/w.bin')],
    ['two subjects with one name', (s: any) => s.subject.push(s.subject[0])],
    ['257 subjects', (s: any) => (s.subject = Array.from({ length: 257 }, (_, i) => ({ name: `f${i}`, digest: { sha256: 'a'.repeat(64) } })))],
    ['a dataset named twice', (s: any) => s.predicate.datasets.push(s.predicate.datasets[0])],
    ['an empty training object', (s: any) => (s.predicate.training = {})],
  ] as const) {
    it(`refuses ${what} (STATEMENT_INVALID)`, () => expect(code(mutate)).toBe('STATEMENT_INVALID'));
  }
  it('refuses a snapshot statement type (STATEMENT_UNKNOWN_PREDICATE_TYPE)', () => expect(code((s) => (s.predicateType = 'urn:snap:dataset-snapshot:v1'))).toBe('STATEMENT_UNKNOWN_PREDICATE_TYPE'));
});
