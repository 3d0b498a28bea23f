/**
 * Errors say the right thing with the right exit code (issue 8, item 4): a flag given twice and
 * conflicting flags are usage errors; a path with nothing there is NOT_FOUND, not "not a ref"; a
 * file given as --store is NOT_A_FOLDER; numbers are checked as given; a store is made only where
 * its parent folder exists, said so, and never left behind by a command that fails; a NAME that
 * matches nothing is REF_NOT_FOUND. Tests assert exit codes and error codes, and message text only
 * where the message is the point (a missing ref names the versions and NAMEs that do exist).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, tempDir, useKeyPair, type KeyPair } from '../helpers/tree.js';
import { newStorePath, sealAndExport, sealTree, useStore, type Exported, type Sealed } from '../helpers/store.js';

const keys = useKeyPair();
const shared = useStore();
const TREE = { 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n' };

/** Exit 2 with error code USAGE in the --json error report. */
function expectUsage(r: { code: number; json: { error?: { code?: string } } }, what = ''): void {
  expect(r.code, what).toBe(2);
  expect(r.json.error?.code, what).toBe('USAGE');
}

/** True when something exists at `path`. */
async function exists(path: string): Promise<boolean> {
  return fsp.access(path).then(() => true, () => false);
}

let sealed: Sealed;
let other: KeyPair;
beforeAll(async () => {
  sealed = await sealTree(TREE, keys, { store: shared.path });
  other = await makeKeyPair('other');
});

describe('a flag that takes one value, given twice', () => {
  it('is not an error for --key, which is repeatable: each key signs (co-signing, issue 11)', async () => {
    const store = await newStorePath();
    const r = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--key', other.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const v = await snapJson(['verify', sealed.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--pubkey', other.pub, '--threshold', '2', '--store', store]);
    expect(v.code, v.stderr).toBe(0);
  });

  it.each([
    ['seal --as', (s: Sealed) => ['seal', s.data, '--as', 'x@v1', '--as', 'x@v2', '--key', keys.key, '--store', s.store]],
    ['seal --out', (s: Sealed) => ['seal', s.data, '--as', 'x@v1', '--key', keys.key, '--out', 'a.snap.tar', '--out', 'b.snap.tar']],
    ['seal --parent', (s: Sealed) => ['seal', s.data, '--as', 'x@v1', '--key', keys.key, '--store', s.store, '--parent', s.ref, '--parent', s.ref]],
    ['seal --jobs and -j', (s: Sealed) => ['seal', s.data, '--as', 'x@v1', '--key', keys.key, '--store', s.store, '--jobs', '1', '-j', '2']],
    ['verify --against', (s: Sealed) => ['verify', s.data, '--against', s.ref, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]],
    ['verify --threshold', (s: Sealed) => ['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--threshold', '1', '--threshold', '1', '--store', s.store]],
    ['list --store', (s: Sealed) => ['list', '--store', s.store, '--store', s.store]],
    ['export -o and --out', (s: Sealed) => ['export', s.ref, '-o', 'a.snap.tar', '--out', 'b.snap.tar', '--store', s.store]],
    ['keygen --out-dir', () => ['keygen', 'k', '--out-dir', '/tmp', '--out-dir', '/tmp']],
    ['attest --key (one signer)', (s: Sealed) => ['attest', join(s.data, 'a.txt'), '--data', s.ref, '--key', keys.key, '--key', other.key, '--store', s.store]],
  ])('is a usage error: %s', async (what, args) => {
    expectUsage(await snapJson(args(sealed)), what);
  });

  it('is fine for the repeatable flags --pubkey and --exclude', async () => {
    const v = await snapJson(['verify', sealed.data, '--against', sealed.ref, '--pubkey', other.pub, '--pubkey', keys.pub, '--store', sealed.store]);
    expect(v.code).toBe(0);
    const s = await snapJson(['seal', sealed.data, '--as', `${sealed.name}@ex`, '--key', keys.key, '--store', sealed.store, '--exclude', 'x', '--exclude', 'y']);
    expect(s.code).toBe(0);
  });
});

