/**
 * Co-signing (`snap sign`, SPEC §5, §7): a second key signs an existing snapshot in a store, a
 * folder or an archive; the payload and snapshot id never change; only envelope.json is replaced,
 * by a superset of its signatures; signing twice with one key is a no-op; `seal` takes several keys.
 */
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, snapBin, snapJson, spawnSnap, stderrSays, tempDir, useKeyPair, type KeyPair } from '../helpers/tree.js';
import { sealAndExport, sealTree, tamper, useStore } from '../helpers/store.js';

const alice = useKeyPair('alice');
const shared = useStore();
let bob: KeyPair;
beforeAll(async () => {
  bob = await makeKeyPair('bob');
});

const TREE = { 'a/1.txt': 'one\n', 'b/2.txt': 'two\n' };

function verifyArgs(data: string, ref: string, store: string, pubs: string[], threshold: number): string[] {
  return ['verify', data, '--against', ref, ...pubs.flatMap((p) => ['--pubkey', p]), '--threshold', String(threshold), '--store', store];
}

describe('snap sign --pubkey: a co-signer signs only what the expected producer signed', () => {
  it('signs a snapshot the --pubkey key signed, and verify --threshold 2 then passes', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const r = await snapJson(['sign', s.ref, '--key', bob.key, '--pubkey', alice.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ changed: true, added: [bob.keyid] });
    expect((await snapJson(verifyArgs(s.data, s.ref, s.store, [alice.pub, bob.pub], 2))).code).toBe(0);
  });

  it('refuses (exit 1, SIGNATURE_INVALID) a snapshot swapped in the store for one signed by another key, and signs nothing', async () => {
    const mallory = await makeKeyPair('mallory');
    const s = await sealTree(TREE, mallory, { store: shared.path });
    const envelope = await fsp.readFile(join(s.dir, 'envelope.json'));
    const r = await snapJson(['sign', s.ref, '--key', bob.key, '--pubkey', alice.pub, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SIGNATURE_INVALID');
    expect(r.json.error.message).toContain('nothing was signed');
    expect(await fsp.readFile(join(s.dir, 'envelope.json'))).toEqual(envelope);
    // Without --pubkey the co-signer is not asked whom to expect, and signs (as before).
    expect((await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store])).code).toBe(0);
  });

  it('says on stderr, when it signs without --pubkey, that nothing checked who signed the snapshot first (as revoke does); not with --pubkey, --quiet, or when nothing was signed', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const blind = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.stderr).toContain(`note: without --pubkey, nothing checked who signed the snapshot found as ${s.ref} (${s.snapshot.slice(0, 19)}) before this signature was added:`);
    expect(blind.stderr).toContain('give --pubkey PRODUCER.pub to sign only what its producer signed\n');
    const again = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(again.stderr).not.toContain('note: without --pubkey');
    const t = await sealTree(TREE, alice, { store: shared.path });
    const checked = await snapJson(['sign', t.ref, '--key', bob.key, '--pubkey', alice.pub, '--store', t.store]);
    expect(checked.stderr).not.toContain('note: without --pubkey');
    const u = await sealTree(TREE, alice, { store: shared.path });
    const quiet = await snapJson(['sign', u.ref, '--key', bob.key, '--quiet', '--store', u.store]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('note: without --pubkey');
  });

  it('refuses an archive not signed by the --pubkey key, leaving the file as it was', async () => {
    const mallory = await makeKeyPair('mallory2');
    const e = await sealAndExport(TREE, mallory);
    const before = await fsp.readFile(e.file);
    const r = await snapJson(['sign', e.file, '--key', bob.key, '--pubkey', alice.pub]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SIGNATURE_INVALID');
    expect(await fsp.readFile(e.file)).toEqual(before);
  });
});

