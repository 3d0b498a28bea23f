/**
 * `snap prove` and `snap verify-proof` end to end: a proof made from a store snapshot, a snapshot
 * folder or an archive checks out with only the public key, away from the store; it fails (exit 1)
 * under a wrong key, below the threshold, for another snapshot than expected, or against a file
 * that is not the proven one; no changed byte lets it pass; bad input exits 3, bad usage 2.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BIN, makeKeyPair, snap, snapBin, snapJson, spawnSnap, tempDir, useKeyPair, type KeyPair } from '../helpers/tree.js';
import { sealTree, snapshotFolder, tamper, useStore, type Sealed } from '../helpers/store.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { addSignatures, parseEnvelope, serializeEnvelope } from '../../src/core/envelope.js';
import { MAX_PROOF_BYTES } from '../../src/core/proof.js';

/**
 * Whether a thread of process `pid` waits in open(2) of a FIFO with no writer (Linux: its
 * `/proc/PID/task/TID/wchan` is `wait_for_partner`), polled every 20 ms for up to 15 s.
 */
async function waitsOpeningFifo(pid: number): Promise<boolean> {
  for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((res) => setTimeout(res, 20))) {
    const tasks = await fsp.readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    for (const t of tasks) if ((await fsp.readFile(`/proc/${pid}/task/${t}/wchan`, 'utf8').catch(() => '')) === 'wait_for_partner') return true;
  }
  return false;
}

const alice = useKeyPair('alice');
const shared = useStore();
let bob: KeyPair;
beforeAll(async () => {
  bob = await makeKeyPair('bob');
});

const TREE = {
  'ham/1.txt': 'ham one\n',
  'ham/2.txt': 'ham two\n',
  'spam/1.txt': 'spam one\n',
  'spam/2.txt': 'spam two\n',
  'spam/latest': { symlink: '2.txt' },
};

/** A folder with nothing but the public keys and a copy of the proof: no store, no data. */
async function verifierDesk(proof: string, keys: KeyPair[] = [alice]): Promise<{ dir: string; proof: string; pubs: string[] }> {
  const dir = await tempDir('snap-verifier-');
  await fsp.copyFile(proof, join(dir, 'p.json'));
  const pubs: string[] = [];
  for (const k of keys) {
    const name = `${pubs.length}.pub`;
    await fsp.copyFile(k.pub, join(dir, name));
    pubs.push(name);
  }
  return { dir, proof: 'p.json', pubs };
}

/** Run verify-proof in `desk`, where no store exists ($SNAP_STORE points nowhere). */
function verifyAt(desk: { dir: string; proof: string; pubs: string[] }, extra: string[] = []) {
  return snapJson(['verify-proof', desk.proof, ...desk.pubs.flatMap((p) => ['--pubkey', p]), ...extra], { cwd: desk.dir, env: { SNAP_STORE: join(desk.dir, 'no-store') } });
}