describe('a usage error of several lines', () => {
  it('keeps its line breaks as line breaks (each line escaped), not as a literal \\n', async () => {
    const r = await snap(['policy', 'frob', 'p.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('\\n');
    expect(r.stderr).toMatch(/Invalid values:\n {2}Argument: action, Given: "frob"/);
  });
});

describe('a value that is not one of the choices', () => {
  it('says first, on one line, which argument it was, what it may be and the nearest choice (a typed `policy sihn` said only yargs\' "Invalid values: Argument: action")', async () => {
    const r = await snapJson(['policy', 'sihn', 'p.json']);
    expectUsage(r);
    expect(r.json.error?.message).toMatch(/^ACTION "sihn" is not one of init, add-key, revoke-key, remove-key, rule, set, sign, show \(did you mean sign\?\)/);
    const f = await snapJson(['report', 'a', 'b', '--format', 'pdf', '-o', 'x.pdf']);
    expectUsage(f);
    expect(f.json.error?.message).toMatch(/^--format "pdf" is not one of html, markdown \(/);
    expect(f.json.error?.message).not.toContain('did you mean');
  });
});

describe('flags that conflict', () => {
  it.each([
    ['seal --parent REF --no-parent', (s: Sealed) => ['seal', s.data, '--as', `${s.name}@c1`, '--key', keys.key, '--store', s.store, '--parent', s.ref, '--no-parent']],
    ['seal --no-parent --parent REF', (s: Sealed) => ['seal', s.data, '--as', `${s.name}@c2`, '--key', keys.key, '--store', s.store, '--no-parent', '--parent', s.ref]],
    ['seal --out --manifest-only', (s: Sealed) => ['seal', s.data, '--as', 'x@v1', '--key', keys.key, '--out', 'x.snap.tar', '--manifest-only']],
    ['keygen --passphrase-env --passphrase-prompt', () => ['keygen', 'k', '--out-dir', '/nonexistent', '--passphrase-env', 'P', '--passphrase-prompt']],
    ['log NAME --verify', (s: Sealed) => ['log', s.name, '--verify', '--store', s.store]],
  ])('are a usage error: %s', async (what, args) => {
    expectUsage(await snapJson(args(sealed)), what);
  });

  it('names a positional as what it is, not as a flag: `log NAME --verify` said "--verify and --name", and log has no --name', async () => {
    for (const [args, says] of [
      [['log', sealed.name, '--verify', '--store', sealed.store], /--verify checks the whole log: it takes no NAME/],
      [['log', 'checkpoint', '--verify', '--key', keys.key, '--store', sealed.store], /log checkpoint takes no --verify/],
    ] as [string[], RegExp][]) {
      const r = await snapJson(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.message).toMatch(says);
      expect(r.json.error.message).not.toContain('--name');
    }
  });

  it('a value flag of sign or revoke given without its value is a usage error naming it (exit 2), nothing signed', async () => {
    for (const [args, flag] of [
      [['sign', sealed.ref, '--key', keys.key, '--passphrase-env', '--store', sealed.store], 'passphrase-env'],
      [['revoke', sealed.ref, '--reason', 'x', '--key', keys.key, '--out', '--store', sealed.store], 'out'],
      [['revoke', sealed.ref, '--reason', 'x', '--key', keys.key, '--passphrase-env', '--store', sealed.store], 'passphrase-env'],
    ] as [string[], string][]) {
      const r = await snapJson(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error, args.join(' ')).toMatchObject({ code: 'USAGE', message: expect.stringContaining(`Not enough arguments following: ${flag}`) });
    }
    await expect(fsp.readdir(join(sealed.store, 'revocations'))).rejects.toThrow();
  });

  it('--no-parent alone records no parent', async () => {
    const r = await snapJson(['seal', sealed.data, '--as', `${sealed.name}@np`, '--key', keys.key, '--store', sealed.store, '--no-parent']);
    expect(r.code).toBe(0);
    expect(r.json.parent).toBeUndefined();
  });
});

describe('a path with nothing there', () => {
  let x: Exported;
  beforeAll(async () => {
    x = await sealAndExport(TREE, keys, 'snap-errors-');
  });

  it.each([
    ['diff /nonexistent REF', () => ['diff', '/nonexistent', 'ds@v1', '--store', x.store]],
    ['diff REF ./nope', () => ['diff', 'ds@v1', './nope', '--store', x.store]],
    ['diff FOLDER gone.snap.tar', () => ['diff', x.data, 'gone.snap.tar']],
    ['verify gone.snap.tar', () => ['verify', 'gone.snap.tar', '--pubkey', keys.pub]],
    ['verify /nonexistent --against REF', () => ['verify', '/nonexistent/data', '--against', 'ds@v1', '--pubkey', keys.pub, '--store', x.store]],
    ['verify DIR --against gone.snap.tar', () => ['verify', x.data, '--against', 'gone.snap.tar', '--pubkey', keys.pub]],
    ['verify DIR --against ./no/snapshot', () => ['verify', x.data, '--against', './no/snapshot', '--pubkey', keys.pub]],
    ['restore gone.snap.tar DIR', () => ['restore', 'gone.snap.tar', 'er', '--pubkey', keys.pub]],
    ['restore ../gone DIR', () => ['restore', '../gone', 'er', '--pubkey', keys.pub, '--store', x.store]],
    ['show ./nope', () => ['show', './nope', '--store', x.store]],
    ['show gone.snap.tar', () => ['show', 'gone.snap.tar']],
    ['export ../nope', () => ['export', '../nope', '--store', x.store]],
    ['seal --parent ./nope', () => ['seal', x.data, '--as', 'ds@v9', '--key', keys.key, '--store', x.store, '--parent', './nope']],
    ['seal --out … --parent ./nope', () => ['seal', x.data, '--as', 'ds@v9', '--key', keys.key, '--out', 'n.snap.tar', '--parent', './nope']],
    ['import gone.snap.tar', () => ['import', 'gone.snap.tar', '--pubkey', keys.pub, '--store', x.store]],
  ])('is NOT_FOUND, exit 3, naming it: %s', async (what, args) => {
    const cwd = await tempDir();
    const r = await snapJson(args(), { cwd });
    expect(r.code, what).toBe(3);
    expect(r.json.error.code, what).toBe('NOT_FOUND');
    expect(r.json.error.details?.path, what).toBeTypeOf('string');
    expect(await fsp.readdir(cwd), what).toEqual([]); // nothing was made in the working folder
  });

  it('while a word that is no path and no ref is still a usage error (REF_MALFORMED)', async () => {
    const r = await snapJson(['diff', 'ds@v1', 'Not@A@Ref', '--store', x.store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('REF_MALFORMED');
  });
});

describe('--store naming a file', () => {
  it.each([
    ['list', (f: string) => ['list', '--store', f]],
    ['log', (f: string) => ['log', '--store', f]],
    ['fsck', (f: string) => ['fsck', '--store', f]],
    ['init', (f: string) => ['init', '--store', f]],
    ['show', (f: string) => ['show', 'ds@v1', '--store', f]],
    ['seal', (f: string) => ['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', f]],
  ])('is NOT_A_FOLDER, exit 3, and the file is left as it was: %s', async (what, args) => {
    const dir = await makeTree({ afile: 'not a store\n' });
    const file = join(dir, 'afile');
    const r = await snapJson(args(file));
    expect(r.code, what).toBe(3);
    expect(r.json.error.code, what).toBe('NOT_A_FOLDER');
    expect(await fsp.readFile(file, 'utf8')).toBe('not a store\n');
  });

  it('and a store path under a file is NOT_A_FOLDER too when a seal would make it', async () => {
    const dir = await makeTree({ afile: 'x' });
    const r = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', join(dir, 'afile', 'store')]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_A_FOLDER');
  });
});

describe('numeric flags', () => {
  it.each(['abc', '1.5', '-1', '0', '0x10', '1e3', '', '1001'])('--threshold %j is a usage error', async (given) => {
    expectUsage(await snapJson(['verify', sealed.data, '--against', sealed.ref, '--pubkey', keys.pub, '--threshold', given, '--store', sealed.store]));
  });

  it.each(['abc', '0', '257', '2.0', ' 2', '+2'])('--jobs %j is a usage error', async (given) => {
    expectUsage(await snapJson(['seal', sealed.data, '--as', `${sealed.name}@j`, '--key', keys.key, '--store', sealed.store, '--jobs', given]));
  });

  it('--jobs and --threshold with no value are usage errors', async () => {
    expectUsage(await snapJson(['fsck', '--store', sealed.store, '--jobs']));
    expectUsage(await snapJson(['import', 'x.snap.tar', '--pubkey', keys.pub, '--threshold']));
  });

  it('well-formed values pass: --jobs 2 --threshold 1 with two keys', async () => {
    const v = await snapJson(['verify', sealed.data, '--against', sealed.ref, '--pubkey', keys.pub, '--pubkey', other.pub, '--threshold', '1', '--jobs', '2', '--store', sealed.store]);
    expect(v.code).toBe(0);
  });
});

describe('making a store', () => {
  it('seal makes one where its parent folder exists, says so on stderr and in --json', async () => {
    const store = await newStorePath();
    const r = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.storeCreated).toBe(true);
    expect(r.stderr).toContain(store);
    const again = await snapJson(['seal', sealed.data, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(again.code).toBe(0);
    expect(again.json.storeCreated).toBe(false);
    expect(again.stderr).toBe('');
  });

  it('seal announces a new store even with --quiet', async () => {
    const store = await newStorePath();
    const r = await snap(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(store);
  });

  it('seal makes none where the parent folder is missing (a mistyped --store): NOT_FOUND, nothing made', async () => {
    const root = await tempDir();
    const store = join(root, 'nonexistent', 'deeper', 'store');
    const r = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
    expect(await fsp.readdir(root)).toEqual([]);
  });

  it('a seal that fails after making the store leaves no store behind', async () => {
    const root = await tempDir();
    const empty = await makeTree({ 'only-a-folder/.keep-nothing': '' });
    await fsp.rm(join(empty, 'only-a-folder', '.keep-nothing'));
    const cases: [string[], string][] = [
      [['seal', empty, '--as', 'ds@v1', '--key', keys.key], 'DATASET_EMPTY'],
      [['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--parent', 'ds@v0'], 'REF_NOT_FOUND'],
      [['seal', join(root, 'no-such-data'), '--as', 'ds@v1', '--key', keys.key], 'NOT_FOUND'],
    ];
    for (const [args, code] of cases) {
      const r = await snapJson([...args, '--store', join(root, 'store')]);
      expect(r.code, code).toBe(3);
      expect(r.json.error.code).toBe(code);
      expect(await fsp.readdir(root), code).toEqual([]);
    }
  });

  it('a failed seal into an empty folder leaves the folder, still empty', async () => {
    const root = await tempDir();
    const store = join(root, 'store');
    await fsp.mkdir(store);
    const r = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--parent', 'ds@v0', '--store', store]);
    expect(r.code).toBe(3);
    expect(await fsp.readdir(store)).toEqual([]);
  });

  it('a refused import makes no store; an accepted one makes it and says so', async () => {
    const x = await sealAndExport(TREE, keys, 'snap-errors-import-');
    const store = join(await tempDir(), 'store');
    const refused = await snapJson(['import', x.file, '--pubkey', other.pub, '--store', store]);
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe('SIGNATURE_INVALID');
    expect(await exists(store)).toBe(false);
    const missing = await snapJson(['import', join(x.work, 'nope.snap.tar'), '--pubkey', keys.pub, '--store', store]);
    expect(missing.code).toBe(3);
    expect(await exists(store)).toBe(false);
    const ok = await snapJson(['import', x.file, '--pubkey', keys.pub, '--store', store]);
    expect(ok.code).toBe(0);
    expect(ok.json.storeCreated).toBe(true);
    expect(ok.stderr).toContain(store);
  });

  it('snap init makes a store with its parent folders, once; then seal uses it', async () => {
    const root = await tempDir();
    const store = join(root, 'a', 'b', 'store');
    const r = await snapJson(['init', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.storeCreated).toBe(true);
    expect(JSON.parse(await fsp.readFile(join(store, 'store.json'), 'utf8'))).toEqual({ format: 'snap-store/1' });
    const again = await snapJson(['init', '--store', store]);
    expect(again.code).toBe(0);
    expect(again.json.storeCreated).toBe(false);
    const s = await snapJson(['seal', sealed.data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
    expect(s.code).toBe(0);
    expect(s.json.storeCreated).toBe(false);
  });

  it('snap init uses $SNAP_STORE, and refuses a folder that holds other things (STORE_MALFORMED)', async () => {
    const root = await tempDir();
    const viaEnv = await snapJson(['init'], { env: { SNAP_STORE: join(root, 'env-store') } });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.json.store).toBe(join(root, 'env-store'));
    const busy = await makeTree({ 'notes.txt': 'mine\n' });
    const r = await snapJson(['init', '--store', busy]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('STORE_MALFORMED');
    expect(await fsp.readdir(busy)).toEqual(['notes.txt']);
  });

  it('read-only commands never make a store', async () => {
    const store = await newStorePath();
    for (const args of [['list'], ['log'], ['fsck'], ['show', 'ds@v1'], ['verify', sealed.data, '--against', 'ds@v1', '--pubkey', keys.pub]]) {
      const r = await snapJson([...args, '--store', store]);
      expect(r.code, args[0]).toBe(3);
      expect(await exists(store), args[0]).toBe(false);
    }
  });
});

describe('verify before anything was sealed (no store where it looks)', () => {
  it('says to point --store or $SNAP_STORE at the store the snapshot was sealed into, or to seal first; an empty store made by init would not help', async () => {
    const store = await newStorePath();
    const r = await snapJson(['verify', sealed.data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
    expect(r.json.error.message).toContain(`no snap store at ${store}`);
    expect(r.json.error.message).toContain('give --store PATH (or set $SNAP_STORE) to the store the snapshots were sealed into');
    expect(r.json.error.message).toContain('or seal a dataset first: snap seal DIR --as NAME@VERSION --key KEY makes the store');
    expect(r.json.error.message).not.toMatch(/^no snap store at \S+; make one with "snap init/);
  });
});

describe('verify with the wrong --pubkey (another key than the one that sealed)', () => {
  it('names the key the envelope says signed and the key given, and says to give the .pub made beside the signing .key', async () => {
    const r = await snapJson(['verify', sealed.data, '--against', sealed.ref, '--pubkey', other.pub, '--store', sealed.store]);
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(r.json.failure.message).toBe(
      `no signature verifies under a trusted key: the envelope names key ${keys.keyid.slice(0, 16)}, and --pubkey gave key ${other.keyid.slice(0, 16)} (the wrong --pubkey? give the .pub keygen wrote beside the .key that signed)`,
    );
  });

  it('while a signature naming the given key that does not verify is said to be altered, not a wrong key', async () => {
    const s = await sealTree(TREE, keys, { store: await newStorePath() });
    const envPath = join(s.dir, 'envelope.json');
    const env = JSON.parse(await fsp.readFile(envPath, 'utf8'));
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    sig[0] = (sig[0] as number) ^ 1;
    env.signatures[0].sig = sig.toString('base64');
    await fsp.writeFile(envPath, JSON.stringify(env));
    const r = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.failure.message).toBe(`no signature verifies under a trusted key: the signature naming key ${keys.keyid.slice(0, 16)} does not verify under it (the statement or its envelope was altered)`);
  });
});

describe('an empty -o (an unset variable: -o "$GITHUB_STEP_SUMMARY" outside GitHub Actions)', () => {
  it('is a usage error naming the flag, exit 2, nothing written, for every command that takes -o/--out', async () => {
    const cwd = await tempDir('snap-empty-out-');
    const cases = [
      ['report', sealed.ref, sealed.data, '--pubkey', keys.pub, '--format', 'markdown', '-o', ''],
      ['bom', sealed.ref, '-o', ''],
      ['prove', sealed.ref, 'a.txt', '-o', ''],
      ['export', sealed.ref, '-o', ''],
      ['revoke', sealed.ref, '--reason', 'x', '--key', keys.key, '--out', ''],
    ];
    for (const args of cases) {
      const r = await snapJson([...args, '--store', sealed.store], { cwd });
      expect(r.code, args[0]).toBe(2);
      expect(r.json.error.code, args[0]).toBe('USAGE');
      expect(r.json.error.message, args[0]).toBe('-o/--out was given an empty value (an unset variable, such as $GITHUB_STEP_SUMMARY outside GitHub Actions?): give the file to write');
    }
    expect(await fsp.readdir(cwd)).toEqual([]);
  });
});

describe('an empty --state-dir or --store (an unset variable: --state-dir "$STATE" where STATE is not set)', () => {
  it('is a usage error naming the flag, exit 2: the trusted state was kept in the working folder, and the working folder was taken for the store', async () => {
    const cwd = await tempDir('snap-empty-dir-');
    const cases: [string, string[]][] = [
      ['state-dir', ['verify', sealed.data, '--against', sealed.ref, '--pubkey', keys.pub, '--store', sealed.store, '--state-dir', '']],
      ['state-dir', ['impact', sealed.ref, '--store', sealed.store, '--state-dir', '']],
      ['store', ['list', '--store', '']],
      ['store', ['init', '--store', '']],
    ];
    for (const [flag, args] of cases) {
      const r = await snapJson(args, { cwd });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.code, args[0]).toBe('USAGE');
      expect(r.json.error.message, args[0]).toBe(`--${flag} was given an empty value (an unset variable?): give the folder, or leave the flag out for its default`);
    }
    expect(await fsp.readdir(cwd)).toEqual([]);
  });
});

describe('an empty SNAP_STORE (a variable exported empty: SNAP_STORE="$STORE" where STORE is not set)', () => {
  it('counts as unset, as an empty SNAP_STATE_DIR does: init makes ./.snap and list reads it, where both took the working folder for the store', async () => {
    const cwd = await tempDir('snap-empty-store-env-');
    const init = await snapJson(['init'], { cwd, env: { SNAP_STORE: '' } });
    expect(init.code, init.stderr).toBe(0);
    expect(init.json.store).toBe(join(cwd, '.snap'));
    expect(await fsp.readdir(cwd)).toEqual(['.snap']);
    const list = await snapJson(['list'], { cwd, env: { SNAP_STORE: '' } });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.store).toBe(join(cwd, '.snap'));
  });
});

describe('a NAME that matches nothing', () => {
  it('is REF_NOT_FOUND, exit 3, for list and log', async () => {
    for (const cmd of ['list', 'log']) {
      const r = await snapJson([cmd, 'nosuch', '--store', sealed.store]);
      expect(r.code, cmd).toBe(3);
      expect(r.json.error.code, cmd).toBe('REF_NOT_FOUND');
    }
  });

  it('names the versions NAME has when VERSION is not one of them (verify, show, diff), and NAME@latest the nearest NAME when none has it', async () => {
    const store = await newStorePath();
    await sealTree(TREE, keys, { store, as: 'sentiment@v1' });
    await sealTree(TREE, keys, { store, as: 'sentiment@v2', extra: ['--parent', 'sentiment@v1'] });
    const cases: [string[], string][] = [
      [['verify', sealed.data, '--against', 'sentiment@v3', '--pubkey', keys.pub], 'no snapshot sentiment@v3 in '],
      [['show', 'sentiment@v3'], 'no snapshot sentiment@v3 in '],
      [['diff', 'sentiment@v1', 'sentiment@v9'], 'no snapshot sentiment@v9 in '],
    ];
    for (const [args, head] of cases) {
      const r = await snapJson([...args, '--store', store]);
      expect(r.code, args[0]).toBe(3);
      expect(r.json.error.code, args[0]).toBe('REF_NOT_FOUND');
      expect(r.json.error.message, args[0]).toContain(head);
      expect(r.json.error.message, args[0]).toMatch(/; sentiment has 2 versions: v1, v2 \(see "snap list sentiment"\)$/);
    }
    const typo = await snapJson(['show', 'sentimnet@v1', '--store', store]);
    expect(typo.json.error.message).toMatch(/; no snapshot is named sentimnet: did you mean sentiment\? \(see "snap list"\)$/);
    const latest = await snapJson(['verify', sealed.data, '--against', 'sentimnet@latest', '--pubkey', keys.pub, '--store', store]);
    expect(latest.code).toBe(3);
    expect(latest.json.error.message).toMatch(/^no snapshot of sentimnet in .*; no snapshot is named sentimnet: did you mean sentiment\?/);
    // NAME@latest is verify --against's alone: elsewhere it is a VERSION like any other, and the message says so.
    for (const args of [['show', 'sentiment@latest'], ['diff', 'sentiment@latest', 'sentiment@v1'], ['restore', 'sentiment@latest', join(store, '..', 'r'), '--pubkey', keys.pub]]) {
      const r = await snapJson([...args, '--store', store]);
      expect(r.code, args[0]).toBe(3);
      expect(r.json.error.code, args[0]).toBe('REF_NOT_FOUND');
      expect(r.json.error.message, args[0]).toMatch(/^no snapshot sentiment@latest in .*; sentiment has 2 versions: v1, v2 \(see "snap list sentiment"\); NAME@latest \(the newest trusted snapshot\) is taken only by verify --against: give a VERSION here$/);
    }
    const far = await snapJson(['show', 'fraud@v1', '--store', store]);
    // A NAME this store never had is most often one sealed into another store, or not sealed yet (verify before seal): the message says what to do for each.
    expect(far.json.error.message).toMatch(/; no snapshot is named fraud \(see "snap list"; sealed into another store\? give --store PATH or set \$SNAP_STORE; not sealed yet\? snap seal DIR --as fraud@v1 --key KEY\)$/);
    const unsealed = await snapJson(['show', 'fraud@latest', '--store', store]);
    expect(unsealed.json.error.message).toContain('not sealed yet? snap seal DIR --as fraud@VERSION --key KEY)');
    const empty = await newStorePath();
    expect((await snapJson(['init', '--store', empty])).code).toBe(0);
    const none = await snapJson(['show', 'sentiment@v1', '--store', empty]);
    expect(none.json.error.message).toMatch(/; the store holds no snapshot at all \(a wrong --store or \$SNAP_STORE\?\)$/);
  });

  it('while a NAME with snapshots lists them, exit 0', async () => {
    expect((await snapJson(['list', sealed.name, '--store', sealed.store])).code).toBe(0);
    expect((await snapJson(['log', sealed.name, '--store', sealed.store])).code).toBe(0);
  });
});

describe('diff under --pubkey', () => {
  it('exits 1 when a side is untrusted, even when the contents are identical', async () => {
    const r = await snapJson(['diff', sealed.ref, sealed.data, '--pubkey', other.pub, '--store', sealed.store]);
    expect(r.code).toBe(1);
    expect(r.json.a.trusted).toBe(false);
    expect(r.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, renamed: 0 });
    const human = await snap(['diff', sealed.ref, sealed.data, '--pubkey', other.pub, '--store', sealed.store]);
    expect(human.code).toBe(1);
  });

  it('exits 0 when every snapshot side is trusted and nothing changed', async () => {
    expect((await snapJson(['diff', sealed.ref, sealed.data, '--pubkey', keys.pub, '--store', sealed.store])).code).toBe(0);
  });
});
