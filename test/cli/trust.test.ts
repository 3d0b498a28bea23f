/**
 * Trust (SPEC §5, §8): an untrusted key, a tampered envelope, statement or manifest each make
 * verify exit 1 with `ok: false` and no data problem trusted; a threshold not met exits 1; an
 * unknown ref or a missing store exits 3.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, snapJson, tempDir, useKeyPair, type KeyPair } from '../helpers/tree.js';
import { newStorePath, sealTree, tamper, useStore, type Sealed } from '../helpers/store.js';

const keys = useKeyPair('alice');
const shared = useStore();
let other: KeyPair;
beforeAll(async () => {
  other = await makeKeyPair('mallory');
});

const TREE = { 'ham/1.txt': 'ham one\n', 'ham/2.txt': 'ham two\n', 'spam/1.txt': 'spam one\n' };

async function verifyJson(s: Sealed, pubkeys: string[] = [keys.pub], extra: string[] = []) {
  return snapJson(['verify', s.data, '--against', s.ref, ...pubkeys.flatMap((p) => ['--pubkey', p]), '--store', s.store, ...extra]);
}

/** Expect an integrity failure of the snapshot itself: exit 1, ok false, no data problem reported. */
function expectSnapshotRefused(v: Awaited<ReturnType<typeof verifyJson>>): void {
  expect(v.code).toBe(1);
  expect(v.json.ok).toBe(false);
  expect(v.json.problems).toEqual([]);
  expect(v.json.failure?.code).toEqual(expect.any(String));
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

describe('signers', () => {
  it('exits 1 when the snapshot was signed by a key that is not trusted: signers[0].trusted false, no problems', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [other.pub]);
    expectSnapshotRefused(v);
    expect(v.json.signers).toEqual([expect.objectContaining({ keyid: keys.keyid, trusted: false })]);
    expect(v.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('exits 0 when the signer is one of several trusted keys', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [other.pub, keys.pub]);
    expect(v.code).toBe(0);
    expect(v.json.signers).toEqual([{ keyid: keys.keyid, trusted: true }]);
  });

  it('exits 1 with --threshold 2 and one signer, even when both keys are trusted', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [keys.pub, other.pub], ['--threshold', '2']);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('exits 1 with --threshold 2 and a single trusted key that signed', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [keys.pub], ['--threshold', '2']);
    expectSnapshotRefused(v);
    expect(v.json.signers).toEqual([{ keyid: keys.keyid, trusted: true }]);
  });

  it('exits 1 with --threshold 2 when the same trusted key is given twice (a key counts once)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [keys.pub, keys.pub], ['--threshold', '2']);
    expectSnapshotRefused(v);
  });

  it('says on stderr that a --threshold above the distinct --pubkey keys given can never be met (exit 1 as before); not when it can', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    for (const pubkeys of [[keys.pub], [keys.pub, keys.pub]]) {
      const v = await verifyJson(s, pubkeys, ['--threshold', '2']);
      expectSnapshotRefused(v);
      expect(v.stderr).toContain('note: --threshold 2 asks for more keys than the 1 distinct --pubkey key given: no snapshot can pass; give 2 or more --pubkey keys, or a lower --threshold\n');
    }
    const met = await verifyJson(s, [keys.pub, other.pub], ['--threshold', '2']);
    expect(met.stderr).not.toContain('--threshold 2 asks for');
    const quiet = await verifyJson(s, [keys.pub], ['--threshold', '2', '--quiet']);
    expect(quiet.stderr).not.toContain('--threshold 2 asks for');
  });

  it('counts one key given in two --pubkey files once in verify-proof, restore and import too (SIGNATURE_INVALID, exit 1)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const dir = await tempDir('snap-trust-dup-');
    const copy = join(dir, 'copy.pub');
    await fsp.copyFile(keys.pub, copy);
    const twice = ['--pubkey', keys.pub, '--pubkey', copy, '--threshold', '2'];
    const proof = join(dir, 'p.json');
    expect((await snapJson(['prove', s.ref, 'ham/1.txt', '--out', proof, '--store', s.store])).code).toBe(0);
    const archive = join(dir, 'a.snap.tar');
    expect((await snapJson(['export', s.ref, '--out', archive, '--store', s.store])).code).toBe(0);
    const runs = [
      await snapJson(['verify-proof', proof, ...twice]),
      await snapJson(['restore', s.ref, join(dir, 'out'), '--store', s.store, ...twice]),
      await snapJson(['import', archive, '--store', await newStorePath(), ...twice]),
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.json.failure?.code ?? r.json.error?.code).toBe('SIGNATURE_INVALID');
    }
  });

  it('exits 1 when a snapshot is re-signed by an attacker over data changed to match', async () => {
    // The attacker changes the data and seals it again with their own key under the same name.
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'spam/1.txt'), 'not spam at all\n');
    const forged = await snapJson(['seal', s.data, '--as', `${s.name}@v2`, '--key', other.key, '--store', s.store]);
    expect(forged.code).toBe(0);
    const v = await verifyJson({ ...s, ref: `${s.name}@v2` });
    expectSnapshotRefused(v);
    expect(v.json.signers).toEqual([expect.objectContaining({ keyid: other.keyid, trusted: false })]);
  });

  it('exits 1 when the envelope holds no signature at all', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'envelope.json'), (t) => JSON.stringify({ ...JSON.parse(t), signatures: [] }));
    expectSnapshotRefused(await verifyJson(s));
  });

  it('exits 3 (NOT_FOUND) when the trusted public key file does not exist', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [join(await tempDir(), 'missing.pub')]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 3 (KEY_MALFORMED) when a private key is given as --pubkey', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await verifyJson(s, [keys.key]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('KEY_MALFORMED');
  });
});