/** Seal TREE and prove `path` of it to a new file; returns the sealed snapshot and the proof's path. */
async function sealAndProve(path = 'ham/2.txt', extra: string[] = []): Promise<{ s: Sealed; proof: string }> {
  const s = await sealTree(TREE, alice, { store: shared.path });
  const proof = join(await tempDir(), 'p.json');
  const r = await snapJson(['prove', s.ref, path, '-o', proof, '--store', s.store, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { s, proof };
}

describe('snap prove, then snap verify-proof with only the public key', () => {
  it('exits 0 away from the store and the data, naming the entry, its place and the snapshot', async () => {
    const { s, proof } = await sealAndProve();
    const v = await verifyAt(await verifierDesk(proof));
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ ok: true, ref: s.ref, snapshot: s.snapshot, path: 'ham/2.txt', leafIndex: 1, treeSize: 5, signers: [{ keyid: alice.keyid, trusted: true }] });
    expect(v.json.entry).toEqual({ path: 'ham/2.txt', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 8 });
    expect(v.json.failure).toBeUndefined();
  });

  it('reports the proof it wrote with --json: entry, place, audit path length, keyids, file', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const out = join(await tempDir(), 'p.json');
    const r = await snapJson(['prove', s.ref, 'spam/1.txt', '-o', out, '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, ref: s.ref, snapshot: s.snapshot, path: 'spam/1.txt', leafIndex: 2, treeSize: 5, auditPath: 3, keyids: [alice.keyid], proof: out });
    expect(r.json.proofBytes).toBe((await fsp.stat(out)).size);
  });

  it('prints the proof itself on stdout without -o: the same bytes as the file', async () => {
    const { s, proof } = await sealAndProve('spam/1.txt');
    const r = await snap(['prove', s.ref, 'spam/1.txt', '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(await fsp.readFile(proof, 'utf8'));
  });

  it('with --json and no -o: a usage error (exit 2, a document whose ok is false), not the proof, which has no "ok" (a file proof and a record proof alike)', async () => {
    const s = await sealTree({ ...TREE, 't.csv': 'id,y\n1,a\n2,b\n' }, alice, { store: shared.path, extra: ['--records', 't.csv key=id label=y'] });
    for (const args of [[s.ref, 'spam/1.txt'], [s.ref, 't.csv', '--record', '1']]) {
      const r = await snap(['prove', ...args, '--store', s.store, '--json']);
      const doc = JSON.parse(r.stdout);
      expect([args.join(' '), r.code, doc.ok, doc.error?.code]).toEqual([args.join(' '), 2, false, 'USAGE']);
    }
  });

  it('makes the same proof from the store, the snapshot folder and an exported archive', async () => {
    const { s, proof } = await sealAndProve('spam/2.txt');
    const archive = join(await tempDir(), `${s.ref}.snap.tar`);
    expect((await snap(['export', s.ref, '-o', archive, '--store', s.store])).code).toBe(0);
    const fromFolder = await snap(['prove', s.dir, 'spam/2.txt', '--store', s.store]);
    const fromArchive = await snap(['prove', archive, 'spam/2.txt', '--store', join(await tempDir(), 'none')]);
    const expected = await fsp.readFile(proof, 'utf8');
    expect([fromFolder.code, fromArchive.code]).toEqual([0, 0]);
    expect(fromFolder.stdout).toBe(expected);
    expect(fromArchive.stdout).toBe(expected);
  });

  it('proves a symbolic link entry, and --file accepts the link with the same text only', async () => {
    const { s, proof } = await sealAndProve('spam/latest');
    const desk = await verifierDesk(proof);
    const ok = await verifyAt(desk, ['--file', join(s.data, 'spam', 'latest')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.entry).toEqual({ path: 'spam/latest', target: '2.txt', type: 'symlink' });
    expect(ok.json.file).toEqual({ path: join(s.data, 'spam', 'latest'), ok: true });
    await fsp.rm(join(s.data, 'spam', 'latest'));
    await fsp.symlink('1.txt', join(s.data, 'spam', 'latest'));
    const moved = await verifyAt(desk, ['--file', join(s.data, 'spam', 'latest')]);
    expect(moved.code).toBe(1);
    expect(moved.json.failure).toMatchObject({ code: 'INTEGRITY_FAILURE', check: 'file' });
    const notALink = await verifyAt(desk, ['--file', join(s.data, 'spam', '2.txt')]);
    expect(notALink.code).toBe(1);
  });

  it('with --file: exit 0 for the very bytes, 1 for a modified file or a folder, 3 for a missing one', async () => {
    const { s, proof } = await sealAndProve('ham/2.txt');
    const desk = await verifierDesk(proof);
    const file = join(s.data, 'ham', '2.txt');
    expect((await verifyAt(desk, ['--file', file])).code).toBe(0);
    await fsp.writeFile(file, 'ham twO\n');
    const v = await verifyAt(desk, ['--file', file]);
    expect(v.code).toBe(1);
    expect(v.json).toMatchObject({ ok: false, file: { path: file, ok: false }, failure: { code: 'INTEGRITY_FAILURE', check: 'file' } });
    await fsp.writeFile(file, 'ham two\n\n');
    expect((await verifyAt(desk, ['--file', file])).code).toBe(1);
    expect((await verifyAt(desk, ['--file', join(s.data, 'ham')])).code).toBe(1);
    const gone = await verifyAt(desk, ['--file', join(s.data, 'ham', 'nope.txt')]);
    expect(gone.code).toBe(3);
    expect(gone.json.error.code).toBe('NOT_FOUND');
  });

  it('with --file: a file of another size than the signed entry fails on its size, unread — a sparse 64 GiB file is answered at once (exit 1), not hashed for minutes', async () => {
    const { s, proof } = await sealAndProve('ham/2.txt');
    const desk = await verifierDesk(proof);
    const file = join(s.data, 'ham', '2.txt');
    await fsp.truncate(file, 64 * 2 ** 30);
    const v = await snapBin(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string, '--file', file, '--json'], { cwd: desk.dir, env: { SNAP_STORE: join(desk.dir, 'no-store') }, timeoutMs: 15_000 });
    expect(v.signal, v.stderr).toBeNull();
    expect(v.code, v.stderr).toBe(1);
    const json = JSON.parse(v.stdout);
    expect(json).toMatchObject({ ok: false, file: { path: file, ok: false }, failure: { code: 'INTEGRITY_FAILURE', check: 'file' } });
    expect(json.failure.message).toContain(`is ${64 * 2 ** 30} bytes, the signed entry 8`);
  });

  it('with --file: a FIFO swapped in for the file after it was looked at is refused (exit 1, not a regular file), not waited on', async () => {
    const { s, proof } = await sealAndProve('ham/2.txt');
    const desk = await verifierDesk(proof);
    const file = join(s.data, 'ham', '2.txt');
    const v = await snapBin(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string, '--file', file, '--json'], { cwd: desk.dir, env: { SNAP_STORE: join(desk.dir, 'no-store'), SNAP_TEST_SWAP_FILE: `fifo:${file}` }, timeoutMs: 15_000 });
    expect(v.signal, v.stderr).toBeNull();
    expect(v.code, v.stderr).toBe(1);
    const json = JSON.parse(v.stdout);
    expect(json).toMatchObject({ ok: false, file: { path: file, ok: false }, failure: { code: 'INTEGRITY_FAILURE', check: 'file' } });
    expect(json.failure.message).toContain('is not a regular file');
  });

  it('with --file: a file that grows after its size was checked is read to one byte past the signed size and fails as grown (exit 1), not hashed to its new end', async () => {
    const { s, proof } = await sealAndProve('ham/2.txt');
    const desk = await verifierDesk(proof);
    const file = join(s.data, 'ham', '2.txt');
    const v = await snapBin(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string, '--file', file, '--json'], { cwd: desk.dir, env: { SNAP_STORE: join(desk.dir, 'no-store'), SNAP_TEST_SWAP_FILE: `grow:${file}` }, timeoutMs: 15_000 });
    expect(v.signal, v.stderr).toBeNull();
    expect(v.code, v.stderr).toBe(1);
    const json = JSON.parse(v.stdout);
    expect(json).toMatchObject({ ok: false, file: { path: file, ok: false }, failure: { code: 'INTEGRITY_FAILURE', check: 'file' } });
    expect(json.failure.message).toContain("grew past the signed entry's 8 bytes while it was read");
  });

  it('with --expect: exit 0 for the proof’s own NAME@VERSION or id, 1 for another snapshot', async () => {
    const { s, proof } = await sealAndProve();
    const desk = await verifierDesk(proof);
    expect((await verifyAt(desk, ['--expect', s.ref])).code).toBe(0);
    expect((await verifyAt(desk, ['--expect', s.snapshot])).code).toBe(0);
    const other = await verifyAt(desk, ['--expect', `${s.name}@v2`]);
    expect(other.code).toBe(1);
    expect(other.json.failure).toMatchObject({ code: 'SNAPSHOT_NAME_MISMATCH', check: 'snapshot' });
  });

  it('still proves the entry of an expired snapshot, and says that it expired and that verify refuses it now', async () => {
    // Whole seconds, after createdAt: the snapshot expires a few seconds after it is sealed (room for
    // seal, prove and the first verify-proof on a loaded CI runner).
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 8000).toISOString().replace('.000Z', 'Z');
    const s = await sealTree(TREE, alice, { store: shared.path, extra: ['--expires', at] });
    const proof = join(await tempDir(), 'p.json');
    expect((await snapJson(['prove', s.ref, 'ham/1.txt', '-o', proof, '--store', s.store])).code).toBe(0);
    const desk = await verifierDesk(proof);
    const before = await verifyAt(desk);
    expect(before.code, before.stderr).toBe(0);
    expect(before.json).toMatchObject({ ok: true, expiresAt: at, expired: false });
    await new Promise((r) => setTimeout(r, Date.parse(at) - Date.now() + 100));
    const after = await verifyAt(desk);
    expect(after.code).toBe(0);
    expect(after.json).toMatchObject({ ok: true, expiresAt: at, expired: true });
    const human = await snap(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string], { cwd: desk.dir, env: { SNAP_STORE: join(desk.dir, 'no-store') } });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`the snapshot expired at ${at}: it was signed as holding this, but verify refuses it now (SNAPSHOT_EXPIRED)`);
    // verify of the data itself refuses it.
    const gate = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', alice.pub, '--store', s.store]);
    expect(gate.code).toBe(1);
    expect(gate.json.failure.code).toBe('SNAPSHOT_EXPIRED');
  });

  it('reports no expiry for a snapshot sealed without one', async () => {
    const { proof } = await sealAndProve();
    const v = await verifyAt(await verifierDesk(proof));
    expect(v.json.ok).toBe(true);
    expect(v.json).not.toHaveProperty('expiresAt');
    expect(v.json).not.toHaveProperty('expired');
  });

  it('prints a human verdict whose every control character is escaped', async () => {
    const s = await sealTree({ 'a.txt': 'a\n', 'evil': { symlink: 'x\u001b[2Jy' } }, alice, { store: shared.path });
    const out = join(await tempDir(), 'p.json');
    const r = await snap(['prove', s.ref, 'evil', '-o', out, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    const desk = await verifierDesk(out);
    const v = await snap(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string], { cwd: desk.dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^OK {4}evil is entry 2 of 2 entries of /);
    expect(v.stdout).toContain('x\\x1b[2Jy'); // escapeForTerminal (src/core/display.ts)
    expect(v.stdout).not.toContain('\u001b');
    expect(r.stdout).not.toContain('\u001b');
  });
});

