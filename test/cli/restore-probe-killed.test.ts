/**
 * A restore killed outright (SIGKILL) while it probes its target — how the file system folds names,
 * whether it holds links, which names it holds (src/io/name-folding.ts, symlink-probe.ts,
 * name-probe.ts) — leaves its probe entry there (`.snap-probe.…`): no handler runs to remove it.
 * The next restore into that target removes what such a killed restore left and restores; it
 * refused the folder as not empty (TARGET_NOT_EMPTY) over a hidden file the user never made.
 * A probe entry of a restore still running is left alone, and the folder refused as before.
 *
 * Each probe is held (SNAP_TEST_HOLD_PROBE, src/io/name-probe.ts) once its entry is made, and the
 * process is killed with SIGKILL while it waits there.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapJson, spawnSnap, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';

const keys = useKeyPair('probe-killed');

/** A file, a name outside ASCII (probed by name) and a symbolic link (the target is probed for links). */
const SPEC = { 'a.txt': 'a\n', 'caf\u00e9.txt': 'cafe\n', 'latest': { symlink: 'a.txt' } };
const NAMES = ['a.txt', 'caf\u00e9.txt', 'latest'];

/** The `.snap-probe.` entries of `dir` (none when it is absent). */
async function probeEntries(dir: string): Promise<string[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith('.snap-probe.'));
}

/**
 * The suffix of the entry each held probe makes first: the folding probe's `a` file, the link, the
 * folder of names. The probes run in this order (folding, link, names), each removing its entries
 * before the next starts, so an entry of an earlier probe may be seen for a moment on the way.
 */
const HELD_ENTRY: Readonly<Record<string, string>> = { folding: '.a', link: '.link', names: '.names' };

/**
 * Wait until `dir` holds the entry of probe `which` (that probe is then held, and the earlier
 * probes' entries are gone), or fail after 20 s; returns the probe entries there then.
 */
async function untilProbed(dir: string, which: string): Promise<string[]> {
  const suffix = HELD_ENTRY[which] as string;
  for (const stop = Date.now() + 20_000; Date.now() < stop; ) {
    const found = await probeEntries(dir);
    if (found.some((n) => n.endsWith(suffix))) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${which} probe entry appeared in ${dir}`);
}

/** Start restoring `ref` into `out`, held in probe `which`, and return once the probe entry is there. */
async function heldInProbe(s: { ref: string; store: string }, out: string, which: string) {
  const run = spawnSnap(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store, '--quiet'], { env: { SNAP_TEST_HOLD_PROBE: which }, timeoutMs: 60_000 });
  const left = await untilProbed(out, which);
  return { ...run, left };
}

describe('restore into a target where a restore was killed (SIGKILL) while probing it', () => {
  it.each([
    ['folding', 'a folder restore made'],
    ['names', 'a folder restore made'],
    ['link', 'an existing empty folder'],
  ])('in the %s probe (%s): the next restore removes the probe entries it left and restores, verified, with nothing else in the folder', async (which, where) => {
    const s = await sealTree(SPEC, keys);
    const out = join(await tempDir('snap-probe-killed-'), 'out');
    if (where === 'an existing empty folder') await fsp.mkdir(out);
    const { child, done, left } = await heldInProbe(s, out, which);
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // What the kill left: the probe entry, and nothing of the snapshot.
    expect(await probeEntries(out)).toEqual(left);
    expect((await fsp.readdir(out)).filter((n) => !n.startsWith('.snap-probe.'))).toEqual([]);

    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify.ok).toBe(true);
    expect((await fsp.readdir(out)).sort()).toEqual(NAMES);
  });

  it('leaves the probe entry of a restore still running, and refuses the folder as not empty (TARGET_NOT_EMPTY, exit 3), saying another restore may be at work in it', async () => {
    const s = await sealTree(SPEC, keys);
    const out = join(await tempDir('snap-probe-killed-'), 'out');
    const { child, done, left } = await heldInProbe(s, out, 'names');
    try {
      const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.json.error.code).toBe('TARGET_NOT_EMPTY');
      expect(r.json.error.message).toContain('the probe files of a restore that may still be running (.snap-probe.*');
      expect(await probeEntries(out)).toEqual(left);
    } finally {
      child.kill('SIGKILL');
      await done;
    }
  });

  it('removes nothing that is not the shape a probe leaves: a non-empty file under a probe\'s name is refused as any file is (TARGET_NOT_EMPTY), and kept', async () => {
    const s = await sealTree(SPEC, keys);
    const out = join(await tempDir('snap-probe-killed-'), 'out');
    const { child, done, left } = await heldInProbe(s, out, 'folding');
    child.kill('SIGKILL');
    await done;
    const probe = join(out, left[0] as string);
    await fsp.writeFile(probe, 'not a probe\n');
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NOT_EMPTY');
    expect(await fsp.readFile(probe, 'utf8')).toBe('not a probe\n');
  });

  it('removes nothing from a folder that holds anything else: entries named and shaped as a dead probe\'s, beside a file of the user\'s, are kept, and the folder refused (TARGET_NOT_EMPTY, exit 3)', async () => {
    const s = await sealTree(SPEC, keys);
    const out = await tempDir('snap-probe-killed-');
    // An empty file and a link under probe names, untouched for two hours (as a dataset restored there may hold), and a file of the user's.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await fsp.writeFile(join(out, '.snap-probe.0123456789ab.a'), '');
    await fsp.symlink('data.csv', join(out, '.snap-probe.0123456789ab.link'));
    for (const n of ['.snap-probe.0123456789ab.a', '.snap-probe.0123456789ab.link']) await fsp.lutimes(join(out, n), twoHoursAgo, twoHoursAgo);
    await fsp.writeFile(join(out, 'data.csv'), 'keep\n');
    const before = (await fsp.readdir(out)).sort();
    const r = await snapJson(['restore', s.ref, out, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('TARGET_NOT_EMPTY');
    expect(r.json.error.message).toContain('(3 entries)');
    expect((await fsp.readdir(out)).sort()).toEqual(before);
  });
});
