/**
 * This machine's trusted state (docs/FORMAT.md §16.5) against another user who can write its
 * folder or file, and holds no key: the policy root it remembers is the anchor that outranks
 * `--root`, so a state planted there made a policy signed by that user's own key pass verify. A
 * state another user could write is not used (IO_ERROR, exit 3), as OpenSSH's StrictModes refuses
 * an authorized_keys file others can write.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snapJson, tempDir, type KeyPair } from '../helpers/tree.js';

let root: KeyPair, producer: KeyPair, mallory: KeyPair;
beforeAll(async () => {
  [root, producer, mallory] = await Promise.all([makeKeyPair('root'), makeKeyPair('producer'), makeKeyPair('mallory')]);
});

const run = (args: string[], state: string) => snapJson(args, { env: { SNAP_STATE_DIR: state } });

/** Policy acme v1 with root `r` and producer `p`, every dataset needing one producer, signed by `r`. */
async function policy(file: string, r: KeyPair, p: KeyPair, state: string): Promise<string> {
  for (const args of [
    ['policy', 'init', file, '--name', 'acme', '--root-key', r.pub],
    ['policy', 'add-key', file, '--pub', p.pub, '--role', 'producer'],
    ['policy', 'rule', file, '--datasets', '*', '--require', 'producer=1'],
    ['policy', 'sign', file, '--key', r.key],
  ]) {
    const c = await run(args, state);
    expect(c.code, c.stderr).toBe(0);
  }
  return file;
}

/**
 * The real policy (root `root`) trusted once on this machine; then mallory's data, sealed by her
 * key, her own policy acme (root and producer: her key), and a state remembering her root, made
 * with snap itself in a folder of hers and copied over this machine's.
 */
async function planted() {
  const dir = await tempDir('snap-state-attack-');
  const state = join(dir, 'state');
  const store = join(dir, 'store');
  const data = await makeTree({ 'a.txt': 'poisoned\n' });
  expect((await run(['seal', data, '--as', 'ds@1', '--key', mallory.key, '--store', store], state)).code).toBe(0);
  const real = await policy(join(dir, 'real.json'), root, producer, state);
  const first = await run(['verify', data, '--against', 'ds@1', '--policy', real, '--root', root.pub, '--store', store], state);
  expect(first.code, first.stdout).toBe(1); // mallory is no producer of the real policy
  const forged = join(dir, 'forged');
  const evil = await policy(join(dir, 'evil.json'), mallory, mallory, forged);
  expect((await run(['verify', data, '--against', 'ds@1', '--policy', evil, '--root', mallory.pub, '--store', store], forged)).code).toBe(0);
  await fsp.copyFile(join(forged, 'trusted-state.json'), join(state, 'trusted-state.json'));
  const attack = ['verify', data, '--against', 'ds@1', '--policy', evil, '--root', root.pub, '--store', store];
  return { state, attack };
}