describe('signatures and threshold', () => {
  it('exits 1 under a key that did not sign (SIGNATURE_INVALID)', async () => {
    const { proof } = await sealAndProve();
    const v = await verifyAt(await verifierDesk(proof, [bob]));
    expect(v.code).toBe(1);
    expect(v.json.failure).toMatchObject({ code: 'SIGNATURE_INVALID', check: 'signature' });
    expect(v.json.signers).toEqual([expect.objectContaining({ keyid: alice.keyid, trusted: false })]);
    expect(v.json.entry).toBeUndefined(); // nothing unverified is reported as proven
  });

  it('with two signers: --threshold 2 passes with both keys; one key alone needs a proof made with --pubkey', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const envFile = join(snapshotFolder(s.store, s.name, 'v1'), 'envelope.json');
    const cosigned = addSignatures(parseEnvelope(await fsp.readFile(envFile)), [await readPrivateKey(bob.key)]);
    await tamper(envFile, () => Buffer.from(serializeEnvelope(cosigned)).toString('utf8'));
    const both = join(await tempDir(), 'both.json');
    expect((await snap(['prove', s.ref, 'ham/1.txt', '-o', both, '--store', s.store])).code).toBe(0);
    expect((await verifyAt(await verifierDesk(both, [alice, bob]), ['--threshold', '2'])).code).toBe(0);
    const three = await verifyAt(await verifierDesk(both, [alice, bob]), ['--threshold', '3']);
    expect(three.code).toBe(1);
    expect(three.json.failure.check).toBe('signature');
    // a threshold no proof can meet with the keys given is said on stderr, as verify says it
    expect(three.stderr).toBe('note: --threshold 3 asks for more keys than the 2 distinct --pubkey keys given: no proof can pass; give 3 or more --pubkey keys, or a lower --threshold\n');
    // alice's verifier cannot check bob's signature in it:
    expect((await verifyAt(await verifierDesk(both, [alice]))).code).toBe(1);
    // so the proof for alice's verifier carries alice's signature only:
    const mine = join(await tempDir(), 'mine.json');
    const r = await snapJson(['prove', s.ref, 'ham/1.txt', '-o', mine, '--pubkey', alice.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.keyids).toEqual([alice.keyid]);
    expect((await verifyAt(await verifierDesk(mine, [alice]))).code).toBe(0);
    expect((await verifyAt(await verifierDesk(mine, [alice, bob]), ['--threshold', '2'])).code).toBe(1);
    // and prove --pubkey --threshold 2 needs both to have signed:
    expect((await snap(['prove', s.ref, 'ham/1.txt', '--pubkey', alice.pub, '--pubkey', bob.pub, '--threshold', '2', '--store', s.store])).code).toBe(0);
  });

  it('prove --pubkey with a key that did not sign exits 1 (SIGNATURE_INVALID) and writes nothing', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const out = join(await tempDir(), 'p.json');
    const r = await snapJson(['prove', s.ref, 'ham/1.txt', '-o', out, '--pubkey', bob.pub, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SIGNATURE_INVALID');
    await expect(fsp.access(out)).rejects.toThrow();
  });
});

describe('no changed byte passes, through the CLI', () => {
  it('flipping random bytes of the proof file gives exit 1 (fails) or 3 (malformed), never 0 (property)', async () => {
    const { proof } = await sealAndProve('spam/1.txt');
    const bytes = await fsp.readFile(proof);
    const desk = await verifierDesk(proof);
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const bad = Buffer.from(bytes);
        bad[i] = (bad[i] as number) ^ x;
        await fsp.writeFile(join(desk.dir, desk.proof), bad);
        const r = await snap(['verify-proof', desk.proof, '--pubkey', desk.pubs[0] as string], { cwd: desk.dir });
        expect([1, 3]).toContain(r.code);
        seen.add(r.code);
      }),
      { numRuns: 60 },
    );
    expect(seen.size).toBeGreaterThan(0);
  });
});

