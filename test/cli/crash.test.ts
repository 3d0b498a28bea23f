/**
 * A seal killed midway (SIGKILL: no cleanup runs) leaves the store valid (SPEC §7): no snapshot
 * appears, no partial object sits under a final name, and the same NAME@VERSION can be sealed and
 * verified afterwards.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapJson, spawnSnap, useKeyPair } from '../helpers/tree.js';
import { filesUnder, newStorePath, objectFiles, sha256File } from '../helpers/store.js';

const keys = useKeyPair();

/** True once STORE/tmp holds an object being copied. */
function tmpBusy(store: string): boolean {
  try {
    return readdirSync(join(store, 'tmp')).some((n) => n.startsWith('obj-'));
  } catch {
    return false;
  }
}

describe('a seal killed midway', () => {
  it('leaves the store valid: no snapshot listed, every object hashes to its name, and the same NAME@VERSION seals and verifies afterwards', async () => {
    // A few large files: each is copied into STORE/tmp while it is hashed, which takes a while.
    const MiB = 1 << 20;
    const spec: Record<string, Buffer> = {};
    for (let i = 0; i < 3; i++) spec[`shard-${i}.bin`] = Buffer.alloc(40 * MiB, i + 1);
    spec['small.txt'] = Buffer.from('small\n');
    const data = await makeTree(spec);
    const store = await newStorePath();

    const { child, done } = spawnSnap(['seal', data, '--as', 'big@v1', '--key', keys.key, '--store', store, '--jobs', '1', '--quiet']);
    // Kill it while an object is being copied into STORE/tmp.
    const started = Date.now();
    while (!tmpBusy(store) && Date.now() - started < 10_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    const r = await done;
    expect(r.signal, `the seal finished before it could be killed (exit ${r.code}); make the dataset bigger`).toBe('SIGKILL');
    // The killed seal did leave work in progress behind (so this test exercises the crash it means to).
    expect((await filesUnder(join(store, 'tmp'))).length).toBeGreaterThan(0);

    // Nothing committed.
    const list = await snapJson(['list', '--store', store]);
    expect(list.code).toBe(0);
    expect(list.json.snapshots).toEqual([]);
    expect(await filesUnder(join(store, 'snapshots'))).toEqual([]);
    // No partial object under a final name.
    for (const o of await objectFiles(store)) expect(await sha256File(o.path), o.name).toBe(o.name);

    // The killed writer's lock is taken over; its leftovers in tmp are cleared.
    const again = await snapJson(['seal', data, '--as', 'big@v1', '--key', keys.key, '--store', store]);
    expect(again.code, again.stderr).toBe(0);
    expect(await filesUnder(join(store, 'tmp'))).toEqual([]);
    const objs = await objectFiles(store);
    expect(objs).toHaveLength(4);
    for (const o of objs) expect(await sha256File(o.path)).toBe(o.name);
    const v = await snapJson(['verify', data, '--against', 'big@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.json.counts.matched).toBe(4);
  }, 30_000);
});
