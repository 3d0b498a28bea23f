/**
 * PlacedObjects (io/placed-objects.ts): what a failed seal takes out of `objects/` — the objects it
 * wrote down as moved there, and no other: not one still pending when the commit was cut short,
 * not one the store held before, not a link in an object's place, nothing once the snapshot is in place.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlacedObjects } from '../../src/io/placed-objects.js';
import { openStore, objectPath, type Store } from '../../src/io/store.js';
import { REPO, tempDir } from '../helpers/tree.js';

const hex = (c: string) => c.repeat(64);

/** A new store with `objects` (digests) in place, and a folder for the seal's list. */
async function storeWith(objects: string[]): Promise<{ store: Store; work: string }> {
  const store = await openStore(join(await tempDir('snap-placed-'), 'store'), { create: true });
  for (const h of objects) {
    mkdirSync(join(store.objectsDir, h.slice(0, 2)), { recursive: true });
    writeFileSync(objectPath(store, h), h);
  }
  const work = await tempDir('snap-placed-work-');
  return { store, work };
}

describe('the objects a seal moved into its store', () => {
  it('are removed when it fails, and the objects it did not move stay', async () => {
    const { store, work } = await storeWith([hex('a'), hex('b'), hex('c')]);
    const placed = new PlacedObjects(store, join(work, 'list'), () => false);
    placed.add([hex('a'), hex('b')]);
    expect(placed.removeSync()).toBe(2);
    expect(existsSync(objectPath(store, hex('a')))).toBe(false);
    expect(existsSync(objectPath(store, hex('b')))).toBe(false);
    expect(existsSync(objectPath(store, hex('c')))).toBe(true);
    expect(placed.removeSync()).toBe(0); // once
  });

  it('are not removed while still pending in a folder whose commit was cut short, and are once that commit ended', async () => {
    const { store, work } = await storeWith([hex('d'), hex('e')]);
    const pending = join(work, 'pending-0');
    mkdirSync(pending);
    writeFileSync(join(pending, hex('d')), 'd'); // not moved yet: what is under its name is not the seal's
    writeFileSync(join(pending, hex('e')), 'e');
    const cut = new PlacedObjects(store, join(work, 'cut'), () => false);
    cut.staging([pending, join(work, 'pending-1')]);
    expect(readdirSync(pending)).toHaveLength(2);
    expect(cut.removeSync()).toBe(0);
    expect(existsSync(objectPath(store, hex('d')))).toBe(true);

    const whole = new PlacedObjects(store, join(work, 'whole'), () => false);
    whole.staging([pending]);
    whole.committed();
    expect(whole.removeSync()).toBe(2);
  });

  it('are kept once the snapshot is committed, and a link in an object\'s place is left alone', async () => {
    const { store, work } = await storeWith([hex('f')]);
    let committed = true;
    const kept = new PlacedObjects(store, join(work, 'kept'), () => committed);
    kept.add([hex('f')]);
    expect(kept.removeSync()).toBe(0);
    expect(existsSync(objectPath(store, hex('f')))).toBe(true);

    committed = false;
    const after = new PlacedObjects(store, join(work, 'after'), () => false);
    after.add([hex('f')]);
    after.keep();
    expect(after.removeSync()).toBe(0);
    expect(existsSync(objectPath(store, hex('f')))).toBe(true);

    mkdirSync(join(store.objectsDir, '99'), { recursive: true });
    symlinkSync(join(work, 'elsewhere'), objectPath(store, hex('9')));
    const link = new PlacedObjects(store, join(work, 'link'), () => false);
    link.add([hex('9')]);
    expect(link.removeSync()).toBe(0);
  });

  it('are read back from the list the seal wrote, not from whatever is at its path when the seal fails: a list put in its place names nothing that is removed', async () => {
    const { store, work } = await storeWith([hex('1'), hex('2')]);
    const dir = join(work, 'placed-x');
    mkdirSync(dir);
    const placed = new PlacedObjects(store, join(dir, 'placed-objects'), () => false);
    placed.add([hex('1')]);
    // Someone who can write STORE/tmp moves the seal's folder away and puts one of theirs in its
    // place, whose list names an object another snapshot needs (hex 2), in a fan-out folder they
    // may not write themselves.
    renameSync(dir, join(work, 'moved'));
    mkdirSync(dir);
    writeFileSync(join(dir, 'placed-objects'), `${hex('2')}\n`);
    expect(placed.removeSync()).toBe(1);
    expect(existsSync(objectPath(store, hex('1')))).toBe(false);
    expect(existsSync(objectPath(store, hex('2')))).toBe(true);
  });

  it('are never removed through a fan-out folder that became a symbolic link: the file behind it, outside the store, stays', async () => {
    const { store, work } = await storeWith([hex('3')]);
    const placed = new PlacedObjects(store, join(work, 'list'), () => false);
    placed.add([hex('3')]);
    // The fan-out folder is swapped for a link to a folder outside the store holding a file of that name.
    const outside = join(work, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, hex('3').slice(2)), 'not an object of the store');
    rmSync(join(store.objectsDir, '33'), { recursive: true });
    symlinkSync(outside, join(store.objectsDir, '33'));
    expect(placed.removeSync()).toBe(0);
    expect(existsSync(join(outside, hex('3').slice(2)))).toBe(true);
  });

  it('are kept when they were moved in over something else under their name (mended), even if the seal fails', async () => {
    const { store, work } = await storeWith([hex('4'), hex('5')]);
    const placed = new PlacedObjects(store, join(work, 'list'), () => false);
    placed.add([hex('4'), hex('5')]);
    placed.mended([hex('5')]);
    expect(placed.removeSync()).toBe(1);
    expect(existsSync(objectPath(store, hex('4')))).toBe(false);
    expect(existsSync(objectPath(store, hex('5')))).toBe(true);
  });

  it('are written down a batch at a time: a pending folder of 60,000 names is listed in a heap of 10 MiB (dist/, in a child process)', async () => {
    const { store, work } = await storeWith([]);
    const pending = join(work, 'pending-0');
    mkdirSync(pending);
    for (let i = 0; i < 60_000; i++) closeSync(openSync(join(pending, createHash('sha256').update(String(i)).digest('hex')), 'w'));
    const list = join(work, 'list');
    const script = `
      const { PlacedObjects } = await import(${JSON.stringify(join(REPO, 'dist', 'io', 'placed-objects.js'))});
      const { openStore } = await import(${JSON.stringify(join(REPO, 'dist', 'io', 'store.js'))});
      const placed = new PlacedObjects(await openStore(${JSON.stringify(store.root)}), ${JSON.stringify(list)}, () => false);
      placed.staging([${JSON.stringify(pending)}]);
      placed.keep();`;
    // Before, the folder's names were read at once, filtered, joined: the child ran out of heap (signal 6).
    const r = spawnSync(process.execPath, ['--max-old-space-size=10', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr.slice(-400)).toBe(0);
    const written = readFileSync(list, 'latin1').split('\n').filter(Boolean);
    expect(written).toHaveLength(60_000);
    expect(new Set(written).size).toBe(60_000);
  }, 60_000);
});