describe('refusals', () => {
  it('a PATH not in the snapshot: exit 3, PROOF_PATH_NOT_FOUND; a PATH no manifest holds: exit 3, its PATH_ code', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const r = await snapJson(['prove', s.ref, 'ham/3.txt', '--store', s.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('PROOF_PATH_NOT_FOUND');
    const d = await snapJson(['prove', s.ref, join(s.data, 'ham/1.txt'), '--store', s.store]);
    expect(d.code).toBe(3);
    expect(d.json.error.code).toBe('PATH_ABSOLUTE');
  });

  it('a PATH not in the snapshot is answered with a path that is: the entry it ends with (the dataset folder given too), else the first entry', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const withFolder = await snapJson(['prove', s.ref, 'data/ham/1.txt', '--store', s.store]);
    expect(withFolder.code).toBe(3);
    expect(withFolder.json.error.code).toBe('PROOF_PATH_NOT_FOUND');
    expect(withFolder.json.error.message).toContain('relative to the dataset root: did you mean ham/1.txt?');
    const typo = await snapJson(['prove', s.ref, 'ham/0001.txt', '--store', s.store]);
    expect(typo.json.error.code).toBe('PROOF_PATH_NOT_FOUND');
    // Not the made-up ham/0001.txt the message used to give as its example, whatever was asked.
    expect(typo.json.error.message).toMatch(/relative to the dataset root \(e\.g\. ham\/1\.txt, its first entry\)$/);
  });

  it('an altered manifest in the store: exit 1, INTEGRITY_FAILURE, no proof', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.replace('"size":8', '"size":9'));
    const out = join(await tempDir(), 'p.json');
    const r = await snapJson(['prove', s.ref, 'ham/1.txt', '-o', out, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('INTEGRITY_FAILURE');
    await expect(fsp.access(out)).rejects.toThrow();
  });

  it('a snapshot folder swapped under another version’s name: exit 1, SNAPSHOT_NAME_MISMATCH', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const v2 = snapshotFolder(s.store, s.name, 'v2');
    await fsp.cp(s.dir, v2, { recursive: true });
    const r = await snapJson(['prove', `${s.name}@v2`, 'ham/1.txt', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_NAME_MISMATCH');
  });

  it('an existing -o file: exit 3, FILE_EXISTS, the file unchanged', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const out = join(await tempDir(), 'p.json');
    await fsp.writeFile(out, 'mine\n');
    const r = await snapJson(['prove', s.ref, 'ham/1.txt', '-o', out, '--store', s.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(out, 'utf8')).toBe('mine\n');
  });

  it('a malformed proof: exit 3, PROOF_MALFORMED (pretty-printed, too large, not JSON); another version: PROOF_UNSUPPORTED', async () => {
    const { proof } = await sealAndProve();
    const desk = await verifierDesk(proof);
    const text = await fsp.readFile(proof, 'utf8');
    const cases: [string, string][] = [
      [JSON.stringify(JSON.parse(text), null, 2), 'PROOF_MALFORMED'],
      [' '.repeat(MAX_PROOF_BYTES + 1), 'PROOF_MALFORMED'],
      ['not json', 'PROOF_MALFORMED'],
      [text.replace('"version":1', '"version":3'), 'PROOF_UNSUPPORTED'],
    ];
    for (const [content, code] of cases) {
      await fsp.writeFile(join(desk.dir, desk.proof), content);
      const v = await verifyAt(desk);
      expect({ code: v.code, error: v.json.error?.code }).toEqual({ code: 3, error: code });
    }
  });

  it('reads a proof from a pipe (verify-proof /dev/stdin): the proof checks out (exit 0); one over MAX_PROOF_BYTES is refused after that many bytes (exit 3, PROOF_MALFORMED, too-large)', async () => {
    const { proof } = await sealAndProve();
    const desk = await verifierDesk(proof);
    // A shell pipe, as a user writes it (Node's own stdin pipes are sockets, which /dev/stdin cannot open).
    const throughPipe = (file: string) =>
      spawnSync('bash', ['-c', 'cat "$0" | "$1" "$2" verify-proof /dev/stdin --json "${@:3}"', file, process.execPath, BIN, ...desk.pubs.flatMap((p) => ['--pubkey', p])], { cwd: desk.dir, encoding: 'utf8', env: { ...process.env, SNAP_STORE: join(desk.dir, 'no-store') }, timeout: 30_000 });
    const ok = throughPipe(join(desk.dir, desk.proof));
    expect([ok.status, JSON.parse(ok.stdout).ok], ok.stderr).toEqual([0, true]);
    await fsp.writeFile(join(desk.dir, 'big.json'), Buffer.alloc(MAX_PROOF_BYTES + 1, 0x20));
    const big = throughPipe(join(desk.dir, 'big.json'));
    expect([big.status, JSON.parse(big.stdout).error?.code, JSON.parse(big.stdout).error?.details?.reason]).toEqual([3, 'PROOF_MALFORMED', 'too-large']);
  });

  it('reads a proof from a named FIFO whose writer comes later or first, and a FIFO no one writes is waited on only until Ctrl-C or SIGTERM (exit 130, 143), not for ever', async () => {
    const { proof } = await sealAndProve();
    const desk = await verifierDesk(proof);
    const fifo = join(desk.dir, 'fifo.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const args = ['verify-proof', 'fifo.json', '--json', ...desk.pubs.flatMap((p) => ['--pubkey', p])];
    const env = { SNAP_STORE: join(desk.dir, 'no-store') };
    // The writer opens the FIFO after verify-proof has opened it (open(2) for writing waits for that reader).
    const later = spawnSnap(args, { cwd: desk.dir, env, timeoutMs: 20_000 });
    const writer = spawnSync('bash', ['-c', 'sleep 1; cat "$0" > "$1"', join(desk.dir, desk.proof), fifo], { timeout: 20_000 });
    expect(writer.status).toBe(0);
    const read = await later.done;
    expect([read.signal, read.code, JSON.parse(read.stdout).ok], read.stderr).toEqual([null, 0, true]);
    // The writer first (it waits in open(2) for verify-proof), five times: a reader that opened the
    // FIFO without blocking missed such a writer's bytes now and then, and waited for ever.
    for (let i = 0; i < 5; i++) {
      const first = spawn('bash', ['-c', 'cat "$0" > "$1"', join(desk.dir, desk.proof), fifo], { stdio: 'ignore' });
      const wrote = new Promise<number | null>((res) => first.on('exit', res));
      await new Promise((res) => setTimeout(res, 300)); // the writer waits in open(2)
      const r = await spawnSnap(args, { cwd: desk.dir, env, timeoutMs: 20_000 }).done;
      expect([i, r.signal, r.code, JSON.parse(r.stdout).ok, await wrote], r.stderr).toEqual([i, null, 0, true, 0]);
    }
    // Nobody writes: Node cannot stop while a worker thread waits in open(2), so SIGINT and SIGTERM went unheard (killed by SIGKILL only).
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const waiting = spawnSnap(args, { cwd: desk.dir, env, timeoutMs: 20_000 });
      // Signalled once one of its threads waits in the FIFO's open(2): its handlers are installed
      // before any command runs (a fixed 1.5 s wait once sent SIGINT to a process under load that had
      // not got that far).
      expect(await waitsOpeningFifo(waiting.child.pid as number), `${signal}: no thread of snap waits in the FIFO's open(2)`).toBe(true);
      waiting.child.kill(signal);
      const r = await waiting.done;
      expect([signal, r.signal, r.code]).toEqual([signal, null, code]);
    }
  });

  it('a missing proof file: exit 3, NOT_FOUND', async () => {
    const desk = { dir: await tempDir(), proof: 'nope.json', pubs: [alice.pub] };
    const v = await verifyAt(desk);
    expect(v.code).toBe(3);
    expect(v.json.error.code).toBe('NOT_FOUND');
  });

  it('usage errors exit 2: no --pubkey, --threshold 0, --threshold without --pubkey in prove, a malformed --expect', async () => {
    const { s, proof } = await sealAndProve();
    expect((await snap(['verify-proof', proof])).code).toBe(2);
    expect((await snap(['verify-proof', proof, '--pubkey', alice.pub, '--threshold', '0'])).code).toBe(2);
    expect((await snap(['verify-proof', proof, '--pubkey', alice.pub, '--expect', 'nonsense'])).code).toBe(2);
    expect((await snap(['prove', s.ref, 'ham/1.txt', '--threshold', '2', '--store', s.store])).code).toBe(2);
    expect((await snap(['prove', s.ref, '--store', s.store])).code).toBe(2);
  });

  it('an empty proof argument (an unset variable) or "-" is a usage error (exit 2) that names /dev/stdin, before anything is read; it was the working folder (exit 3, "is a folder")', async () => {
    const cwd = await tempDir();
    for (const arg of ['', '-']) {
      const v = await snapJson(['verify-proof', arg, '--pubkey', alice.pub], { cwd });
      expect([arg, v.code, v.json.error?.code]).toEqual([arg, 2, 'USAGE']);
      expect(v.json.error.message).toContain('/dev/stdin');
    }
  });

  it('help for both commands exits 0 and shows examples', async () => {
    const p = await snap(['prove', '--help']);
    const v = await snap(['verify-proof', '--help']);
    expect([p.code, v.code]).toEqual([0, 0]);
    expect(p.stdout).toContain('snap verify-proof');
    expect(v.stdout).toContain('--file');
  });
});