describe('a tampered snapshot', () => {
  it('exits 1 when one character of the signature is flipped', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'envelope.json'), (t) => {
      const e = JSON.parse(t);
      const sig: string = e.signatures[0].sig;
      e.signatures[0].sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      return JSON.stringify(e);
    });
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.signers).toEqual([expect.objectContaining({ trusted: false })]);
  });

  it('exits 1 when the envelope payload is replaced by another statement (and statement.json with it)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    let forged = '';
    await tamper(join(s.dir, 'envelope.json'), (t) => {
      const e = JSON.parse(t);
      forged = unb64(e.payload).replace('"fileCount":3', '"fileCount":4');
      e.payload = b64(forged);
      return JSON.stringify(e);
    });
    await tamper(join(s.dir, 'statement.json'), () => forged);
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('exits 1 when the envelope is not JSON', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'envelope.json'), (t) => t.slice(0, -2));
    expectSnapshotRefused(await verifyJson(s));
  });

  it('exits 1 when one byte of statement.json is edited (fileCount)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'statement.json'), (t) => t.replace('"fileCount":3', '"fileCount":4'));
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('INTEGRITY_FAILURE');
  });

  it('exits 1 when one digest character of manifest.jsonl is changed', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.replace(/("sha256":")(.)/, (_m, a: string, c: string) => a + (c === '0' ? '1' : '0')));
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('INTEGRITY_FAILURE');
    expect(v.json.counts).toMatchObject({ matched: 0, modified: 0, missing: 0, extra: 0 });
  });

  it('exits 1 when a line of manifest.jsonl is deleted (and the file is deleted from the data to match)', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.split('\n').filter((l) => !l.includes('"spam/1.txt"')).join('\n'));
    await fsp.rm(join(s.data, 'spam/1.txt'));
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('INTEGRITY_FAILURE');
  });

  it('exits 1 when manifest.jsonl is replaced by garbage', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await tamper(join(s.dir, 'manifest.jsonl'), () => 'this is not a manifest\n');
    expectSnapshotRefused(await verifyJson(s));
  });

  it('exits 1 when a manifest digest is changed to match modified data', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.writeFile(join(s.data, 'ham/1.txt'), 'poisoned');
    const { createHash } = await import('node:crypto');
    const newSha = createHash('sha256').update('poisoned').digest('hex');
    await tamper(join(s.dir, 'manifest.jsonl'), (t) =>
      t.split('\n').map((l) => (l.includes('"ham/1.txt"') ? `{"path":"ham/1.txt","sha256":"${newSha}","size":8}` : l)).join('\n'),
    );
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
  });
});

describe('a snapshot with a file deleted', () => {
  it('exits 1 (SIGNATURE_INVALID: a signature is missing) when envelope.json was deleted', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rm(join(s.dir, 'envelope.json'));
    const v = await verifyJson(s);
    expectSnapshotRefused(v);
    expect(v.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('exits 1 (INTEGRITY_FAILURE) when statement.json or manifest.jsonl was deleted', async () => {
    for (const file of ['statement.json', 'manifest.jsonl']) {
      const s = await sealTree(TREE, keys, { store: shared.path });
      await fsp.rm(join(s.dir, file));
      const v = await verifyJson(s);
      expectSnapshotRefused(v);
      expect(v.json.failure.code).toBe('INTEGRITY_FAILURE');
    }
  });
});

describe('refs and stores that do not exist', () => {
  it('exits 3 (REF_NOT_FOUND) for an unknown NAME@VERSION', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await snapJson(['verify', s.data, '--against', 'nope@v1', '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 3 (REF_NOT_FOUND) for an unknown 8-hex id prefix', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const hex = s.snapshot.slice('sha256:'.length);
    const unknown = [...'0123456789abcdef'].map((c) => c.repeat(8)).find((p) => !hex.startsWith(p)) as string;
    const v = await snapJson(['verify', s.data, '--against', unknown, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 3 when there is no store at all', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', await newStorePath()]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 3 when the default ./.snap does not exist', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub], { cwd: await tempDir() });
    expect(v.code).toBe(3);
  });

  it('exits 2 for a malformed ref given to --against', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await snapJson(['verify', s.data, '--against', 'Not A Ref', '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(2);
    expect(v.json.error.code).toBe('REF_MALFORMED');
  });

  it('exits 3 when the dataset folder does not exist', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const v = await snapJson(['verify', join(s.data, 'no-such-folder'), '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('NOT_FOUND');
  });
});

describe('a file where a dataset folder is expected', () => {
  it('makes verify and seal exit 3 (NOT_A_FOLDER), an input error, not a usage error', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const file = join(s.data, 'ham', '1.txt');
    const v = await snapJson(['verify', file, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('NOT_A_FOLDER');
    const w = await snapJson(['seal', file, '--as', 'file-not-dir@v1', '--key', keys.key, '--store', s.store]);
    expect(w.code).toBe(3);
    expect(w.json.error.code).toBe('NOT_A_FOLDER');
  });
});
