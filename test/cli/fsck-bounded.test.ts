/**
 * `snap fsck` in bounded memory: on a small store with a few problems of each kind, its output —
 * human and `--json`, plain, `--clean` and `--repair-from` — is byte for byte what it was before
 * its lists were bounded (test/fixtures/fsck-small/, written by the fsck of commit 94e2c30, the store
 * path, snapshot ids and seconds put in as placeholders); over many planted objects it runs in a
 * small heap, streams `--json` with `ok` last, and keeps it one document when stopped.
 */
import { closeSync, mkdirSync, openSync, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, makeTree, snap, snapBin, snapJson, spawnSnap, useKeyPair } from '../helpers/tree.js';
import { newStorePath, sha256, snapshotFolder, tamper } from '../helpers/store.js';

const keys = useKeyPair('fsck-bounded');

const FIXTURES = join(REPO, 'test', 'fixtures', 'fsck-small');

const TREE = { 'a.txt': 'alpha\n', 'b/b.txt': 'beta\n', 'b/c/d.bin': Buffer.from([0, 1, 2, 3, 255]), 'e.txt': 'echo\n' };

/** The object file of `hex` in `store`. */
const objectAt = (store: string, hex: string): string => join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));

/** Corrupt objects no snapshot names planted in the small store: more than the human report shows (20). */
const PLANTED_CORRUPT = 25;

/**
 * A store with a few problems of each kind: ds@v1 (a.txt's object corrupt, b.txt's a folder, d.bin's
 * gone), ds@v2 (its manifest rewritten), PLANTED_CORRUPT empty objects no snapshot names and one
 * folder in an object's place, strays in objects/ and snapshots/, a file left in tmp/.
 * @returns the store, the snapshot ids (v1, v2) and the data folder
 */
async function damagedStore(): Promise<{ store: string; ids: string[]; data: string }> {
  const store = await newStorePath();
  const data = await makeTree(TREE);
  const ids: string[] = [];
  for (const v of ['v1', 'v2']) {
    const r = await snapJson(['seal', data, '--as', `ds@${v}`, '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    ids.push(r.json.snapshot);
  }
  await fsp.chmod(objectAt(store, sha256('alpha\n')), 0o644);
  await fsp.writeFile(objectAt(store, sha256('alpha\n')), 'alphA\n');
  await fsp.rm(objectAt(store, sha256('beta\n')));
  await fsp.mkdir(objectAt(store, sha256('beta\n')));
  await fsp.rm(objectAt(store, sha256(Buffer.from([0, 1, 2, 3, 255]))));
  await tamper(join(snapshotFolder(store, 'ds', 'v2'), 'manifest.jsonl'), (t) => t.replace('"size":6', '"size":7'));
  for (let i = 0; i < PLANTED_CORRUPT; i++) {
    const h = sha256(`junk${i}`);
    mkdirSync(join(store, 'objects', 'sha256', h.slice(0, 2)), { recursive: true });
    closeSync(openSync(objectAt(store, h), 'w', 0o444));
  }
  const dirJunk = sha256('dir-junk');
  mkdirSync(objectAt(store, dirJunk), { recursive: true });
  await fsp.writeFile(join(store, 'objects', 'sha256', 'not-a-fan'), 'x');
  await fsp.writeFile(join(store, 'objects', 'other.txt'), 'x');
  await fsp.writeFile(join(store, 'objects', 'sha256', sha256('alpha\n').slice(0, 2), 'not-an-object'), 'x');
  await fsp.writeFile(join(snapshotFolder(store, 'ds', 'v1'), 'notes.txt'), 'x');
  await fsp.mkdir(join(store, 'snapshots', 'BAD NAME'));
  await fsp.mkdir(join(store, 'tmp'), { recursive: true });
  await fsp.writeFile(join(store, 'tmp', 'seal-left'), 'left by a killed seal');
  return { store, ids, data };
}

/** `text` with the run-dependent parts put as placeholders: the store path, snapshot ids (whole and short) and the seconds. */
function normalized(text: string, store: string, ids: string[], source?: string): string {
  let out = text.split(store).join('<STORE>');
  if (source) out = out.split(source).join('<SOURCE>');
  ids.forEach((id, i) => {
    out = out.split(id).join(`<ID${i + 1}>`).split(`sha256:${id.slice(7, 19)}`).join(`<SHORT${i + 1}>`);
  });
  return out.replace(/"seconds": [0-9.e-]+/g, '"seconds": 0');
}

/** The fixture `name`. */
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

describe('snap fsck on a small store with a few problems of each kind', () => {
  it('prints the same --json document and human report, byte for byte, as before its lists were bounded', async () => {
    const { store, ids } = await damagedStore();
    const json = await snap(['fsck', '--json', '--store', store]);
    expect(json.code, json.stderr).toBe(1);
    expect(normalized(json.stdout, store, ids)).toBe(fixture('fsck.json'));
    const human = await snap(['fsck', '--store', store]);
    expect(human.code, human.stderr).toBe(1);
    expect(normalized(human.stdout, store, ids)).toBe(fixture('fsck.txt'));
  });

  it('prints the same documents with --clean, byte for byte', async () => {
    const { store, ids } = await damagedStore();
    const json = await snap(['fsck', '--clean', '--json', '--store', store]);
    expect(json.code, json.stderr).toBe(1);
    expect(normalized(json.stdout, store, ids)).toBe(fixture('fsck-clean.json'));
  });

  it('prints the same documents with --repair-from another store, byte for byte (human and --json)', async () => {
    for (const [mode, file] of [['--json', 'fsck-repair.json'], ['', 'fsck-repair.txt']] as const) {
      const { store, ids, data } = await damagedStore();
      const source = await newStorePath();
      expect((await snap(['seal', data, '--as', 'good@v1', '--key', keys.key, '--store', source])).code).toBe(0);
      const r = await snap(['fsck', '--repair-from', source, '--store', store, ...(mode ? [mode] : [])]);
      expect(r.code, r.stderr).toBe(1);
      expect(normalized(r.stdout, store, ids, source)).toBe(fixture(file));
    }
  });
});