describe('a trusted state another user can write is not used', () => {
  it('in a folder others can write: mallory\'s policy, anchored by her planted state, does not pass verify --root ROOT.pub (IO_ERROR, exit 3)', async () => {
    const { state, attack } = await planted();
    await fsp.chmod(state, 0o777);
    const r = await run(attack, state);
    expect([r.code, r.json.error?.code], r.stdout).toEqual([3, 'IO_ERROR']);
    expect(r.json.error.message).toMatch(/is not this user's alone: every user may write in it/);
  });

  it('a state file others can write, or that belongs to another user: not used either (IO_ERROR, exit 3)', async () => {
    const { state, attack } = await planted();
    const file = join(state, 'trusted-state.json');
    await fsp.chmod(file, 0o666);
    const writable = await run(attack, state);
    expect([writable.code, writable.json.error?.code], writable.stdout).toEqual([3, 'IO_ERROR']);
    await fsp.chmod(file, 0o600);
    if (process.geteuid?.() === 0) {
      await fsp.chown(file, 65534, 65534);
      const foreign = await run(attack, state);
      expect([foreign.code, foreign.json.error?.code], foreign.stdout).toEqual([3, 'IO_ERROR']);
      expect(foreign.json.error.message).toMatch(/belongs to another user \(uid 65534\)/);
    }
  });

  it('in a sticky folder others can write (as /tmp), a state file of this user is used: the real policy still anchors (exit 1 for mallory\'s data)', async () => {
    const dir = await tempDir('snap-state-sticky-');
    const state = join(dir, 'state');
    await fsp.mkdir(state);
    await fsp.chmod(state, 0o1777);
    const store = join(dir, 'store');
    const data = await makeTree({ 'a.txt': 'fine\n' });
    expect((await run(['seal', data, '--as', 'ds@1', '--key', producer.key, '--store', store], state)).code).toBe(0);
    const real = await policy(join(dir, 'real.json'), root, producer, state);
    const r = await run(['verify', data, '--against', 'ds@1', '--policy', real, '--root', root.pub, '--store', store], state);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const kept = JSON.parse(await fsp.readFile(join(state, 'trusted-state.json'), 'utf8'));
    expect(Object.keys(kept.policies)).toEqual(['acme']);
  });
});

describe('--policy-name: a policy of another name signed by the same root is not the one meant', () => {
  it("the root's policy acme-old (mallory a producer) passes verify in place of acme without it (as documented), and is refused with --policy-name acme (POLICY_SIGNATURE_INVALID, other-name, exit 1)", async () => {
    const dir = await tempDir('snap-policy-name-');
    const state = join(dir, 'state');
    const store = join(dir, 'store');
    const data = await makeTree({ 'a.txt': 'poisoned\n' });
    expect((await run(['seal', data, '--as', 'ds@1', '--key', mallory.key, '--store', store], state)).code).toBe(0);
    const real = await policy(join(dir, 'real.json'), root, producer, state);
    const base = ['verify', data, '--against', 'ds@1', '--root', root.pub, '--store', store];
    expect((await run([...base, '--policy', real, '--policy-name', 'acme'], state)).code).toBe(1);
    // Another policy the same root once signed, under another name, with mallory as a producer.
    const other = join(dir, 'old.json');
    for (const args of [
      ['policy', 'init', other, '--name', 'acme-old', '--root-key', root.pub],
      ['policy', 'add-key', other, '--pub', mallory.pub, '--role', 'producer'],
      ['policy', 'rule', other, '--datasets', '*', '--require', 'producer=1'],
      ['policy', 'sign', other, '--key', root.key],
    ]) expect((await run(args, state)).code).toBe(0);
    const unpinned = await run([...base, '--policy', other], state);
    expect(unpinned.code).toBe(0);
    // It passes, and says how to pin the name; with the name pinned, no such note.
    expect(unpinned.stderr).toContain('note: policy acme-old was taken because its root keys signed it; pin its name with --policy-name acme-old');
    const pinnedReal = await run([...base, '--policy', real, '--policy-name', 'acme'], state);
    expect(pinnedReal.stderr).not.toContain('--policy-name');
    const pinned = await run([...base, '--policy', other, '--policy-name', 'acme'], state);
    expect([pinned.code, pinned.json.error?.code, pinned.json.error?.details?.reason], pinned.stdout).toEqual([1, 'POLICY_SIGNATURE_INVALID', 'other-name']);
  });
});

/**
 * The folders above the state folder: another user who can rename entries in one of them can move
 * the state folder away, and snap would then run with an empty state — the policy versions,
 * revocations and checkpoints this machine kept, forgotten without a word. The rule is restore's
 * (TARGET_UNSAFE): a folder another user owns (root excepted), or that every user — or a group
 * other than this process's own — may write in, and is not sticky.
 */
describe('a trusted state under a folder another user can change is not used', () => {
  const isRoot = process.getuid?.() === 0;
  /** The other user: "nobody" when the tests run as root; else this same user (the folders are what count). */
  const OTHER = 65534;

  /** Another user's process renames `from` to `to`: 'moved', or the error code it got. */
  function renameAsOther(from: string, to: string): string {
    const script = `try { require('fs').renameSync(${JSON.stringify(from)}, ${JSON.stringify(to)}); console.log('moved'); } catch (e) { console.log(e.code); }`;
    return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', ...(isRoot ? { uid: OTHER, gid: OTHER } : {}) }).stdout.trim();
  }

  /**
   * `work/shared/state` (work 0755, shared 0755, this user's) remembering version 2 of the real
   * policy; `rollback` verifies with version 1, which that memory refuses (POLICY_ROLLBACK).
   */
  async function remembered() {
    const work = await tempDir('snap-state-above-');
    await fsp.chmod(work, 0o755);
    const shared = join(work, 'shared');
    await fsp.mkdir(shared, { mode: 0o755 });
    const state = join(shared, 'state');
    const store = join(work, 'store');
    const data = await makeTree({ 'a.txt': 'fine\n' });
    expect((await run(['seal', data, '--as', 'ds@1', '--key', producer.key, '--store', store], state)).code).toBe(0);
    const v1 = await policy(join(work, 'v1.json'), root, producer, state);
    const v2 = join(work, 'v2.json');
    await fsp.copyFile(v1, v2);
    for (const args of [['policy', 'add-key', v2, '--pub', mallory.pub, '--role', 'auditor'], ['policy', 'sign', v2, '--key', root.key]]) {
      const c = await run(args, state);
      expect(c.code, c.stderr).toBe(0);
    }
    const verifyWith = (file: string) => ['verify', data, '--against', 'ds@1', '--policy', file, '--root', root.pub, '--store', store];
    for (const file of [v1, v2]) expect((await run(verifyWith(file), state)).code).toBe(0);
    const rollback = verifyWith(v1);
    const refused = await run(rollback, state);
    expect([refused.code, refused.json.error?.code], refused.stdout).toEqual([1, 'POLICY_ROLLBACK']);
    return { work, shared, state, rollback };
  }

  it('under a folder every user may write in (not sticky): another user moves the state folder away, and the rolled-back policy is still refused — the state is not used (IO_ERROR, exit 3, naming the folder)', async () => {
    const { shared, state, rollback } = await remembered();
    await fsp.chmod(shared, 0o777);
    expect(renameAsOther(state, join(shared, 'state.moved'))).toBe('moved');
    const r = await run(rollback, state);
    expect([r.code, r.json.error?.code, r.json.error?.details?.path], r.stdout).toEqual([3, 'IO_ERROR', shared]);
    expect(r.json.error.message).toMatch(/the folder \S+shared above the state folder \S+ is not safe from other users \(every user may write in it/);
    expect(r.json.error.message).toMatch(/Keep the state in a folder of your own/);
    expect(await fsp.readdir(shared)).toEqual(['state.moved']); // no new state folder made there
    // Refused too while the state folder is still there.
    await fsp.rename(join(shared, 'state.moved'), state);
    const there = await run(rollback, state);
    expect([there.code, there.json.error?.code, there.json.error?.details?.path], there.stdout).toEqual([3, 'IO_ERROR', shared]);
  });

  it.skipIf(!isRoot)('under a folder that belongs to another user, or that another group may write in (run as root): not used (IO_ERROR, exit 3)', async () => {
    const { shared, state, rollback } = await remembered();
    await fsp.chown(shared, OTHER, OTHER);
    const owned = await run(rollback, state);
    expect([owned.code, owned.json.error?.code, owned.json.error?.details?.path], owned.stdout).toEqual([3, 'IO_ERROR', shared]);
    expect(owned.json.error.message).toMatch(/belongs to another user \(uid 65534\)/);
    await fsp.chown(shared, 0, OTHER);
    await fsp.chmod(shared, 0o775);
    const group = await run(rollback, state);
    expect([group.code, group.json.error?.code, group.json.error?.details?.path], group.stdout).toEqual([3, 'IO_ERROR', shared]);
    expect(group.json.error.message).toMatch(/group 65534/);
  });

  it('under a sticky folder every user may write in (as /tmp), or one only this user\'s own group may write in (user-private groups): used — the rollback is refused (exit 1, POLICY_ROLLBACK)', async () => {
    const { shared, state, rollback } = await remembered();
    await fsp.chmod(shared, 0o1777);
    if (isRoot) expect(renameAsOther(state, join(shared, 'state.moved'))).toBe('EPERM');
    const sticky = await run(rollback, state);
    expect([sticky.code, sticky.json.error?.code], sticky.stdout).toEqual([1, 'POLICY_ROLLBACK']);
    await fsp.chown(shared, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    await fsp.chmod(shared, 0o775);
    const ownGroup = await run(rollback, state);
    expect([ownGroup.code, ownGroup.json.error?.code], ownGroup.stdout).toEqual([1, 'POLICY_ROLLBACK']);
  });

  it('log --verify: kept checkpoints under a folder every user may write in are not used, and said so (a note, naming the folder)', async () => {
    const work = await tempDir('snap-state-above-log-');
    await fsp.chmod(work, 0o755);
    const shared = join(work, 'shared');
    await fsp.mkdir(shared, { mode: 0o777 });
    await fsp.chmod(shared, 0o777);
    const state = join(shared, 'state');
    const store = join(work, 'store');
    expect((await run(['seal', await makeTree({ 'a.txt': 'a\n' }), '--as', 'ds@1', '--key', producer.key, '--store', store], state)).code).toBe(0);
    const r = await run(['log', '--verify', '--store', store], state);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stderr).toContain(`the folder ${shared} above the state folder ${state} is not safe from other users`);
    expect(r.stderr).toContain('the checkpoints this machine has kept are not checked in this run');
  });
});
