/**
 * Rollback of NAME@latest: verify takes the newest snapshot of NAME whose signatures satisfy the
 * keys (or policy), never one older than the newest trusted snapshot this machine has seen; a
 * store that hides its newest snapshot is noticed (exit 1, SNAPSHOT_ROLLBACK).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_FILE } from '../../src/trust/state.js';
import { BIN, makeKeyPair, makeTree, snapBin, snapJson, tempDir, useKeyPair, writeTree, type KeyPair } from '../helpers/tree.js';

const keys = useKeyPair('alice');
let mallory: KeyPair;
beforeAll(async () => {
  mallory = await makeKeyPair('mallory');
});

/** A store holding ds@v1 and ds@v2 (one second apart), and the dataset folder as of v2. */
async function twoVersions() {
  const work = await tempDir('snap-latest-');
  const store = join(work, 'store');
  const state = join(work, 'state');
  const env = { SNAP_STATE_DIR: state };
  const data = await makeTree({ 'a.txt': 'one\n' });
  expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store], { env })).code).toBe(0);
  await new Promise((r) => setTimeout(r, 1100)); // createdAt has whole seconds
  await writeTree(data, { 'b.txt': 'two\n' });
  const v2 = await snapJson(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store], { env });
  expect(v2.code).toBe(0);
  const verifyLatest = (extra: string[] = [], e: Record<string, string> = env) => snapJson(['verify', data, '--against', 'ds@latest', '--pubkey', keys.pub, '--store', store, ...extra], { env: e });
  return { work, store, state, env, data, v2: v2.json.snapshot as string, verifyLatest };
}

/**
 * This machine verifies ds@v2; then someone who can write the store and the data folder (not the
 * keys) takes ds@v2 of another store the same key signs (a staging store, say), sealed later, and
 * puts it in place of the genuine one. Returns that store's data folder and its seal's JSON.
 */
async function replaceSeenV2(t: Awaited<ReturnType<typeof twoVersions>>) {
  expect((await t.verifyLatest()).code).toBe(0); // this machine has now seen ds@v2
  return replaceV2(t);
}

/** A second later, another store (`otherStore`) seals a ds@v2 of its own (`otherData`), signed by the same key. */
async function otherStoreV2(t: Awaited<ReturnType<typeof twoVersions>>) {
  await new Promise((r) => setTimeout(r, 1100));
  const otherStore = join(t.work, 'other-store');
  const otherData = await makeTree({ 'unreviewed.txt': 'poison\n' });
  const copy = await snapJson(['seal', otherData, '--as', 'ds@v2', '--key', keys.key, '--store', otherStore], { env: { SNAP_STATE_DIR: join(t.work, 'other-state') } });
  expect(copy.code, copy.stderr).toBe(0);
  return { otherStore, otherData, copy };
}

/**
 * What replaceSeenV2 does once this machine has recorded ds@v2 (by a verify, or a restore): a
 * second later, another store's ds@v2, signed by the same key, takes the genuine one's folder
 * (`objects: true`: its objects are copied in too, for a restore).
 */
async function replaceV2(t: Awaited<ReturnType<typeof twoVersions>>, opts: { objects?: boolean } = {}) {
  const { otherStore, otherData, copy } = await otherStoreV2(t);
  const dir = join(t.store, 'snapshots', 'ds', 'v2');
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.cp(join(otherStore, 'snapshots', 'ds', 'v2'), dir, { recursive: true });
  if (opts.objects) await fsp.cp(join(otherStore, 'objects'), join(t.store, 'objects'), { recursive: true, force: false });
  return { otherData, copy };
}