describe('snap sign on a store snapshot', () => {
  it('meets verify --threshold 2 by co-signing, with the snapshot id and statement unchanged', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const before = await snapJson(verifyArgs(s.data, s.ref, s.store, [alice.pub, bob.pub], 2));
    expect(before.code).toBe(1);
    expect(before.json.failure.code).toBe('SIGNATURE_INVALID');
    const statementBefore = await fsp.readFile(join(s.dir, 'statement.json'));

    const signed = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.json).toMatchObject({ ok: true, snapshot: s.snapshot, changed: true, added: [bob.keyid], alreadySigned: [], signatures: 2 });

    const after = await snapJson(verifyArgs(s.data, s.ref, s.store, [alice.pub, bob.pub], 2));
    expect(after.code).toBe(0);
    expect(after.json.snapshot).toBe(s.snapshot);
    expect(after.json.signers).toEqual([
      { keyid: alice.keyid, trusted: true },
      { keyid: bob.keyid, trusted: true },
    ]);
    expect(await fsp.readFile(join(s.dir, 'statement.json'))).toEqual(statementBefore);
  });

  it('keeps every old signature, byte for byte, in the new envelope (a superset, same payload)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const old = JSON.parse(await fsp.readFile(join(s.dir, 'envelope.json'), 'utf8'));
    expect((await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store])).code).toBe(0);
    const now = JSON.parse(await fsp.readFile(join(s.dir, 'envelope.json'), 'utf8'));
    expect(now.payload).toBe(old.payload);
    expect(now.payloadType).toBe(old.payloadType);
    expect(now.signatures.slice(0, old.signatures.length)).toEqual(old.signatures);
    expect(now.signatures).toHaveLength(old.signatures.length + 1);
  });

  it('is a no-op, said so, with exit 0, when the key has already signed (the sealer, or a second sign)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const again = await snapJson(['sign', s.ref, '--key', alice.key, '--store', s.store]);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ changed: false, added: [], alreadySigned: [alice.keyid], signatures: 1 });

    expect((await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store])).code).toBe(0);
    const bytes = await fsp.readFile(join(s.dir, 'envelope.json'));
    const twice = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(twice.code).toBe(0);
    expect(twice.json).toMatchObject({ changed: false, alreadySigned: [bob.keyid], signatures: 2 });
    expect(await fsp.readFile(join(s.dir, 'envelope.json'))).toEqual(bytes);
  });

  it('says in words that a second sign with the same key did nothing', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const { snap } = await import('../helpers/tree.js');
    const r = await snap(['sign', s.ref, '--key', alice.key, '--store', s.store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/already signed/);
  });

  it('records the signature in the audit log (command sign, the keyid added)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    expect((await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store])).code).toBe(0);
    const log = await snapJson(['log', s.name, '--store', s.store]);
    const line = log.json.entries.find((e: { command: string }) => e.command === 'sign');
    expect(line).toMatchObject({ command: 'sign', ref: s.ref, snapshot: s.snapshot, outcome: 'ok', details: { added: [bob.keyid] } });
  });

  it('refuses to sign when statement.json is not the signed payload (exit 1, INTEGRITY_FAILURE), envelope unchanged', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const env = await fsp.readFile(join(s.dir, 'envelope.json'));
    await tamper(join(s.dir, 'statement.json'), (t) => t.replace('"fileCount":2', '"fileCount":3'));
    const r = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('INTEGRITY_FAILURE');
    expect(await fsp.readFile(join(s.dir, 'envelope.json'))).toEqual(env);
  });

  it('refuses to sign a snapshot whose manifest no longer matches the statement (exit 1, INTEGRITY_FAILURE)', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    await tamper(join(s.dir, 'manifest.jsonl'), (t) => t.replace('"size":4', '"size":5'));
    const r = await snapJson(['sign', s.ref, '--key', bob.key, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('INTEGRITY_FAILURE');
  });

  it('refuses to sign a snapshot found under another name than it is signed as (exit 1, SNAPSHOT_NAME_MISMATCH)', async () => {
    const s1 = await sealTree(TREE, alice, { store: shared.path });
    const s2 = await sealTree({ 'x.txt': 'x\n' }, alice, { store: shared.path, as: `${s1.name}@v2` });
    for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
      await fsp.chmod(join(s2.dir, f), 0o644).catch(() => {});
      await fsp.copyFile(join(s1.dir, f), join(s2.dir, f));
    }
    const r = await snapJson(['sign', s2.ref, '--key', bob.key, '--store', s2.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_NAME_MISMATCH');
  });

  it('exits 3 for an unknown ref (REF_NOT_FOUND) and 2 without --key', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const r = await snapJson(['sign', `${s.name}@nope`, '--key', bob.key, '--store', s.store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('REF_NOT_FOUND');
    expect((await snapJson(['sign', s.ref, '--store', s.store])).code).toBe(2);
  });
});

describe('snap sign on a store snapshot named by its folder path', () => {
  it('takes the store\'s lock even when --store names another store: a signer holding it is waited for, and no signature is lost', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const work = await tempDir();
    // What the other signer (carol, signing NAME@VERSION in its store) writes: the envelope it read, plus its signature.
    const carol = await makeKeyPair('carol-store');
    const other = join(work, 'other');
    await fsp.cp(s.dir, other, { recursive: true });
    await fsp.chmod(other, 0o755);
    expect((await snapJson(['sign', other, '--key', carol.key, '--store', join(work, 'no-store')])).code).toBe(0);
    // Carol holds the store's lock (this live process stands for it) while bob signs the folder by its path.
    const lock = join(s.store, 'lock');
    await fsp.writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const { child, done } = spawnSnap(['sign', s.dir, '--key', bob.key, '--store', join(work, 'no-store'), '--json']);
    try {
      // Without the store's lock, bob would read alice's envelope and finish now; carol's rename would then drop bob's signature.
      await stderrSays(child, `note: waiting for the store ${s.store}, locked by another snap (pid ${process.pid}`);
      await fsp.chmod(join(s.dir, 'envelope.json'), 0o644);
      await fsp.copyFile(join(other, 'envelope.json'), join(s.dir, 'envelope.json'));
    } finally {
      await fsp.rm(lock, { force: true });
    }
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--store', s.store, '--pubkey', alice.pub, '--pubkey', bob.pub, '--pubkey', carol.pub, '--threshold', '3']);
    expect(v.code, v.stdout).toBe(0);
    expect((await fsp.readdir(s.dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('snap sign on a snapshot folder outside a store', () => {
  it('takes turns with another signer under the folder\'s lock file: the signing that waited adds its signature to the other\'s, none is lost', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path });
    const work = await tempDir();
    const folder = join(work, 'snap');
    await fsp.cp(s.dir, folder, { recursive: true });
    await fsp.chmod(folder, 0o755);
    // What the other signer (carol) writes: the envelope it read, plus its signature.
    const carol = await makeKeyPair('carol');
    const other = join(work, 'other');
    await fsp.cp(s.dir, other, { recursive: true });
    await fsp.chmod(other, 0o755);
    expect((await snapJson(['sign', other, '--key', carol.key, '--store', join(work, 'no-store')])).code).toBe(0);
    // The other signer holds the folder's lock (this live process stands for it) while bob signs.
    const lock = join(folder, '.envelope.json.lock');
    await fsp.writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const { child, done } = spawnSnap(['sign', folder, '--key', bob.key, '--store', join(work, 'no-store'), '--json']);
    // Without the lock, bob would read alice's envelope and finish now; carol's rename would then drop bob's signature.
    await stderrSays(child, `note: waiting for the snapshot folder ${folder}, locked by another snap (pid ${process.pid}`);
    await fsp.copyFile(join(other, 'envelope.json'), join(folder, 'envelope.json'));
    await fsp.rm(lock);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const v = await snapJson(['verify', s.data, '--against', folder, '--pubkey', alice.pub, '--pubkey', bob.pub, '--pubkey', carol.pub, '--threshold', '3']);
    expect(v.code, v.stdout).toBe(0);
    expect((await fsp.readdir(folder)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('seal with several --key', () => {
  it('signs with each key, so verify --threshold 2 passes at once; a key given twice signs once', async () => {
    const s = await sealTree(TREE, alice, { store: shared.path, extra: ['--key', bob.key, '--key', alice.key] });
    const env = JSON.parse(await fsp.readFile(join(s.dir, 'envelope.json'), 'utf8'));
    expect(env.signatures.map((x: { keyid: string }) => x.keyid)).toEqual([alice.keyid, bob.keyid]);
    const v = await snapJson(verifyArgs(s.data, s.ref, s.store, [alice.pub, bob.pub], 2));
    expect(v.code).toBe(0);
  });
});

describe('snap sign on an archive', () => {
  it('gives the same bytes as exporting the co-signed store snapshot, and verifies with --threshold 2', async () => {
    const e = await sealAndExport(TREE, alice);
    const signed = await snapJson(['sign', e.file, '--key', bob.key, '--store', e.store]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.json).toMatchObject({ changed: true, added: [bob.keyid], snapshot: e.snapshot });

    expect((await snapJson(['sign', 'ds@v1', '--key', bob.key, '--store', e.store])).code).toBe(0);
    const other = join(await tempDir(), 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', other, '--store', e.store])).code).toBe(0);
    expect(await fsp.readFile(e.file)).toEqual(await fsp.readFile(other));

    const v = await snapJson(['verify', e.file, '--pubkey', alice.pub, '--pubkey', bob.pub, '--threshold', '2']);
    expect(v.code).toBe(0);
    expect(v.json.snapshot).toBe(e.snapshot);
  });

  it('keeps both signatures when two keys sign one archive at the same time, and leaves no lock or temporary file', async () => {
    const e = await sealAndExport(TREE, alice);
    const carol = await makeKeyPair('carol');
    const [b, c] = await Promise.all([
      snapJson(['sign', e.file, '--key', bob.key, '--store', e.store]),
      snapJson(['sign', e.file, '--key', carol.key, '--store', e.store]),
    ]);
    expect([b.code, c.code], b.stderr + c.stderr).toEqual([0, 0]);
    const v = await snapJson(['verify', e.file, '--pubkey', alice.pub, '--pubkey', bob.pub, '--pubkey', carol.pub, '--threshold', '3']);
    expect(v.code, v.stdout).toBe(0);
    expect((await fsp.readdir(e.work)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('leaves the archive untouched when the key has already signed', async () => {
    const e = await sealAndExport(TREE, alice);
    const before = await fsp.readFile(e.file);
    const r = await snapJson(['sign', e.file, '--key', alice.key, '--store', e.store]);
    expect(r.code).toBe(0);
    expect(r.json.changed).toBe(false);
    expect(await fsp.readFile(e.file)).toEqual(before);
  });

  it('refuses an archive with a sparse hole of 1 TiB appended (ARCHIVE_HOSTILE, zero-block, exit 1) after copying at most 1 MiB of it: the archive is unchanged, no temporary file', async () => {
    const e = await sealAndExport(TREE, alice);
    const size = (await fsp.stat(e.file)).size;
    await fsp.truncate(e.file, size + 2 ** 40);
    const r = await snapJson(['sign', e.file, '--key', bob.key, '--store', e.store]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'zero-block' } });
    expect((await fsp.stat(e.file)).size).toBe(size + 2 ** 40);
    expect((await fsp.readdir(e.work)).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 30_000);

  it('refuses an archive whose last member claims 1 TiB, a sparse hole (ARCHIVE_HOSTILE, too-large, exit 1), copying no more than its statement allows: the archive is unchanged', async () => {
    const e = await sealAndExport(TREE, alice);
    const bytes = await fsp.readFile(e.file);
    const at = bytes.lastIndexOf(Buffer.from('data/b/2.txt\0'));
    const head = Buffer.from(bytes.subarray(at, at + 512));
    head.fill(0, 124, 136); // the size in base-256, as snap writes one from 8 GiB on
    head[124] = 0x80;
    head.writeUIntBE(2 ** 40, 130, 6);
    head.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of head) sum += b;
    head.write(sum.toString(8).padStart(6, '0') + ' \0', 148, 'latin1');
    await fsp.writeFile(e.file, Buffer.concat([bytes.subarray(0, at), head, bytes.subarray(at + 512)]));
    await fsp.truncate(e.file, at + 512 + 2 ** 40 + 1024);
    const r = await snapJson(['sign', e.file, '--key', bob.key, '--store', e.store]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'too-large' } });
    expect((await fsp.stat(e.file)).size).toBe(at + 512 + 2 ** 40 + 1024);
    expect((await fsp.readdir(e.work)).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 30_000);

  it('refuses an archive swapped for a FIFO after it was checked (exit 3, ARCHIVE_MALFORMED, not-a-file) at once, instead of waiting on it for ever, and leaves the FIFO and no temporary file', async () => {
    const e = await sealAndExport(TREE, alice);
    const r = await snapBin(['sign', e.file, '--key', bob.key, '--store', e.store, '--json'], { env: { SNAP_TEST_SWAP_FILE: `fifo:${e.file}` }, timeoutMs: 15_000 });
    expect(r.signal).toBeNull();
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'ARCHIVE_MALFORMED', details: { reason: 'not-a-file' } });
    expect((await fsp.lstat(e.file)).isFIFO()).toBe(true);
    expect((await fsp.readdir(e.work)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses a file that is not an archive (exit 3, ARCHIVE_MALFORMED) and leaves no temporary file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'junk@v1.snap.tar');
    await fsp.writeFile(file, Buffer.alloc(4096, 7));
    const r = await snapJson(['sign', file, '--key', bob.key]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('ARCHIVE_MALFORMED');
    expect(await fsp.readdir(dir)).toEqual(['junk@v1.snap.tar']);
  });
});
