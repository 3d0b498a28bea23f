/**
 * The signed audit log: an RFC 9162 tree over log.jsonl lines with C2SP tlog-checkpoint /
 * signed-note checkpoints. `log checkpoint --key` signs one; `log --verify --pubkey` checks the
 * newest checkpoint's signature, that the first N lines give its root, and consistency between
 * successive checkpoints; `--checkpoint FILE` checks the log still extends a checkpoint kept elsewhere.
 */
import { promises as fsp } from 'node:fs';
import { createHash, createPublicKey } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapBin, snapJson, tempDir, useKeyPair, heapLimit, type KeyPair } from '../helpers/tree.js';
import { EMPTY_ROOT } from '../../src/core/merkle.js';
import { formatCheckpoint, signNoteLine } from '../../src/core/signed-note.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

const keys = useKeyPair('alice');
let auditor: KeyPair;
let other: KeyPair;
beforeAll(async () => {
  auditor = await makeKeyPair('auditor');
  other = await makeKeyPair('other');
});

/** A store whose log has a seal and a verify line. */
async function logged() {
  const work = await tempDir('snap-cp-');
  const store = join(work, 'store');
  const data = await makeTree({ 'a.txt': 'a\n' });
  expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  expect((await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  const more = async () => expect((await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
  return { work, store, data, more };
}

const canonical = (o: unknown): string =>
  Array.isArray(o) ? `[${o.map(canonical).join(',')}]` : o !== null && typeof o === 'object' ? `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical((o as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(o);

/** What someone who can write the store (not the keys) does: rewrite log lines and a matching log.head. */
async function rewriteLogAndHead(store: string, edit: (line: Record<string, unknown>) => void): Promise<void> {
  const path = join(store, 'log.jsonl');
  const lines = (await fsp.readFile(path, 'utf8')).split('\n').slice(0, -1);
  let prev = '0'.repeat(64);
  const out: string[] = [];
  for (const l of lines) {
    const o = JSON.parse(l) as Record<string, unknown>;
    edit(o);
    o.prev = prev;
    const text = canonical(o);
    out.push(text);
    prev = createHash('sha256').update(`${text}\n`).digest('hex');
  }
  await fsp.writeFile(path, out.map((l) => `${l}\n`).join(''));
  await fsp.writeFile(join(store, 'log.head'), `${canonical({ seq: out.length, sha256: prev })}\n`);
}

const forgeVerdicts = (o: Record<string, unknown>) => {
  if (o.command === 'verify') o.user = 'someone-else';
};

describe('snap log checkpoint', () => {
  it('signs the log as it is now, writes and prints a checkpoint that log --verify --pubkey accepts (exit 0)', async () => {
    const t = await logged();
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json).toMatchObject({ ok: true, size: 2, signed: true });
    expect(c.json.file).toBe(join(t.store, 'log.checkpoints', '0000000000000002.checkpoint'));
    expect(await fsp.readFile(c.json.file, 'utf8')).toBe(c.json.note);
    const v = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.code).toBe(0);
    expect(v.json.checkpoints).toMatchObject({ ok: true, checkpoints: 1, newest: { size: 2, signedBy: [auditor.keyid] } });
  });

  it('counts the lines of a one-line checkpoint as one line, not "1 lines"', async () => {
    const store = join(await tempDir('snap-cp-'), 'store');
    const data = await makeTree({ 'a.txt': 'a\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const t = { store };
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json.size).toBe(1);
    const v = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.stdout).toContain('1 checkpoint (newest: 1 line, origin');
  });

  it('prints its hint on stderr, and nothing there with --quiet (-q), which log accepts like the other commands', async () => {
    const t = await logged();
    const loud = await snap(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr).toContain('keep a copy of this checkpoint off this machine');
    await t.more();
    const quiet = await snap(['log', 'checkpoint', '-q', '--key', auditor.key, '--store', t.store]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const verify = await snap(['log', '--verify', '--quiet', '--pubkey', auditor.pub, '--store', t.store]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('makes a rewrite of the log together with its head fail (exit 1, mismatch) — which passes without a checkpoint', async () => {
    const before = await logged();
    await rewriteLogAndHead(before.store, forgeVerdicts);
    expect((await snapJson(['log', '--verify', '--store', before.store])).code).toBe(0); // the old limit

    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    await rewriteLogAndHead(t.store, forgeVerdicts);
    const v = await snapJson(['log', '--verify', '--store', t.store]);
    expect(v.code).toBe(1);
    expect(v.json.chainOk).toBe(true);
    expect(v.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['mismatch']);
  });

  it('says which lines come after the newest checkpoint, which a rewrite together with the head changes unseen (exit 0): an OK is not read as covering the whole log', async () => {
    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    await t.more();
    // Lines 3 (the checkpoint's own) and 4 (a verify) follow the checkpoint of 2 lines; line 4 is rewritten.
    await rewriteLogAndHead(t.store, (o) => {
      if ((o.seq as number) > 2 && o.command === 'verify') o.user = 'someone-else';
    });
    const v = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/lines 3–4 come after the newest checkpoint: no signature covers them yet/);
    const cp = await snap(['log', '--verify', '--store', t.store]);
    expect(cp.stdout).toMatch(/lines 3–4 come after the newest checkpoint/);
  });

  it("right after log checkpoint, names the one line after the checkpoint as that checkpoint's own record, still unsigned, without advising another checkpoint (which would only add another such line)", async () => {
    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    const v = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toContain('note: line 3 is the log-checkpoint line recording the newest checkpoint itself: no signature covers it yet (no checkpoint can cover its own record; the next one, made after other lines, will)');
    expect(v.stdout).not.toContain('comes after the newest checkpoint');
    expect(v.stdout).not.toContain('snap log checkpoint --key KEY');
    // A checkpoint made again at once: the same of its own record (line 4, after the checkpoint of 3 lines).
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    expect((await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store])).stdout).toContain('note: line 4 is the log-checkpoint line recording the newest checkpoint itself');
    // Any other line after it: the advice, as before.
    await t.more();
    const more = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(more.stdout).toMatch(/lines 4–5 come after the newest checkpoint: no signature covers them yet, .*\(snap log checkpoint --key KEY\)/);
  });

  it('does not take a log-checkpoint line recording another checkpoint (another size, root or origin) for the newest checkpoint\'s own record', async () => {
    for (const edit of [(d: Record<string, unknown>) => void (d.size = 1), (d: Record<string, unknown>) => void (d.root = '0'.repeat(64)), (d: Record<string, unknown>) => void (d.origin = 'example.com/other')]) {
      const t = await logged();
      expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
      await rewriteLogAndHead(t.store, (o) => {
        if (o.command === 'log-checkpoint') edit(o.details as Record<string, unknown>);
      });
      const v = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
      expect(v.code, v.stdout).toBe(0);
      expect(v.stdout).toContain('note: line 3 comes after the newest checkpoint: no signature covers it yet');
    }
  });

  it('notices a checkpoint kept elsewhere that the log no longer extends (exit 1, not-extended), even with the checkpoints removed', async () => {
    const t = await logged();
    const kept = join(t.work, 'kept.checkpoint');
    const c = await snap(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(c.code).toBe(0);
    await fsp.writeFile(kept, c.stdout); // what CI keeps off the machine
    await t.more();
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--checkpoint', kept, '--store', t.store])).code).toBe(0);

    await rewriteLogAndHead(t.store, forgeVerdicts);
    await fsp.rm(join(t.store, 'log.checkpoints'), { recursive: true });
    const v = await snapJson(['log', '--verify', '--checkpoint', kept, '--store', t.store]);
    expect(v.code).toBe(1);
    expect(v.json.checkpoints.external).toEqual([expect.objectContaining({ extends: false, size: 2 })]);
    // (and 'none': this machine kept the store's log origin, and no checkpoint of it is left)
    expect(v.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['none', 'not-extended']);
    const signed = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(signed.code).toBe(1);
    // (and 'not-extended': with the store's origin kept here, this machine's kept checkpoint of it is checked too)
    expect(signed.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['not-extended', 'none']);
  });

  it('refuses a newest checkpoint not signed by the given key (exit 1, unsigned): the attacker signs their own', async () => {
    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    await rewriteLogAndHead(t.store, forgeVerdicts);
    await fsp.rm(join(t.store, 'log.checkpoints'), { recursive: true });
    expect((await snapJson(['log', 'checkpoint', '--key', other.key, '--store', t.store])).code).toBe(0);
    const v = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.code).toBe(1);
    // (the attacker's checkpoint also names another origin than the one this machine kept for the store)
    expect(v.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(expect.arrayContaining(['unsigned', 'origin']));
    const elsewhere = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store], { env: { SNAP_STATE_DIR: await tempDir('snap-other-machine-') } });
    expect(elsewhere.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['unsigned']);
  });

  it('notices, on a machine that verified a newer checkpoint, a log rewritten after an older one with the newer checkpoints removed (exit 1, not-extended); and that machine will not sign it', async () => {
    const env = { SNAP_STATE_DIR: await tempDir('snap-state-') };
    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store], { env })).code).toBe(0); // 2 lines
    await t.more();
    const newer = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store], { env }); // 4 lines
    expect(newer.code, newer.stderr).toBe(0);
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store], { env })).code).toBe(0);

    // Someone who can write the store (no key) removes the newer checkpoint and rewrites what came after the older one.
    await fsp.rm(newer.json.file);
    let n = 0;
    await rewriteLogAndHead(t.store, (o) => {
      if (++n > 2) o.user = 'someone-else';
    });
    // A machine that has seen nothing cannot tell: the older checkpoint is signed and the log extends it.
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store], { env: { SNAP_STATE_DIR: await tempDir('snap-state-') } })).code).toBe(0);

    const v = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store], { env });
    expect(v.code).toBe(1);
    expect(v.json.checkpoints.problems.map((p: { kind: string; size: number }) => `${p.kind}@${p.size}`)).toEqual(['not-extended@4']);
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store], { env });
    expect([c.code, c.json.error?.code]).toEqual([1, 'LOG_INCONSISTENT']);
  });

  it('keeps and checks the checkpoint in the --state-dir given, as verify keeps its state there: a log rewritten after an older checkpoint fails (exit 1, not-extended) and is not signed; listing the log takes no --state-dir (exit 2)', async () => {
    const state = await tempDir('snap-state-');
    const env = { SNAP_STATE_DIR: await tempDir('snap-default-state-') }; // the default state never sees it
    const t = await logged();
    const kept = ['--state-dir', state, '--store', t.store];
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, ...kept], { env })).code).toBe(0); // 2 lines
    await t.more();
    const newer = await snapJson(['log', 'checkpoint', '--key', auditor.key, ...kept], { env }); // 4 lines
    expect(newer.code, newer.stderr).toBe(0);
    await fsp.rm(newer.json.file);
    let n = 0;
    await rewriteLogAndHead(t.store, (o) => {
      if (++n > 2) o.user = 'someone-else';
    });
    const v = await snapJson(['log', '--verify', '--pubkey', auditor.pub, ...kept], { env });
    expect([v.code, v.json.checkpoints?.problems.map((p: { kind: string; size: number }) => `${p.kind}@${p.size}`)], v.stderr).toEqual([1, ['not-extended@4']]);
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, ...kept], { env });
    expect([c.code, c.json.error?.code]).toEqual([1, 'LOG_INCONSISTENT']);
    const list = await snapJson(['log', ...kept], { env });
    expect([list.code, list.json.error?.code]).toEqual([2, 'USAGE']);
  });

  it('with --origin, refuses the log, head and checkpoints of another store signed by the same key (exit 1, origin), which pass without it on a machine that never signed or verified the store', async () => {
    const a = await logged();
    const b = await logged();
    const ca = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', a.store]);
    expect(ca.code, ca.stderr).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', b.store])).code).toBe(0);
    const originA = ca.json.origin as string;
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--origin', originA, '--store', a.store])).code).toBe(0);
    // Someone who can write store A replaces its log with B's.
    await fsp.rm(join(a.store, 'log.checkpoints'), { recursive: true });
    await fsp.cp(join(b.store, 'log.checkpoints'), join(a.store, 'log.checkpoints'), { recursive: true });
    for (const f of ['log.jsonl', 'log.head']) await fsp.copyFile(join(b.store, f), join(a.store, f));
    const elsewhere = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store], { env: { SNAP_STATE_DIR: await tempDir('snap-other-machine-') } });
    expect(elsewhere.code).toBe(0);
    const pinned = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--origin', originA, '--store', a.store]);
    expect(pinned.code).toBe(1);
    expect(pinned.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('origin');
    // This machine kept A's checkpoint when it verified it: pinned to A, the copied log does not extend it.
    expect(pinned.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('not-extended');
    // A pinned origin with no checkpoint at all is no pass either.
    await fsp.rm(join(a.store, 'log.checkpoints'), { recursive: true });
    const none = await snapJson(['log', '--verify', '--origin', originA, '--store', a.store]);
    expect(none.code).toBe(1);
    expect(none.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('none');
  });

  it('without --origin, holds a store\'s log to the origin this machine signed or verified it under: another store\'s log copied in fails (exit 1, origin); --origin names a store made anew', async () => {
    const a = await logged();
    const b = await logged();
    const ca = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', a.store]);
    expect(ca.code, ca.stderr).toBe(0);
    const cb = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', b.store]);
    expect(cb.code, cb.stderr).toBe(0);
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store])).code).toBe(0);
    // Someone who can write store A replaces its log, head and checkpoints with B's (signed by the same key).
    await fsp.rm(join(a.store, 'log.checkpoints'), { recursive: true });
    await fsp.cp(join(b.store, 'log.checkpoints'), join(a.store, 'log.checkpoints'), { recursive: true });
    for (const f of ['log.jsonl', 'log.head']) await fsp.copyFile(join(b.store, f), join(a.store, f));
    const plain = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store]);
    expect(plain.code).toBe(1);
    const problem = plain.json.checkpoints.problems.find((p: { kind: string }) => p.kind === 'origin');
    expect(problem.message).toContain(`not of ${ca.json.origin as string} (the origin this machine kept for this store`);
    const human = await snap(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^ {2}origin: .*if the store was made anew, give --origin/m);
    // Told that the store's log is now B's (a store made anew), the machine accepts it and keeps that.
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--origin', cb.json.origin as string, '--store', a.store])).code).toBe(0);
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store])).code).toBe(0);
  });

  it("holds the store's log to its kept origin also when the store's folder is made a link to a copy holding another store's log (exit 1, origin); the real path was looked up, found nothing kept, and B's log passed (exit 0)", async () => {
    const a = await logged();
    const b = await logged();
    const ca = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', a.store]);
    expect(ca.code, ca.stderr).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', b.store])).code).toBe(0);
    // Someone who can write where store A is puts a copy of it in its place, a link, with B's log, head and checkpoints.
    const copy = join(a.work, 'copy');
    await fsp.cp(a.store, copy, { recursive: true });
    await fsp.rm(join(copy, 'log.checkpoints'), { recursive: true });
    await fsp.cp(join(b.store, 'log.checkpoints'), join(copy, 'log.checkpoints'), { recursive: true });
    for (const f of ['log.jsonl', 'log.head']) await fsp.copyFile(join(b.store, f), join(copy, f));
    await fsp.rename(a.store, join(a.work, 'away'));
    await fsp.symlink(copy, a.store);
    const r = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('origin');
  });

  it('still finds the origin kept for the store under its real path (as an earlier snap kept it) when the store is given by a link to it: another store\'s log copied in fails (exit 1, origin)', async () => {
    const a = await logged();
    const b = await logged();
    const ca = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', a.store]);
    expect(ca.code, ca.stderr).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', b.store])).code).toBe(0);
    const link = join(a.work, 'link');
    await fsp.symlink(a.store, link);
    await fsp.rm(join(a.store, 'log.checkpoints'), { recursive: true });
    await fsp.cp(join(b.store, 'log.checkpoints'), join(a.store, 'log.checkpoints'), { recursive: true });
    for (const f of ['log.jsonl', 'log.head']) await fsp.copyFile(join(b.store, f), join(a.store, f));
    const r = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', link]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.checkpoints.problems.find((p: { kind: string }) => p.kind === 'origin').message).toContain(`not of ${ca.json.origin as string}`);
  });

  it("holds the store's log to the origin kept when it was reached by a link also when it is then given by its real path: another store's log copied in fails (exit 1, origin); nothing was kept under the real path, and B's log passed (exit 0)", async () => {
    const a = await logged();
    const b = await logged();
    const link = join(a.work, 'link');
    await fsp.symlink(a.store, link);
    const ca = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', link]);
    expect(ca.code, ca.stderr).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', b.store])).code).toBe(0);
    await fsp.rm(join(a.store, 'log.checkpoints'), { recursive: true });
    await fsp.cp(join(b.store, 'log.checkpoints'), join(a.store, 'log.checkpoints'), { recursive: true });
    for (const f of ['log.jsonl', 'log.head']) await fsp.copyFile(join(b.store, f), join(a.store, f));
    const r = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', a.store]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.checkpoints.problems.find((p: { kind: string }) => p.kind === 'origin').message).toContain(`not of ${ca.json.origin as string}`);
  });

  it('checks every checkpoint and the consistency between successive ones (mismatch, inconsistent)', async () => {
    const t = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0); // 2 lines
    await t.more();
    await t.more();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0); // 5 lines
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store])).json.checkpoints).toMatchObject({ ok: true, checkpoints: 2 });
    let n = 0;
    await rewriteLogAndHead(t.store, (o) => {
      if (++n === 4) o.user = 'someone-else'; // a line between the two checkpoints
    });
    const v = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(v.code).toBe(1);
    expect(v.json.checkpoints.problems.map((p: { kind: string; size: number }) => `${p.kind}@${p.size}`)).toEqual(['mismatch@5', 'inconsistent@5']);
  });

  it('notices lines removed below a checkpoint (ahead)', async () => {
    const t = await logged();
    await t.more();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    const path = join(t.store, 'log.jsonl');
    const lines = (await fsp.readFile(path, 'utf8')).split('\n');
    await fsp.writeFile(path, `${lines.slice(0, 2).join('\n')}\n`);
    await fsp.rm(join(t.store, 'log.head'));
    const v = await snapJson(['log', '--verify', '--store', t.store]);
    expect(v.code).toBe(1);
    expect(v.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toContain('ahead');
  });

  it('takes a checkpoint of the empty tree (size 0, RFC 9162 root of no leaves) as extended by any log, in the store or kept elsewhere; one of size 0 with another root is a mismatch, not "lines were removed"', async () => {
    const t = await logged();
    const key = await readPrivateKey(auditor.key);
    const origin = 'example.com/empty';
    const noteOf = (root: Uint8Array) => {
      const text = formatCheckpoint({ origin, size: 0, root, extensions: [] });
      return `${text}\n${signNoteLine(text, { name: origin, publicKey: key.publicKey, seed: key.seed })}`;
    };
    const kept = join(t.work, 'empty.checkpoint');
    await fsp.writeFile(kept, noteOf(EMPTY_ROOT));
    const ext = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--checkpoint', kept, '--store', t.store]);
    expect(ext.json.checkpoints.external).toEqual([expect.objectContaining({ size: 0, extends: true })]);
    expect(ext.json.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['none']); // no checkpoint in the store yet

    await fsp.mkdir(join(t.store, 'log.checkpoints'));
    await fsp.writeFile(join(t.store, 'log.checkpoints', '0000000000000000.checkpoint'), noteOf(EMPTY_ROOT));
    const inStore = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store]);
    expect(inStore.code, JSON.stringify(inStore.json.checkpoints?.problems)).toBe(0);
    const next = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.json).toMatchObject({ size: 2, signed: true });

    await fsp.writeFile(kept, noteOf(new Uint8Array(32).fill(7)));
    const wrong = await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--checkpoint', kept, '--store', t.store]);
    expect(wrong.code).toBe(1);
    const problems = wrong.json.checkpoints.problems as { kind: string; message: string }[];
    expect(problems.map((p) => p.kind)).toEqual(['not-extended']);
    expect(problems[0]?.message).toContain('empty tree');
    expect(problems[0]?.message).not.toContain('removed');
  });

  it('refuses to sign a log whose chain is broken, or that no longer extends the newest checkpoint (exit 1, LOG_INCONSISTENT)', async () => {
    const t = await logged();
    const path = join(t.store, 'log.jsonl');
    await fsp.writeFile(path, (await fsp.readFile(path, 'utf8')).replace('"outcome":"ok"', '"outcome":"failed"'));
    const r = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('LOG_INCONSISTENT');

    const u = await logged();
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', u.store])).code).toBe(0);
    await rewriteLogAndHead(u.store, forgeVerdicts);
    const again = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', u.store]);
    expect(again.code).toBe(1);
    expect(again.json.error.code).toBe('LOG_INCONSISTENT');
  });

  it('adds a second key\'s signature to the checkpoint of the same size', async () => {
    const t = await logged();
    const a = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    const store = t.store;
    // The checkpoint line itself was logged: sign the same size again before anything else is.
    await fsp.writeFile(join(store, 'log.jsonl'), (await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).split('\n').slice(0, 2).join('\n') + '\n');
    const head = (await fsp.readFile(join(store, 'log.jsonl'), 'utf8')).split('\n')[1] as string;
    await fsp.writeFile(join(store, 'log.head'), `${canonical({ seq: 2, sha256: createHash('sha256').update(`${head}\n`).digest('hex') })}\n`);
    const b = await snapJson(['log', 'checkpoint', '--key', other.key, '--origin', a.json.origin, '--store', store]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.note.split('\n').filter((l: string) => l.startsWith('\u2014 '))).toHaveLength(2);
  });

  it('keeps no more than one checkpoint note in memory: 1,000 planted checkpoints of 62 KB (extension lines) are reported (ahead) by log --verify in a 64 MiB heap, not an out-of-memory crash', async () => {
    const t = await logged();
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', t.store]);
    expect(c.code, c.stderr).toBe(0);
    const [text, sigs] = (c.json.note as string).split('\n\n') as [string, string];
    const [origin, , root] = text.split('\n');
    const ext = `${'x'.repeat(1000)}\n`.repeat(62);
    for (let n = 1000; n < 2000; n++) await fsp.writeFile(join(t.store, 'log.checkpoints', `${String(n).padStart(16, '0')}.checkpoint`), `${origin}\n${n}\n${root}\n${ext}\n${sigs}`);
    const v = await snapBin(['log', '--verify', '--json', '--store', t.store], { env: { NODE_OPTIONS: heapLimit(64) } });
    expect(v.code, v.stderr.slice(0, 400)).toBe(1);
    const kinds = (JSON.parse(v.stdout) as { checkpoints: { problems: { kind: string }[] } }).checkpoints.problems.map((p) => p.kind);
    expect(kinds).toEqual(Array(1000).fill('ahead'));
  }, 60_000);

  it('refuses a checkpoint file that is not a signed note (exit 1, CHECKPOINT_MALFORMED)', async () => {
    const t = await logged();
    const bad = join(t.work, 'bad.checkpoint');
    await fsp.writeFile(bad, 'origin\n2\nnot base64\n\n— origin AAAA\n');
    const v = await snapJson(['log', '--verify', '--checkpoint', bad, '--store', t.store]);
    expect(v.code).toBe(1);
    expect(v.json.error.code).toBe('CHECKPOINT_MALFORMED');
  });

  it('reports a FIFO planted as a checkpoint as malformed (exit 1) instead of waiting on it', async () => {
    const t = await logged();
    expect((await snap(['log', 'checkpoint', '--key', auditor.key, '--store', t.store])).code).toBe(0);
    execFileSync('mkfifo', [join(t.store, 'log.checkpoints', '0000000000000009.checkpoint')]);
    const v = await snapBin(['log', '--verify', '--pubkey', auditor.pub, '--store', t.store, '--json'], { timeoutMs: 15_000 });
    expect(v.signal).toBeNull();
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout).checkpoints.problems).toEqual([expect.objectContaining({ kind: 'malformed', message: expect.stringContaining('not a regular file') })]);
  });

  it('reads no more of a checkpoint file than its bound when it grows after its size was checked (exit 1, CHECKPOINT_MALFORMED): one grown to 3 GiB was read to its end', async () => {
    const t = await logged();
    const kept = join(t.work, 'kept.checkpoint');
    const c = await snapBin(['log', 'checkpoint', '--key', auditor.key, '--out', kept, '--store', t.store]);
    expect(c.code, c.stderr).toBe(0);
    const v = await snapBin(['log', '--verify', '--checkpoint', kept, '--store', t.store, '--json'], { env: { SNAP_TEST_SWAP_FILE: `grow:${kept}` }, timeoutMs: 15_000 });
    expect(v.code, v.stdout + v.stderr).toBe(1);
    expect(JSON.parse(v.stdout).error).toMatchObject({ code: 'CHECKPOINT_MALFORMED', message: expect.stringContaining('larger than 65536 bytes') });
  });

  it('refuses a flag that only another form of log uses (exit 2): `log --pubkey K --checkpoint F` without --verify checked nothing and exited 0', async () => {
    const t = await logged();
    const cp = join(t.work, 'cp.txt');
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--out', cp, '--store', t.store])).code).toBe(0);
    const refused: [string[], string][] = [
      [['log', '--pubkey', auditor.pub], '--pubkey'],
      [['log', '--checkpoint', cp], '--checkpoint'],
      [['log', '--origin', 'snap.local/log/x'], '--origin'],
      [['log', '--key', auditor.key], '--key'],
      [['log', '--out', join(t.work, 'o.txt')], '--out'],
      [['log', '--verify', '--key', auditor.key], '--key'],
      [['log', '--verify', '--passphrase-env', 'P'], '--passphrase-env'],
      [['log', '--verify', '--out', join(t.work, 'o.txt')], '--out'],
      [['log', 'checkpoint', '--key', auditor.key, '--pubkey', auditor.pub], '--pubkey'],
      [['log', 'checkpoint', '--key', auditor.key, '--checkpoint', cp], '--checkpoint'],
      [['log', 'ds', '--pubkey', auditor.pub], '--pubkey'],
    ];
    for (const [args, flag] of refused) {
      const r = await snapJson([...args, '--store', t.store]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.code, args.join(' ')).toBe('USAGE');
      expect(r.json.error.message, args.join(' ')).toContain(flag);
    }
    await expect(fsp.access(join(t.work, 'o.txt'))).rejects.toThrow();
    // The forms that use them still take them.
    expect((await snapJson(['log', '--verify', '--pubkey', auditor.pub, '--checkpoint', cp, '--origin', (await fsp.readFile(cp, 'utf8')).split('\n')[0] as string, '--store', t.store])).code).toBe(0);
  });

  it('records the trusted keyids and the dataset folder in each verify line', async () => {
    const t = await logged();
    const log = await snapJson(['log', '--store', t.store]);
    const v = log.json.entries.find((e: { command: string }) => e.command === 'verify');
    expect(v.details).toMatchObject({ dir: t.data, trusted: [keys.keyid], signedBy: [keys.keyid] });
  });
});

describe('the checkpoint format, checked independently', () => {
  it('follows c2sp.org/tlog-checkpoint and signed-note: origin, size, base64 RFC 9162 root, empty line, em dash, key name, base64(key ID ‖ Ed25519 signature)', async () => {
    const t = await logged();
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--origin', 'example.com/snap-audit', '--store', t.store]);
    expect(c.code).toBe(0);
    const note: string = c.json.note;
    const [text, sigs] = [note.slice(0, note.lastIndexOf('\n\n') + 1), note.slice(note.lastIndexOf('\n\n') + 2)];
    const [origin, size, root] = text.split('\n');
    expect(origin).toBe('example.com/snap-audit');
    expect(size).toBe('2');

    // The RFC 9162 root of the first two log lines, computed here: SHA-256(0x01 ‖ leaf0 ‖ leaf1).
    const lines = (await fsp.readFile(join(t.store, 'log.jsonl'), 'utf8')).split('\n').slice(0, 2);
    const leaf = (l: string) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(l)])).digest();
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from([1]), leaf(lines[0] as string), leaf(lines[1] as string)])).digest();
    expect(root).toBe(expected.toString('base64'));

    // One signature line: U+2014, space, key name (= origin), space, base64 of key ID ‖ signature.
    expect(sigs.endsWith('\n')).toBe(true);
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)\n$/.exec(sigs);
    expect(m?.[1]).toBe('example.com/snap-audit');
    const raw = Buffer.from(m?.[2] as string, 'base64');
    expect(raw).toHaveLength(4 + 64);
    const pub = createPublicKey(await fsp.readFile(auditor.pub)).export({ type: 'spki', format: 'der' }).subarray(12);
    const keyId = createHash('sha256').update(Buffer.concat([Buffer.from('example.com/snap-audit\n'), Buffer.from([0x01]), pub])).digest().subarray(0, 4);
    expect(raw.subarray(0, 4)).toEqual(keyId);

    // OpenSSL verifies the Ed25519 signature over the note text.
    const msg = join(t.work, 'note-text.bin');
    const sig = join(t.work, 'note-sig.bin');
    await fsp.writeFile(msg, text);
    await fsp.writeFile(sig, raw.subarray(4));
    const ok = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', auditor.pub, '-rawin', '-in', msg, '-sigfile', sig], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    await fsp.writeFile(msg, text.replace('\n2\n', '\n3\n'));
    expect(spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', auditor.pub, '-rawin', '-in', msg, '-sigfile', sig]).status).not.toBe(0);
  });
});