describe('verify --against NAME@latest', () => {
  it('takes the newest trusted snapshot (exit 0, resolved ds@v2)', async () => {
    const t = await twoVersions();
    const r = await t.verifyLatest();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, ref: 'ds@latest', resolved: 'ds@v2', snapshot: t.v2 });
  });

  it('skips a newer snapshot signed by an untrusted key', async () => {
    const t = await twoVersions();
    await new Promise((r) => setTimeout(r, 1100));
    const other = await makeTree({ 'evil.txt': 'x\n' });
    expect((await snapJson(['seal', other, '--as', 'ds@v3', '--key', mallory.key, '--store', t.store], { env: t.env })).code).toBe(0);
    const r = await t.verifyLatest();
    expect(r.code).toBe(0);
    expect(r.json.resolved).toBe('ds@v2');
  });

  it('is refused when the store hides the newest snapshot this machine has seen (exit 1, SNAPSHOT_ROLLBACK)', async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0); // this machine has now seen ds@v2
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    await fsp.rm(join(t.data, 'b.txt')); // the data as of v1: it matches v1 exactly
    const r = await t.verifyLatest();
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    expect(r.json.failure.message).toContain('ds@v2');
    // A machine that never saw v2 takes v1, and says so.
    const fresh = await t.verifyLatest([], { SNAP_STATE_DIR: join(t.work, 'fresh') });
    expect(fresh.code).toBe(0);
    expect(fresh.json.resolved).toBe('ds@v1');
  });

  it('says the rollback without an empty snapshot id: no snapshot was chosen, so the FAIL line names none', async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0);
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    const r = await snapBin(['verify', t.data, '--against', 'ds@latest', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}ds@latest cannot be trusted: this machine has trusted ds@v2/);
    expect(r.stdout).not.toContain('()');
  });

  it('is refused when the newest snapshot is still there but no longer signed as it was (exit 1, SNAPSHOT_ROLLBACK)', async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0);
    const env = join(t.store, 'snapshots', 'ds', 'v2', 'envelope.json');
    await fsp.chmod(env, 0o644);
    await fsp.writeFile(env, (await fsp.readFile(env, 'utf8')).replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'A' ? 'B' : 'A'}`));
    const r = await t.verifyLatest();
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
  });

  it('remembers a snapshot verified by its NAME@VERSION too', async () => {
    const t = await twoVersions();
    expect((await snapJson(['verify', t.data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store], { env: t.env })).code).toBe(0);
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    const r = await t.verifyLatest();
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    const state = JSON.parse(await fsp.readFile(join(t.state, 'trusted-state.json'), 'utf8'));
    expect(Object.values(state.latestByStore[t.store]).map((d) => (d as Record<string, { version: string }>).ds?.version)).toContain('v2');
  });

  it('keeps what was seen per trust domain: other keys start afresh', async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0);
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    await fsp.rm(join(t.data, 'b.txt'));
    const r = await snapJson(['verify', t.data, '--against', 'ds@latest', '--pubkey', keys.pub, '--pubkey', mallory.pub, '--store', t.store], { env: t.env });
    expect(r.code).toBe(0);
    expect(r.json.resolved).toBe('ds@v1');
  });

  it('exits 3 (REF_NOT_FOUND) when the store has no snapshot of NAME, and 1 with the newest one\'s failure when none is trusted', async () => {
    const t = await twoVersions();
    const none = await snapJson(['verify', t.data, '--against', 'other@latest', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('REF_NOT_FOUND');
    const untrusted = await snapJson(['verify', t.data, '--against', 'ds@latest', '--pubkey', mallory.pub, '--store', t.store], { env: t.env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('takes a snapshot sealed in the same second as the one this machine has seen, while that one is still there (not a rollback)', async () => {
    // createdAt has whole seconds: seal ds@a and ds@b (the same data) until both fall in one second.
    let t: { store: string; env: Record<string, string>; data: string } | undefined;
    for (let i = 0; i < 8 && !t; i++) {
      const work = await tempDir('snap-latest-tie-');
      const store = join(work, 'store');
      const env = { SNAP_STATE_DIR: join(work, 'state') };
      const data = await makeTree({ 'a.txt': 'one\n' });
      for (const v of ['a', 'b']) expect((await snapJson(['seal', data, '--as', `ds@${v}`, '--key', keys.key, '--store', store], { env })).code).toBe(0);
      const createdAt = async (v: string) => JSON.parse(await fsp.readFile(join(store, 'snapshots', 'ds', v, 'statement.json'), 'utf8')).predicate.createdAt as string;
      if ((await createdAt('a')) === (await createdAt('b'))) t = { store, env, data };
    }
    if (!t) throw new Error('could not seal two snapshots within one second in 8 tries');
    const verify = (against: string) => snapJson(['verify', t.data, '--against', against, '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    const latest = await verify('ds@latest');
    expect(latest.code, latest.stderr).toBe(0);
    const other = latest.json.resolved === 'ds@a' ? 'ds@b' : 'ds@a';
    expect((await verify(other)).code).toBe(0); // this machine has now seen the other one of that second
    const again = await verify('ds@latest');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.resolved).toBe(latest.json.resolved);
    // With the one it has seen gone, the other one of that second is a rollback again.
    expect((await verify(other)).code).toBe(0);
    await fsp.rm(join(t.store, 'snapshots', 'ds', other.slice(3)), { recursive: true, force: true });
    const hidden = await verify('ds@latest');
    expect(hidden.code).toBe(1);
    expect(hidden.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
  });

  for (const against of ['ds@v2', 'ds@latest']) {
    it(`refuses, as --against ${against}, a snapshot of the version this machine has trusted that is another snapshot: the store's ds@v2 replaced by one of another store signed by the same key, with its data (exit 1, SNAPSHOT_ROLLBACK; it passed, exit 0, and the state forgot the genuine one)`, async () => {
      const t = await twoVersions();
      const { otherData, copy } = await replaceSeenV2(t);
      const r = await snapJson(['verify', otherData, '--against', against, '--pubkey', keys.pub, '--store', t.store], { env: t.env });
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
      expect(r.json.failure.message).toContain(`this machine has trusted ds@v2 as ${t.v2}`);
      expect(r.json.failure.message).toContain(copy.json.snapshot);
      // Both innocent causes get their remedy: a version sealed again, a path now holding another store.
      expect(r.json.failure.message).toContain('seal a new VERSION instead; if this path now holds another store (a workspace made anew), verify it with a trusted state of its own (--state-dir)');
      // The state still holds the genuine one: the next verify is refused too.
      const state = JSON.parse(await fsp.readFile(join(t.state, STATE_FILE), 'utf8'));
      expect(Object.values(state.latestByStore[t.store]).map((d) => (d as Record<string, { snapshot: string }>).ds?.snapshot)).toEqual([t.v2]);
      // A machine that never saw the genuine ds@v2 cannot tell.
      expect((await snapJson(['verify', otherData, '--against', against, '--pubkey', keys.pub, '--store', t.store], { env: { SNAP_STATE_DIR: join(t.work, 'fresh') } })).code).toBe(0);
    });
  }

  it('makes restore, attest, diff, check, bom and sign --pubkey refuse the replaced ds@v2 as verify does (SNAPSHOT_ROLLBACK; restore wrote it, exit 0), pass ds@v1 beside it, and a machine that never saw ds@v2 cannot tell', async () => {
    const t = await twoVersions();
    // The other store's objects too: only the trusted state can tell its ds@v2 from the genuine one.
    expect((await t.verifyLatest()).code).toBe(0);
    const { otherData } = await replaceV2(t, { objects: true });
    const on = (args: string[], env = t.env) => snapJson([...args, '--store', t.store], { env, cwd: t.work });
    const rollback = `this machine has trusted ds@v2 as ${t.v2}`;

    const restored = await on(['restore', 'ds@v2', join(t.work, 'restored'), '--pubkey', keys.pub]);
    expect(restored.code, restored.stdout).toBe(1);
    expect(restored.json.error.code).toBe('SNAPSHOT_ROLLBACK');
    expect(restored.json.error.message).toContain(rollback);
    await expect(fsp.access(join(t.work, 'restored'))).rejects.toThrow(); // nothing written

    await fsp.writeFile(join(t.work, 'model.bin'), 'weights');
    const attested = await on(['attest', 'model.bin', '--data', 'ds@v2', '--pubkey', keys.pub, '--key', keys.key, '--as', 'm@1']);
    expect(attested.code, attested.stdout).toBe(1);
    expect(attested.json.error.code).toBe('SNAPSHOT_ROLLBACK');

    const diffed = await on(['diff', 'ds@v2', otherData, '--pubkey', keys.pub]);
    expect(diffed.code, diffed.stdout).toBe(1); // identical to the folder, and still refused
    expect(diffed.json.a).toMatchObject({ trusted: false, failure: { code: 'SNAPSHOT_ROLLBACK' } });

    const checked = await on(['check', otherData, '--against', 'ds@v2', '--pubkey', keys.pub]); // no record sets: an untrusted A fails the gate still
    expect(checked.code, checked.stdout).toBe(1);
    expect(checked.json.breaches[0]).toMatchObject({ rule: 'trust', value: 'untrusted' });
    expect(checked.json.breaches[0].message).toContain('[SNAPSHOT_ROLLBACK]');

    const bom = await on(['bom', 'ds@v2', '--pubkey', keys.pub]);
    expect(bom.code, bom.stdout).toBe(1);
    expect(bom.json).toMatchObject({ ok: false, failure: { code: 'SNAPSHOT_ROLLBACK' } });

    // A reviewer's co-signature would make it pass a threshold of two everywhere: not added.
    const envelope = join(t.store, 'snapshots', 'ds', 'v2', 'envelope.json');
    const before = await fsp.readFile(envelope);
    const signed = await on(['sign', 'ds@v2', '--key', mallory.key, '--pubkey', keys.pub]);
    expect(signed.code, signed.stdout).toBe(1);
    expect(signed.json.error.code).toBe('SNAPSHOT_ROLLBACK');
    expect(await fsp.readFile(envelope)).toEqual(before);

    // Beside it, ds@v1 (not replaced) restores and is co-signed under the same state.
    const v1 = await on(['restore', 'ds@v1', join(t.work, 'v1'), '--pubkey', keys.pub]);
    expect(v1.code, v1.stdout).toBe(0);
    const v1Signed = await on(['sign', 'ds@v1', '--key', mallory.key, '--pubkey', keys.pub]);
    expect(v1Signed.code, v1Signed.stdout).toBe(0);
    // sign's --state-dir is read with --pubkey only: alone, a usage error (exit 2), nothing signed.
    const alone = await on(['sign', 'ds@v1', '--key', keys.key, '--state-dir', t.state]);
    expect(alone.code, alone.stdout).toBe(2);
    expect(alone.json.error.code).toBe('USAGE');
    // A machine that never saw the genuine ds@v2 cannot tell (FORMAT.md §17): restore takes it.
    const fresh = await on(['restore', 'ds@v2', join(t.work, 'fresh-restore'), '--pubkey', keys.pub], { SNAP_STATE_DIR: join(t.work, 'fresh') });
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(await fsp.readFile(join(t.work, 'fresh-restore', 'unreviewed.txt'), 'utf8')).toBe('poison\n');
  });

  it('records what restore restored from the store, as verify records it: a machine that only restored ds@v2 then refuses the store\'s ds@v2 replaced by another store\'s (SNAPSHOT_ROLLBACK, restore and verify)', async () => {
    const t = await twoVersions();
    const first = await snapJson(['restore', 'ds@v2', join(t.work, 'first'), '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(first.code, first.stdout).toBe(0);
    const state = JSON.parse(await fsp.readFile(join(t.state, STATE_FILE), 'utf8'));
    expect(Object.values(state.latestByStore[t.store]).map((d) => (d as Record<string, { snapshot: string }>).ds?.snapshot)).toEqual([t.v2]);
    // Someone who can write the store (no key) puts another store's ds@v2 in its place.
    const { otherData } = await replaceV2(t, { objects: true });
    const again = await snapJson(['restore', 'ds@v2', join(t.work, 'again'), '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(again.code, again.stdout).toBe(1);
    expect(again.json.error.code).toBe('SNAPSHOT_ROLLBACK');
    const v = await snapJson(['verify', otherData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(v.code, v.stdout).toBe(1);
    expect(v.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
  });

  it('fails a restore (exit 1, SNAPSHOT_ROLLBACK) when, between its start and its record, another run recorded another snapshot as the same version: the folder verifies against what was trusted at the start, but which of the two is genuine is unknown', async () => {
    const t = await twoVersions(); // this machine has not seen ds@v2 yet
    // The other run, made to land just before restore takes the trusted state's lock
    // (test/helpers/before-state-lock.cjs): the store's ds@v2 replaced by another store's, signed
    // by the same key, and verified (its data) on this machine, which records it as ds@v2.
    const { otherStore, otherData, copy } = await otherStoreV2(t);
    const dir = join(t.store, 'snapshots', 'ds', 'v2');
    const script = join(t.work, 'other-run.sh');
    const q = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;
    await fsp.writeFile(script, [
      'set -e',
      `rm -rf ${q(dir)}`,
      `cp -r ${q(join(otherStore, 'snapshots', 'ds', 'v2'))} ${q(dir)}`,
      `SNAP_STATE_DIR=${q(t.state)} ${q(process.execPath)} ${q(BIN)} verify ${q(otherData)} --against ds@v2 --pubkey ${q(keys.pub)} --store ${q(t.store)} --json > ${q(join(t.work, 'other-run.json'))}`,
      '',
    ].join('\n'));
    const preload = join(import.meta.dirname, '..', 'helpers', 'before-state-lock.cjs');
    const out = join(t.work, 'restored');
    const r = await snapBin(['restore', 'ds@v2', out, '--pubkey', keys.pub, '--store', t.store, '--json'], { env: { ...t.env, NODE_OPTIONS: `--require ${preload}`, SNAP_TEST_BEFORE_STATE_LOCK: script } });
    // The other run happened, at the lock, and passed (it recorded the other store's ds@v2).
    expect(await fsp.readFile(`${script}.opens`, 'utf8')).toContain('trusted-state.lock');
    expect(JSON.parse(await fsp.readFile(join(t.work, 'other-run.json'), 'utf8'))).toMatchObject({ ok: true, snapshot: copy.json.snapshot });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: false, snapshot: t.v2, failure: { code: 'SNAPSHOT_ROLLBACK' } });
    expect(j.failure.message).toContain(`this machine has trusted ds@v2 as ${copy.json.snapshot}`);
    // What restore wrote is the genuine ds@v2 (verified against it), left for the user to judge.
    expect(j.verify.ok).toBe(true);
    expect(await fsp.readFile(join(out, 'b.txt'), 'utf8')).toBe('two\n');
    // The state keeps what the other run recorded: restore did not replace it with its own.
    const state = JSON.parse(await fsp.readFile(join(t.state, STATE_FILE), 'utf8'));
    expect(Object.values(state.latestByStore[t.store]).map((d) => (d as Record<string, { snapshot: string }>).ds?.snapshot)).toEqual([copy.json.snapshot]);
  });

  it("refuses the replaced ds@v2 while another run holds the trusted state's lock (exit 1, SNAPSHOT_ROLLBACK): the state is not updated, and still judged", async () => {
    const t = await twoVersions();
    const { otherData } = await replaceSeenV2(t);
    // A live holder (this test's own process): each update waits for it (10 s), then gives up.
    const lock = join(t.state, 'trusted-state.lock');
    await fsp.writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const before = await fsp.readFile(join(t.state, STATE_FILE));
    // Beside it, a version not replaced (ds@v1, its data): it passes, and the held lock only costs it the record.
    const [r, genuine] = await Promise.all([
      snapJson(['verify', otherData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store], { env: t.env }),
      snapJson(['verify', await makeTree({ 'a.txt': 'one\n' }), '--against', 'ds@v1', '--pubkey', keys.pub, '--store', t.store], { env: t.env }),
    ]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    expect(r.json.failure.message).toContain(`this machine has trusted ds@v2 as ${t.v2}`);
    expect(r.stderr).not.toContain('will not remember');
    expect(genuine.code, genuine.stdout).toBe(0);
    expect(genuine.stderr).toContain('this machine will not remember ds@v1 as seen');
    expect(await fsp.readFile(join(t.state, STATE_FILE))).toEqual(before);
    await fsp.rm(lock);
  });

  it('takes, on one machine, a NAME@VERSION that two stores each sealed under the same key: each store is held to its own (exit 0 both)', async () => {
    const work = await tempDir('snap-latest-two-stores-');
    const env = { SNAP_STATE_DIR: join(work, 'state') };
    const runs = [];
    for (const name of ['a', 'b']) {
      const data = await makeTree({ [`${name}.txt`]: `${name}\n` });
      const store = join(work, name);
      expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store], { env })).code).toBe(0);
      runs.push({ data, store });
      await new Promise((r) => setTimeout(r, 1100)); // the second is newer: the state records it over the first
    }
    for (const { data, store } of [...runs, ...runs]) {
      const r = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store], { env });
      expect(r.code, r.stdout).toBe(0);
    }
    // The other store's snapshot folder given by its path, with --store naming this one: it is not this store's ds@v1.
    const [a, b] = runs as [(typeof runs)[number], (typeof runs)[number]];
    const byPath = await snapJson(['verify', a.data, '--against', join(a.store, 'snapshots', 'ds', 'v1'), '--pubkey', keys.pub, '--store', b.store], { env });
    expect(byPath.code, byPath.stdout).toBe(0);
  });

  it("takes another store's NAME@latest, older than the newest this machine recorded from a first store under the same key, as no rollback (exit 0); it was SNAPSHOT_ROLLBACK, naming the first store's version", async () => {
    // The other store's ds@v1 is sealed first: older than the first store's ds@v2.
    const otherWork = await tempDir('snap-latest-other-');
    const otherStore = join(otherWork, 'store');
    const otherData = await makeTree({ 'own.txt': 'own\n' });
    expect((await snapJson(['seal', otherData, '--as', 'ds@v1', '--key', keys.key, '--store', otherStore], { env: { SNAP_STATE_DIR: join(otherWork, 'state') } })).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0); // ds@v2 of the first store recorded
    const r = await snapJson(['verify', otherData, '--against', 'ds@latest', '--pubkey', keys.pub, '--store', otherStore], { env: t.env });
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.resolved).toBe('ds@v1');
    // The first store is still held to what was recorded from it: its ds@v2 hidden is a rollback — also when the store's
    // path is made a link to a copy without it (whoever can write there makes the store's real path another).
    const copy = join(t.work, 'copy');
    await fsp.cp(t.store, copy, { recursive: true });
    await fsp.rm(join(copy, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    await fsp.rename(t.store, join(t.work, 'away'));
    await fsp.symlink(copy, t.store);
    const hidden = await t.verifyLatest();
    expect(hidden.code).toBe(1);
    expect(hidden.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
  });

  it("keeps what was recorded from each store when a newer snapshot of NAME is verified from another store under the same key: the first store's ds@v2 then replaced by the other's, with its data, is still SNAPSHOT_ROLLBACK (it passed, exit 0: the other store's record had taken the first's place)", async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0); // ds@v2 of the first store recorded
    // A staging store sealed later under the same key, its own ds@v2 verified on this machine: a legitimate use.
    await new Promise((r) => setTimeout(r, 1100));
    const staging = join(t.work, 'staging');
    const stagingData = await makeTree({ 'unreviewed.txt': 'poison\n' });
    const staged = await snapJson(['seal', stagingData, '--as', 'ds@v2', '--key', keys.key, '--store', staging], { env: { SNAP_STATE_DIR: join(t.work, 'staging-state') } });
    expect(staged.code, staged.stderr).toBe(0);
    const own = await snapJson(['verify', stagingData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', staging], { env: t.env });
    expect(own.code, own.stdout).toBe(0);
    // Whoever can write the first store and its data folder puts the staging ds@v2 and its data in place of the genuine ones.
    const dir = join(t.store, 'snapshots', 'ds', 'v2');
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.cp(join(staging, 'snapshots', 'ds', 'v2'), dir, { recursive: true });
    const r = await snapJson(['verify', stagingData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    expect(r.json.failure.message).toContain(`this machine has trusted ds@v2 as ${t.v2}`);
    // The staging store is still held to its own ds@v2 and passes.
    expect((await snapJson(['verify', stagingData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', staging], { env: t.env })).code).toBe(0);
  });

  it("notices the first store hiding its newest snapshot after a newer snapshot of NAME was verified from another store under the same key (exit 1, SNAPSHOT_ROLLBACK; it passed, exit 0, on ds@v1)", async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0); // ds@v2 of the first store recorded
    await new Promise((r) => setTimeout(r, 1100));
    const other = join(t.work, 'other');
    const otherData = await makeTree({ 'own.txt': 'own\n' });
    expect((await snapJson(['seal', otherData, '--as', 'ds@v9', '--key', keys.key, '--store', other], { env: { SNAP_STATE_DIR: join(t.work, 'other-state') } })).code).toBe(0);
    expect((await snapJson(['verify', otherData, '--against', 'ds@latest', '--pubkey', keys.pub, '--store', other], { env: t.env })).code).toBe(0);
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    await fsp.rm(join(t.data, 'b.txt')); // the data as of v1: it matches v1 exactly
    const hidden = await t.verifyLatest();
    expect(hidden.code, hidden.stdout).toBe(1);
    expect(hidden.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    expect(hidden.json.failure.message).toContain('this machine has trusted ds@v2');
  });

  it("takes a store's NAME@latest after an archive of another store's newer NAME was verified on this machine under the same key (exit 0): the archive says nothing of this store; it was SNAPSHOT_ROLLBACK, naming the archive's version as hidden", async () => {
    const t = await twoVersions();
    expect((await t.verifyLatest()).code).toBe(0); // ds@v2 of the store recorded
    await new Promise((r) => setTimeout(r, 1100));
    const staging = join(t.work, 'staging');
    const stagingData = await makeTree({ 'staged.txt': 'staged\n' });
    const other = { SNAP_STATE_DIR: join(t.work, 'staging-state') };
    expect((await snapJson(['seal', stagingData, '--as', 'ds@v5', '--key', keys.key, '--store', staging], { env: other })).code).toBe(0);
    const archive = join(t.work, 'ds@v5.snap.tar');
    expect((await snapJson(['export', 'ds@v5', '--store', staging, '-o', archive], { env: other })).code).toBe(0);
    const checked = await snapJson(['verify', stagingData, '--against', archive, '--pubkey', keys.pub], { env: t.env });
    expect(checked.code, checked.stdout).toBe(0);
    const r = await t.verifyLatest();
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.resolved).toBe('ds@v2');
    // The store is still held to its own ds@v2: hidden, it is a rollback.
    await fsp.rm(join(t.store, 'snapshots', 'ds', 'v2'), { recursive: true, force: true });
    expect((await t.verifyLatest()).json.failure?.code).toBe('SNAPSHOT_ROLLBACK');
  });

  it("refuses an older version this machine verified from the store that is now another snapshot: ds@v1 replaced by a staging store's ds@v1 signed by the same key, with its data, while ds@v2 is the newest recorded (exit 1, SNAPSHOT_ROLLBACK; it passed, exit 0)", async () => {
    const t = await twoVersions();
    await fsp.rm(join(t.data, 'b.txt')); // the data as of v1
    const v1 = await snapJson(['verify', t.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(v1.code, v1.stdout).toBe(0);
    await writeTree(t.data, { 'b.txt': 'two\n' });
    expect((await t.verifyLatest()).code).toBe(0); // ds@v2, the newest, recorded too
    const staging = join(t.work, 'staging');
    const stagingData = await makeTree({ 'unreviewed.txt': 'poison\n' });
    const staged = await snapJson(['seal', stagingData, '--as', 'ds@v1', '--key', keys.key, '--store', staging], { env: { SNAP_STATE_DIR: join(t.work, 'staging-state') } });
    expect(staged.code, staged.stderr).toBe(0);
    const dir = join(t.store, 'snapshots', 'ds', 'v1');
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.cp(join(staging, 'snapshots', 'ds', 'v1'), dir, { recursive: true });
    const r = await snapJson(['verify', stagingData, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', t.store], { env: t.env });
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    expect(r.json.failure.message).toContain(`this machine has trusted ds@v1 as ${v1.json.snapshot}`);
    // The genuine ds@v2 still passes by its version (ds@latest picks the planted ds@v1, sealed later, and is refused as well).
    expect((await snapJson(['verify', t.data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store], { env: t.env })).code).toBe(0);
    expect((await t.verifyLatest()).json.failure?.code).toBe('SNAPSHOT_ROLLBACK');
  });

  for (const [first, then] of [['link', 'real path'], ['real path', 'link']] as const) {
    it(`holds a store reached by its ${then} to what was recorded when it was reached by its ${first}: ds@v2 then replaced by a staging store's, with its data, is SNAPSHOT_ROLLBACK (it passed, exit 0: each path was a store of its own)`, async () => {
      const t = await twoVersions();
      const link = join(t.work, 'store-link');
      await fsp.symlink(t.store, link);
      const path = { link, 'real path': t.store };
      const seen = await snapJson(['verify', t.data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', path[first]], { env: t.env });
      expect(seen.code, seen.stdout).toBe(0);
      await new Promise((r) => setTimeout(r, 1100));
      const staging = join(t.work, 'staging');
      const stagingData = await makeTree({ 'unreviewed.txt': 'poison\n' });
      expect((await snapJson(['seal', stagingData, '--as', 'ds@v2', '--key', keys.key, '--store', staging], { env: { SNAP_STATE_DIR: join(t.work, 'staging-state') } })).code).toBe(0);
      const dir = join(t.store, 'snapshots', 'ds', 'v2');
      await fsp.rm(dir, { recursive: true, force: true });
      await fsp.cp(join(staging, 'snapshots', 'ds', 'v2'), dir, { recursive: true });
      const r = await snapJson(['verify', stagingData, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', path[then]], { env: t.env });
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('SNAPSHOT_ROLLBACK');
    });
  }

  it('is a reserved VERSION: seal --as NAME@latest exits 2 (USAGE)', async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snapJson(['seal', data, '--as', 'ds@latest', '--key', keys.key, '--store', join(await tempDir(), 's')]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });
});

describe("this machine's trusted state", () => {
  it('planted as a FIFO is a state that cannot be read (a note; verify goes on, exit 0), not waited on, and the FIFO is left as it was', async () => {
    const t = await twoVersions();
    await fsp.mkdir(t.state, { recursive: true });
    const fifo = join(t.state, STATE_FILE);
    await fsp.rm(fifo, { force: true });
    const { spawnSync } = await import('node:child_process');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Run as a subprocess: a blocked open would hang the test process itself (snapBin kills it after 30 s).
    const r = await snapBin(['verify', t.data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', t.store, '--json'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: cannot read the trusted state: .* is not a regular file: /m);
    expect((await fsp.lstat(fifo)).isFIFO()).toBe(true);
  });
});
