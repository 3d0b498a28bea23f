/**
 * Revocation: `snap revoke REF --reason TEXT --key KEY` signs a revocation (its own in-toto
 * predicate type, in DSSE), kept in the store and writable as a file; verify (and restore, import)
 * refuse a revoked snapshot when a trusted key signed the revocation — exit 1, SNAPSHOT_REVOKED,
 * with the reason and who revoked; a revocation by an untrusted key is reported and does not count.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, snap, snapJson, tempDir, useKeyPair, type KeyPair } from '../helpers/tree.js';
import { newStorePath, sealAndExport, sealTree, useStore } from '../helpers/store.js';
import { escapeForTerminal } from '../../src/core/display.js';

const alice = useKeyPair('alice');
const shared = useStore();
let mallory: KeyPair;
beforeAll(async () => {
  mallory = await makeKeyPair('mallory');
});
const TREE = { 'ham/1.txt': 'ham\n', 'spam/1.txt': 'spam\n' };
const REASON = 'labels flipped in spam/ (incident 42)';

function verify(data: string, ref: string, store: string, extra: string[] = []) {
  return snapJson(['verify', data, '--against', ref, '--pubkey', alice.pub, '--store', store, ...extra]);
}

describe('a snapshot revoked in the store', () => {
  it('is refused by verify: exit 1, SNAPSHOT_REVOKED, with the reason and who revoked it', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const r = await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, ref: s.ref, snapshot: s.snapshot, reason: REASON, keyids: [alice.keyid] });
    expect(r.json.kept).toContain(join('revocations', s.snapshot.slice(7)));

    const v = await verify(s.data, s.ref, s.store);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(v.json.failure.code).toBe('SNAPSHOT_REVOKED');
    expect(v.json.failure.message).toContain(REASON);
    expect(v.json.problems).toEqual([]);
    expect(v.json.revocations).toEqual([expect.objectContaining({ reason: REASON, counts: true, revokedBy: [{ keyid: alice.keyid }], ref: s.ref })]);
  });

  it('is refused by restore (exit 1, SNAPSHOT_REVOKED), writing nothing', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    const target = join(await tempDir(), 'out');
    const r = await snapJson(['restore', s.ref, target, '--pubkey', alice.pub, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_REVOKED');
    await expect(fsp.access(target)).rejects.toThrow();
  });

  it('is no trusted side for diff --pubkey nor a trusted baseline for check --pubkey (exit 1, SNAPSHOT_REVOKED), also once the store has lost the revocation on a machine that saw it', async () => {
    const state = await tempDir('snap-state-');
    const env = { SNAP_STATE_DIR: state };
    const config = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });
    const s = await sealTree({ 'train.csv': 'id,text,label\n1,win money,spam\n2,lunch,ham\n', 'snap.json': config }, alice, { store: shared.path });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    const gates = async () => ({
      check: await snapJson(['check', s.data, '--against', s.ref, '--pubkey', alice.pub, '--store', s.store], { env }),
      diff: await snapJson(['diff', s.ref, s.data, '--pubkey', alice.pub, '--store', s.store], { env }),
    });
    for (const when of ['in the store', 'removed from the store']) {
      if (when === 'removed from the store') {
        // Someone with write access to the store, and no key, removes the revocation.
        await fsp.chmod(join(s.store, 'revocations', s.snapshot.slice(7)), 0o755);
        await fsp.rm(join(s.store, 'revocations', s.snapshot.slice(7)), { recursive: true, force: true });
      }
      const { check, diff } = await gates();
      expect([when, check.code, check.json.ok, check.json.a.trusted, check.json.a.failure?.code]).toEqual([when, 1, false, false, 'SNAPSHOT_REVOKED']);
      expect(check.json.breaches[0]).toMatchObject({ rule: 'trust', value: 'untrusted' });
      expect([when, diff.code, diff.json.a.trusted, diff.json.a.failure?.code]).toEqual([when, 1, false, 'SNAPSHOT_REVOKED']);
    }
  });

  it('does not count when signed by a key verify does not trust: reported (counts false), exit 0', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    expect((await snapJson(['revoke', s.ref, '--reason', 'I say so', '--key', mallory.key, '--store', s.store])).code).toBe(0);
    const v = await verify(s.data, s.ref, s.store);
    expect(v.code).toBe(0);
    expect(v.json.revocations).toEqual([expect.objectContaining({ counts: false, revokedBy: [], claimedKeyids: [mallory.keyid] })]);
    const text = await snap(['verify', s.data, '--against', s.ref, '--pubkey', alice.pub, '--store', s.store]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`keyid ${mallory.keyid.slice(0, 16)}`);
  });

  it('counts when signed by any trusted key, not only the sealer', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', mallory.key, '--store', s.store])).code).toBe(0);
    const v = await verify(s.data, s.ref, s.store, ['--pubkey', mallory.pub]);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('SNAPSHOT_REVOKED');
  });

  it('is refused (exit 1, REVOCATION_MALFORMED) when a file in its revocations folder is not a revocation: fail closed', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const dir = join(s.store, 'revocations', s.snapshot.slice(7));
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(join(dir, 'junk.json'), '{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}');
    const v = await verify(s.data, s.ref, s.store);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('REVOCATION_MALFORMED');
  });

  it('is recorded in the audit log (command revoke, the reason)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    const log = await snapJson(['log', s.name, '--store', s.store]);
    expect(log.json.entries.find((e: { command: string }) => e.command === 'revoke')).toMatchObject({ snapshot: s.snapshot, outcome: 'ok', details: { reason: REASON, keyids: [alice.keyid] } });
  });
});

describe('a revocation this machine has seen', () => {
  it('keeps counting once the store has lost it: deleting STORE/revocations does not make the revoked snapshot pass again (exit 1, SNAPSHOT_REVOKED)', async () => {
    const state = await tempDir('snap-state-');
    const s = await sealTree(TREE, alice, { as: 'seen-revoked@v1' });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    const first = await verify(s.data, s.ref, s.store, ['--state-dir', state]);
    expect(first.json.failure.code).toBe('SNAPSHOT_REVOKED');

    // Someone with write access to the store, and no key, removes the revocation.
    await fsp.chmod(join(s.store, 'revocations', s.snapshot.slice(7)), 0o755);
    await fsp.rm(join(s.store, 'revocations'), { recursive: true, force: true });
    const again = await verify(s.data, s.ref, s.store, ['--state-dir', state]);
    expect(again.code).toBe(1);
    expect(again.json.failure.code).toBe('SNAPSHOT_REVOKED');
    expect(again.json.failure.message).toContain(REASON);
    expect(again.json.revocations).toEqual([expect.objectContaining({ counts: true, source: join(state, 'trusted-state.json') })]);
    const latest = await verify(s.data, `${s.name}@latest`, s.store, ['--state-dir', state]);
    expect(latest.code).toBe(1);
    expect(latest.json.failure.code).toBe('SNAPSHOT_REVOKED');

    // A machine that never saw it cannot know (keep the state folder, or carry the file with --revocations).
    expect((await verify(s.data, s.ref, s.store, ['--state-dir', await tempDir('snap-state-')])).code).toBe(0);
  });

  it('kept in a --state-dir, keeps counting for diff, check, bom, attest and verify-model given that --state-dir once the store has lost it (exit 1, SNAPSHOT_REVOKED): they took no --state-dir and read only the default state', async () => {
    const state = await tempDir('snap-state-');
    const env = { SNAP_STATE_DIR: await tempDir('snap-default-state-') }; // the default state never saw it
    const config = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });
    const s = await sealTree({ 'train.csv': 'id,text,label\n1,win money,spam\n2,lunch,ham\n', 'snap.json': config }, alice, { as: 'kept-elsewhere@v1' });
    const work = await tempDir('snap-model-');
    await fsp.writeFile(join(work, 'model.bin'), 'weights');
    await fsp.writeFile(join(work, 'model2.bin'), 'other weights');
    expect((await snapJson(['attest', 'model.bin', '--data', s.ref, '--key', alice.key, '--as', 'clf@1', '--store', s.store], { cwd: work, env })).code).toBe(0);
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    expect((await verify(s.data, s.ref, s.store, ['--state-dir', state])).json.failure.code).toBe('SNAPSHOT_REVOKED');
    // Someone with write access to the store, and no key, removes the revocation.
    await fsp.chmod(join(s.store, 'revocations', s.snapshot.slice(7)), 0o755);
    await fsp.rm(join(s.store, 'revocations'), { recursive: true, force: true });
    const kept = ['--pubkey', alice.pub, '--state-dir', state, '--store', s.store];
    const diff = await snapJson(['diff', s.ref, s.data, ...kept], { env });
    expect([diff.code, diff.json.a?.failure?.code], diff.stderr).toEqual([1, 'SNAPSHOT_REVOKED']);
    const check = await snapJson(['check', s.data, '--against', s.ref, ...kept], { env });
    expect([check.code, check.json.a?.failure?.code], check.stderr).toEqual([1, 'SNAPSHOT_REVOKED']);
    const bom = await snapJson(['bom', s.ref, ...kept], { env });
    expect([bom.code, bom.json.error?.code ?? bom.json.failure?.code], bom.stderr).toEqual([1, 'SNAPSHOT_REVOKED']);
    const attest = await snapJson(['attest', 'model2.bin', '--data', s.ref, '--key', alice.key, '--as', 'clf@2', ...kept], { cwd: work, env });
    expect([attest.code, attest.json.error?.code ?? attest.json.failure?.code], attest.stderr).toEqual([1, 'SNAPSHOT_REVOKED']);
    const model = await snapJson(['verify-model', 'model.bin', ...kept], { cwd: work, env });
    expect([model.code, model.json.failure?.code], model.stderr).toEqual([1, 'SNAPSHOT_REVOKED']);
    // --state-dir says where the kept revocations are read from for --pubkey: alone it is a usage error.
    expect((await snapJson(['diff', s.ref, s.data, '--state-dir', state, '--store', s.store], { env })).json.error?.code).toBe('USAGE');
  });

  it('is judged with the keys of each verify: kept, it does not count under keys that did not sign it', async () => {
    const state = await tempDir('snap-state-');
    const s = await sealTree(TREE, alice, { as: 'seen-revoked@v2' });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', mallory.key, '--store', s.store])).code).toBe(0);
    expect((await verify(s.data, s.ref, s.store, ['--state-dir', state, '--pubkey', mallory.pub])).json.failure.code).toBe('SNAPSHOT_REVOKED');
    await fsp.rm(join(s.store, 'revocations'), { recursive: true, force: true });
    const v = await verify(s.data, s.ref, s.store, ['--state-dir', state]);
    expect(v.code).toBe(0);
    expect(v.json.revocations).toEqual([expect.objectContaining({ counts: false, claimedKeyids: [mallory.keyid] })]);
  });

  it('that the store still holds is reported once', async () => {
    const state = await tempDir('snap-state-');
    const s = await sealTree(TREE, alice, { as: 'seen-revoked@v3' });
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store])).code).toBe(0);
    await verify(s.data, s.ref, s.store, ['--state-dir', state]);
    const v = await verify(s.data, s.ref, s.store, ['--state-dir', state]);
    expect(v.json.failure.code).toBe('SNAPSHOT_REVOKED');
    expect(v.json.revocations).toHaveLength(1);
    expect(v.json.revocations[0].source).toContain(join(s.store, 'revocations'));
  });
});

describe('a revocation carried as a file', () => {
  it('makes verify of an archive elsewhere refuse it with --revocations FILE, and import keeps it in another store', async () => {
    const e = await sealAndExport(TREE, alice);
    const file = join(e.work, 'v1.revocation.json');
    const r = await snapJson(['revoke', 'ds@v1', '--reason', REASON, '--key', alice.key, '--store', e.store, '--out', file]);
    expect(r.code, r.stderr).toBe(0);

    const elsewhere = await newStorePath();
    const clean = await snapJson(['verify', e.file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(clean.code).toBe(0);
    const refused = await snapJson(['verify', e.file, '--pubkey', alice.pub, '--store', elsewhere, '--revocations', file]);
    expect(refused.code).toBe(1);
    expect(refused.json.failure.code).toBe('SNAPSHOT_REVOKED');

    // This machine has seen the revocation now: it refuses the archive even where no store holds it.
    expect((await snapJson(['import', e.file, '--pubkey', alice.pub, '--store', elsewhere])).json.error.code).toBe('SNAPSHOT_REVOKED');
    // Import (on a machine that has not seen it) refuses the archive once the revocation is in its store.
    expect((await snapJson(['import', e.file, '--pubkey', alice.pub, '--store', elsewhere, '--state-dir', await tempDir('snap-state-')])).code).toBe(0);
    const kept = await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.json).toMatchObject({ ok: true, snapshot: e.snapshot, alreadyPresent: false, revokedBy: [alice.keyid] });
    expect((await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere])).json.alreadyPresent).toBe(true);
    const v = await verify(e.data, 'ds@v1', elsewhere);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('SNAPSHOT_REVOKED');
    const third = await newStorePath();
    const i = await snapJson(['import', e.file, '--pubkey', alice.pub, '--store', third, '--revocations', file]);
    expect(i.code).toBe(1);
    expect(i.json.error.code).toBe('SNAPSHOT_REVOKED');
  });

  it('answers a .json given to import that is no revocation (a proof, a BOM) with what import takes; REVOCATION_MALFORMED, exit 1, nothing kept, as before', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const dir = await tempDir('snap-import-json-');
    const proof = join(dir, 'p.json');
    expect((await snapJson(['prove', s.ref, 'ham/1.txt', '--out', proof, '--store', s.store])).code).toBe(0);
    const store = await newStorePath();
    const r = await snapJson(['import', proof, '--pubkey', alice.pub, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('REVOCATION_MALFORMED');
    expect(r.json.error.message).toMatch(/^\S*p\.json is not a valid revocation \(.*\); snap import takes a NAME@VERSION\.snap\.tar archive or a revocation written by "snap revoke --out": nothing was kept$/);
    expect(r.json.error.message).not.toContain('damaged real one');
  });

  it('is not imported when no trusted key signed it (exit 1, SIGNATURE_INVALID), and nothing is kept', async () => {
    const e = await sealAndExport(TREE, alice);
    const file = join(e.work, 'v1.revocation.json');
    expect((await snapJson(['revoke', 'ds@v1', '--reason', REASON, '--key', mallory.key, '--store', e.store, '--out', file])).code).toBe(0);
    const elsewhere = await newStorePath();
    expect((await snapJson(['import', e.file, '--pubkey', alice.pub, '--store', elsewhere])).code).toBe(0);
    const r = await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SIGNATURE_INVALID');
    await expect(fsp.readdir(join(elsewhere, 'revocations'))).rejects.toThrow();
  });

  it('of another snapshot changes nothing', async () => {
    const a = await sealTree(TREE, alice, { store: shared.path });
    const b = await sealTree({ 'x.txt': 'x\n' }, alice, { store: shared.path });
    const file = join(await tempDir(), 'a.revocation.json');
    expect((await snapJson(['revoke', a.ref, '--reason', REASON, '--key', alice.key, '--out', file, '--store', a.store])).code).toBe(0);
    const v = await verify(b.data, b.ref, b.store, ['--revocations', file]);
    expect(v.code).toBe(0);
    expect(v.json.revocations).toBeUndefined();
  });

  it('that is damaged is refused (exit 1, REVOCATION_MALFORMED)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const file = join(await tempDir(), 'bad.json');
    await fsp.writeFile(file, 'not json');
    const v = await verify(s.data, s.ref, s.store, ['--revocations', file]);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('REVOCATION_MALFORMED');
  });
});

describe('the file revoke --out writes', () => {
  it('is imported elsewhere by the command its human output suggests, the trust flags included (snap import FILE alone is a usage error)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const file = join(await tempDir('snap-revoke-out-'), 'v1.revocation.json');
    const r = await snap(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(give it to other machines: snap verify … --revocations FILE, or snap import FILE --pubkey KEY.pub)');
    const elsewhere = await newStorePath();
    expect((await snap(['init', '--store', elsewhere])).code).toBe(0);
    expect((await snapJson(['import', file, '--store', elsewhere])).code).toBe(2);
    const kept = await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(kept.code, kept.stderr).toBe(0);
  });

  it('makes the store when there is none and its parent folder exists, as import --help says, and says so; a refused one leaves none', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const file = join(await tempDir('snap-revoke-out-'), 'v1.revocation.json');
    expect((await snap(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store, '--out', file])).code).toBe(0);
    const mallory = await makeKeyPair('mallory');
    const refusedAt = await newStorePath();
    const refused = await snapJson(['import', file, '--pubkey', mallory.pub, '--store', refusedAt]);
    expect(refused.json.error?.code).toBe('SIGNATURE_INVALID');
    expect(await fsp.stat(refusedAt).catch(() => undefined)).toBeUndefined();
    const elsewhere = await newStorePath();
    const kept = await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.json).toMatchObject({ ok: true, storeCreated: true, alreadyPresent: false });
    expect(kept.stderr).toContain(`snap: made a new store at ${elsewhere}`);
    const again = await snapJson(['import', file, '--pubkey', alice.pub, '--store', elsewhere]);
    expect(again.json).toMatchObject({ ok: true, storeCreated: false, alreadyPresent: true });
  });
});

describe('snap revoke', () => {
  it('needs a reason without control characters (exit 2, USAGE)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    for (const reason of ['', '   ', 'line one\nline two', 'bell\u0007']) {
      const r = await snapJson(['revoke', s.ref, '--reason', reason, '--key', alice.key, '--store', s.store]);
      expect(r.code, JSON.stringify(reason)).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
    }
  });

  it('needs a store or --out to keep the revocation: no store there is NOT_FOUND (exit 3), as for every command, naming --out', async () => {
    const e = await sealAndExport(TREE, alice);
    const store = await newStorePath();
    const r = await snapJson(['revoke', e.file, '--reason', REASON, '--key', alice.key, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'NOT_FOUND', details: { path: store } });
    expect(r.json.error.message).toContain('give --out FILE');
  });

  it('that cannot be written to --out (FILE_EXISTS, exit 3) is not kept in the store either: the failed command revokes nothing, and verify still passes', async () => {
    const s = await sealTree(TREE, alice, { store: await newStorePath() });
    const file = join(await tempDir(), 'r.json');
    await fsp.writeFile(file, 'mine\n');
    const r = await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store, '--out', file]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(file, 'utf8')).toBe('mine\n');
    expect(await fsp.readdir(join(s.store, 'revocations')).catch(() => [])).toEqual([]);
    expect((await verify(s.data, s.ref, s.store)).code).toBe(0);
  });

  it('that the store cannot keep leaves no --out file behind (the error, exit 3)', async () => {
    const s = await sealTree(TREE, alice, { store: await newStorePath() });
    await fsp.writeFile(join(s.store, 'revocations'), 'not a folder\n'); // mkdir of revocations/<id> fails
    const file = join(await tempDir(), 'r.json');
    const r = await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store, '--out', file]);
    expect(r.code).toBe(3);
    expect(await fsp.access(file).then(() => 'left', () => 'gone')).toBe('gone');
  });

  it('with --pubkey revokes nothing unless one of those keys signed the snapshot found (exit 1, SIGNATURE_INVALID): a swapped store folder cannot make the revocation name another id while the real snapshot passes', async () => {
    const e = await sealAndExport(TREE, alice);
    // Whoever can write the store swaps ds@v1 for a snapshot of their own of that name (another id).
    const fake = await sealTree({ 'x.txt': 'x\n' }, mallory, { as: 'ds@v1', store: await newStorePath() });
    const dir = join(e.store, 'snapshots', 'ds', 'v1');
    for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
      await fsp.chmod(join(dir, f), 0o644);
      await fsp.copyFile(join(fake.dir, f), join(dir, f));
    }
    const file = join(e.work, 'checked.revocation.json');
    const refused = await snapJson(['revoke', 'ds@v1', '--reason', REASON, '--key', alice.key, '--pubkey', alice.pub, '--store', e.store, '--out', file]);
    expect([refused.code, refused.json.error.code]).toEqual([1, 'SIGNATURE_INVALID']);
    expect(await fsp.access(file).then(() => 'written', () => 'none')).toBe('none');
    expect(await fsp.readdir(join(e.store, 'revocations')).catch(() => [])).toEqual([]);
    // Without --pubkey the swap goes unnoticed: the revocation names the planted id, and the real ds@v1 still passes with it.
    const blindFile = join(e.work, 'blind.revocation.json');
    const blind = await snapJson(['revoke', 'ds@v1', '--reason', REASON, '--key', alice.key, '--store', e.store, '--out', blindFile]);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.json.snapshot).toBe(fake.snapshot);
    expect(blind.stderr).toContain('note: without --pubkey, nothing checks who signed the snapshot found as ds@v1');
    expect((await snapJson(['verify', e.file, '--pubkey', alice.pub, '--store', await newStorePath(), '--revocations', blindFile, '--state-dir', await tempDir('snap-state-')])).code).toBe(0);
    // The archive of the real ds@v1 passes the same check, and its revocation then counts.
    const real = join(e.work, 'real.revocation.json');
    const ok = await snapJson(['revoke', e.file, '--reason', REASON, '--key', alice.key, '--pubkey', alice.pub, '--store', e.store, '--out', real]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).not.toContain('without --pubkey');
    expect(ok.json.snapshot).toBe(e.snapshot);
    const v = await snapJson(['verify', e.file, '--pubkey', alice.pub, '--store', await newStorePath(), '--revocations', real, '--state-dir', await tempDir('snap-state-')]);
    expect([v.code, v.json.failure.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
  });

  it('writes a revocation whose payload is an in-toto statement of type urn:snap:snapshot-revocation:v1 naming the snapshot id', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const file = join(await tempDir(), 'r.json');
    expect((await snapJson(['revoke', s.ref, '--reason', REASON, '--key', alice.key, '--store', s.store, '--out', file])).code).toBe(0);
    const env = JSON.parse(await fsp.readFile(file, 'utf8'));
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    expect(st).toMatchObject({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'urn:snap:snapshot-revocation:v1', subject: [{ name: s.ref, digest: { sha256: s.snapshot.slice(7) } }], predicate: { reason: REASON } });
  });
});

describe('the human output of revoke, import and verify', () => {
  it('shows a file name from outside escaped: no raw control character reaches the terminal', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const name = 'rev\x1b[2J\u202e.json';
    const out = join(await tempDir(), name);
    const made = await snap(['revoke', s.ref, '--reason', 'I say so', '--key', mallory.key, '--out', out, '--store', s.store]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain(escapeForTerminal(name));
    const v = await snap(['verify', s.data, '--against', s.ref, '--pubkey', alice.pub, '--revocations', out, '--store', s.store]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(escapeForTerminal(name));
    for (const text of [made.stdout, made.stderr, v.stdout, v.stderr]) {
      expect(text).not.toContain('\x1b');
      expect(text).not.toContain('\u202e');
    }
  });
});
