/**
 * `snap keygen`, `--help`, and usage errors (SPEC §8: exit 2 for an unknown command or flag and a
 * malformed ref; exit 3 for a key file that exists).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree } from '../helpers/store.js';

const keys = useKeyPair();

describe('snap keygen', () => {
  it('prints a 64-hex keyid and writes NAME.key with mode 0600 and NAME.pub', async () => {
    const dir = await tempDir();
    const r = await snap(['keygen', 'alice', '--out-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const key = await fsp.stat(join(dir, 'alice.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(await fsp.readFile(join(dir, 'alice.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(await fsp.readFile(join(dir, 'alice.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('writes into the working folder when no --out-dir is given', async () => {
    const dir = await tempDir();
    const r = await snap(['keygen', 'bob'], { cwd: dir });
    expect(r.code).toBe(0);
    expect((await fsp.readdir(dir)).sort()).toEqual(['bob.key', 'bob.pub']);
  });

  it('gives each new key pair a different keyid', async () => {
    const dir = await tempDir();
    const a = await snap(['keygen', 'a', '--out-dir', dir]);
    const b = await snap(['keygen', 'b', '--out-dir', dir]);
    expect(a.stdout.trim()).not.toBe(b.stdout.trim());
  });

  it('refuses to overwrite an existing key: exit 3, FILE_EXISTS, both files unchanged', async () => {
    const dir = await tempDir();
    expect((await snap(['keygen', 'ci', '--out-dir', dir])).code).toBe(0);
    const keyBefore = await fsp.readFile(join(dir, 'ci.key'));
    const pubBefore = await fsp.readFile(join(dir, 'ci.pub'));
    const r = await snapJson(['keygen', 'ci', '--out-dir', dir]);
    expect(r.code).toBe(3);
    expect(r.json.ok).toBe(false);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(join(dir, 'ci.key'))).toEqual(keyBefore);
    expect(await fsp.readFile(join(dir, 'ci.pub'))).toEqual(pubBefore);
  });

  it('refuses to overwrite when only NAME.pub exists, and leaves it unchanged', async () => {
    const dir = await makeTree({ 'ci.pub': 'not mine to replace\n' });
    const r = await snapJson(['keygen', 'ci', '--out-dir', dir]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(join(dir, 'ci.pub'), 'utf8')).toBe('not mine to replace\n');
  });

  it('answers a NAME that is a path (keys/ci) with the --out-dir form, writing nothing (USAGE, exit 2)', async () => {
    const dir = await tempDir();
    const r = await snapJson(['keygen', 'keys/ci'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    expect(r.json.error.message).toMatch(/^"keys\/ci" is not a valid key name: .*; to write it into a folder: snap keygen ci --out-dir keys$/);
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('refuses a NAME that is no key name before asking for a passphrase (USAGE, exit 2): --passphrase-prompt asked twice, then refused the name', async () => {
    const dir = await tempDir();
    const r = await snapJson(['keygen', 'keys/ci', '--passphrase-prompt'], { cwd: dir });
    expect([r.code, r.json.error?.code]).toEqual([2, 'USAGE']);
    expect(r.json.error.message).toMatch(/^"keys\/ci" is not a valid key name: .*; to write it into a folder: snap keygen ci --out-dir keys$/);
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('answers a NAME ending in .key or .pub with the base name, writing nothing (USAGE, exit 2): ci.key would become ci.key.key', async () => {
    const dir = await tempDir();
    for (const name of ['ci.key', 'ci.pub']) {
      const r = await snapJson(['keygen', name], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
      expect(r.json.error.message).toBe(`NAME is the base name of the two files: "snap keygen ci" writes ci.key and ci.pub (${name} would give ${name}.key and ${name}.pub)`);
    }
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('prints {ok, keyid, key, pub} with --json', async () => {
    const dir = await tempDir();
    const r = await snapJson(['keygen', 'j', '--out-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ ok: true, keyid: expect.stringMatching(/^[0-9a-f]{64}$/), key: join(dir, 'j.key'), pub: join(dir, 'j.pub') });
  });
});

describe('help and usage errors', () => {
  it('exits 0 on --help and lists every command (built binary)', async () => {
    const r = await snapBin(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['keygen', 'seal', 'verify', 'diff', 'list', 'show']) expect(r.stdout).toMatch(new RegExp(`snap ${cmd}\\b`));
  });

  it('exits 0 on --help in-process too', async () => {
    const r = await snap(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('snap verify');
  });

  it('exits 2 on an unknown command', async () => {
    const r = await snap(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('names a mistyped command as an unknown command, with the nearest one, in stderr and in --json', async () => {
    const r = await snap(['verfy', 'data', '--against', 'ds@v1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('snap: unknown command "verfy" (did you mean verify?); "snap --help" lists the commands\nRun "snap --help" (or "snap <command> --help") for usage.\n');
    const j = await snapJson(['--store', 'st', 'lsit']);
    expect(j.code).toBe(2);
    expect(j.json.error).toEqual({ code: 'USAGE', message: 'unknown command "lsit" (did you mean list?); "snap --help" lists the commands' });
    const far = await snapJson(['frobnicate']);
    expect(far.json.error).toEqual({ code: 'USAGE', message: 'unknown command "frobnicate"; "snap --help" lists the commands' });
  });

  it('takes the words after a bare -- as operands, never flags: a ref, and a folder whose name starts with -', async () => {
    const s = await sealTree({ 'a.txt': 'alpha\n' }, keys);
    const shown = await snap(['show', '--store', s.store, '--json', '--', s.ref]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).ref).toBe(s.ref);
    // A dataset folder named "-data", reachable only after --.
    const work = await tempDir();
    await fsp.cp(s.data, join(work, '-data'), { recursive: true });
    const v = await snap(['verify', '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json', '--', '-data'], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, counts: { matched: 1 } });
    // A word after -- that the command has no place for is named as given.
    const extra = await snap(['show', '--store', s.store, '--', s.ref, '-x']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('-x');
    expect(extra.stderr).not.toContain('\u0000');
    // …as an argument the command has no place for, never as an unknown flag: it is no flag.
    expect(extra.stderr).toMatch(/^snap show: unexpected argument -x: the command is "show <ref>"/);
    const flagLike = await snap(['show', '--store', s.store, '--', s.ref, '--store', 'x']);
    expect(flagLike.code).toBe(2);
    expect(flagLike.stderr).toMatch(/^snap show: unexpected arguments --store, x: the command is "show <ref>"/);
  });

  it('takes a -- before the command word as ending the flags there too: the command runs on operands, its flags are never dropped (`snap -- log --verify` on an edited log is no exit 0)', async () => {
    const s = await sealTree({ 'a.txt': 'alpha\n' }, keys);
    const log = join(s.store, 'log.jsonl');
    await fsp.writeFile(log, (await fsp.readFile(log, 'utf8')).replace('"seal"', '"SEAL"'));
    const env = { SNAP_STORE: s.store };
    expect((await snap(['log', '--verify'], { env })).code).toBe(1);
    // Before: yargs ran `log` with every word after -- dropped, listing the edited log (exit 0).
    const hidden = await snap(['--', 'log', '--verify'], { env });
    expect(hidden.code, hidden.stdout).toBe(2);
    expect(hidden.stderr).toContain('--verify');
    // The command word after -- is still the command, and the words after it its operands.
    const shown = await snap(['--', 'show', s.ref], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(s.ref);
    const stored = await snap(['--store', s.store, '--', 'show', s.ref]);
    expect(stored.code, stored.stderr).toBe(0);
  });

  it('ends a flag that takes several values at --: `verify-model --pubkey K -- FILE` and `attest --data REF -- FILE` name FILE, not a second key or dataset', async () => {
    const s = await sealTree({ 'a.txt': 'alpha\n' }, keys);
    const work = await tempDir();
    await fsp.writeFile(join(work, '-m.bin'), 'weights');
    const attested = await snap(['attest', '--as', 'm@1', '--store', s.store, '--key', keys.key, '--data', s.ref, '--', '-m.bin'], { cwd: work });
    expect(attested.code, attested.stderr).toBe(0);
    const v = await snap(['verify-model', '--store', s.store, '--pubkey', keys.pub, '--', '-m.bin'], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('model verified');
    // Words between the flag and -- are still its values: two keys, then the file.
    const two = await snap(['verify-model', '--store', s.store, '--pubkey', keys.pub, keys.pub, '--', '-m.bin'], { cwd: work });
    expect(two.code, two.stderr).toBe(0);
  });

  it('ends a boolean flag at -- too: `verify --json -- true` verifies the folder "true", it does not read "true" as the value of --json', async () => {
    const s = await sealTree({ 'a.txt': 'alpha\n' }, keys);
    const work = await tempDir();
    await fsp.cp(s.data, join(work, 'true'), { recursive: true });
    const v = await snap(['verify', '--against', s.ref, '--pubkey', keys.pub, '--store', s.store, '--json', '--', 'true'], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, counts: { matched: 1 } });
    // Two boolean flags before --, after a flag of several values: the operand is neither a key nor a flag's value.
    await fsp.writeFile(join(work, 'false'), 'weights');
    expect((await snap(['attest', '--as', 'm@1', '--store', s.store, '--key', keys.key, '--data', s.ref, '--', 'false'], { cwd: work })).code).toBe(0);
    const m = await snap(['verify-model', '--store', s.store, '--pubkey', keys.pub, '--json', '--quiet', '--', 'false'], { cwd: work });
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ ok: true, files: [{ name: 'false' }] });
  });

  it('names a mistyped command given with --help or --version as an unknown command too (exit 2), not the general help or the version with exit 0', async () => {
    for (const flag of ['--help', '-h', '--version']) {
      const r = await snap(['verfy', flag]);
      expect(r.code, flag).toBe(2);
      expect(r.stdout, flag).toBe('');
      expect(r.stderr, flag).toContain('snap: unknown command "verfy" (did you mean verify?)');
      const j = await snapJson(['verfy', 'data', flag, '--json']);
      expect(j.code, flag).toBe(2);
      expect(j.json.error, flag).toEqual({ code: 'USAGE', message: 'unknown command "verfy" (did you mean verify?); "snap --help" lists the commands' });
    }
    // A command's own help, and the general help, are unchanged.
    expect((await snap(['verify', '--help'])).code).toBe(0);
    expect((await snap(['--help'])).code).toBe(0);
    expect((await snap(['--store', 'st', '--help'])).code).toBe(0);
  });

  it('exits 2 with no command at all', async () => {
    expect((await snap([])).code).toBe(2);
  });

  it('exits 2 on an unknown flag, and reports USAGE with --json', async () => {
    const store = await tempDir();
    const r = await snapJson(['list', '--store', store, '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('reports a usage error as JSON exactly when the command would have printed JSON: --json and --json=true, not --json=false nor a --json after --', async () => {
    const store = await tempDir();
    for (const [flag, json] of [[['--json=true'], true], [['--json'], true], [['--json=false'], false], [['--', '--json'], false]] as const) {
      const r = await snap(['list', '--store', store, '--no-such-flag', ...flag]);
      expect(r.code, flag.join(' ')).toBe(2);
      expect(r.stderr, flag.join(' ')).toContain('Unknown argument');
      if (json) expect(JSON.parse(r.stdout), flag.join(' ')).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      else expect(r.stdout, flag.join(' ')).toBe('');
    }
    // The same flags, on a run that parses, give JSON or not as yargs reads them.
    expect(JSON.parse((await snap(['init', '--store', join(store, 's'), '--json=true'])).stdout)).toMatchObject({ ok: true });
    expect((await snap(['init', '--store', join(store, 's'), '--json=false'])).stdout).not.toContain('{');
  });

  it('names the command and the nearest flag of a mistyped one (exit 2), in stderr and in --json', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snap(['verify', data, '--againt', 'ds@v1', '--pubkey', keys.pub]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap verify: Unknown argument: againt (did you mean --against?)');
    expect(r.stderr).toContain('Run "snap verify --help"');
    const j = await snapJson(['verify', data, '--against', 'ds@v1', '--pubky', keys.pub]);
    expect(j.code).toBe(2);
    expect(j.json.error).toEqual({ code: 'USAGE', message: 'Unknown argument: pubky (did you mean --pubkey?)' });
  });

  it('suggests the flags every command takes too (--json, --debug)', async () => {
    const r = await snap(['list', '--store', await tempDir(), '--jsno']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown argument: jsno (did you mean --json?)');
  });

  it('names the positional argument that is missing (seal without DIR), in words, not only as a count', async () => {
    const r = await snap(['seal', '--as', 'ds@v1', '--key', keys.key]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap seal: missing DIR: the command is "seal <dir>"');
    const j = await snapJson(['diff', 'a@v1', '--json']);
    expect(j.code).toBe(2);
    expect(j.json.error.message).toMatch(/^missing B: the command is "diff <a> <b>"/);
  });

  it('names a missing required flag as a flag, with what it takes (seal without --as or --key, report without -o), in stderr and in --json', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snap(['seal', data, '--key', keys.key, '--store', join(await tempDir(), 's')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap seal: missing --as: NAME@VERSION of the new snapshot, e.g. fraud-train@model-v3 (Missing required argument: as)\n');
    const both = await snapJson(['seal', data]);
    expect(both.code).toBe(2);
    expect(both.json.error).toEqual({
      code: 'USAGE',
      message: 'missing --as: NAME@VERSION of the new snapshot, e.g. fraud-train@model-v3; missing --key: private key file (PKCS#8 PEM) to sign with (repeatable: each key signs) (Missing required arguments: as, key)',
    });
    const report = await snap(['report', 'a@v1', 'a@v2']);
    expect(report.code).toBe(2);
    expect(report.stderr).toContain('snap report: missing --out: the report file to write (replaced whole); - for standard output (Missing required argument: out)\n');
  });

  it('names a flag given without its value as a flag, with what it takes (--as, --pubkey, -o), in stderr and in --json', async () => {
    const r = await snap(['seal', 'data', '--key', keys.key, '--as']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap seal: --as needs a value: NAME@VERSION of the new snapshot, e.g. fraud-train@model-v3 (Not enough arguments following: as)\n');
    const j = await snapJson(['verify', 'data', '--against', 'ds@v1', '--pubkey']);
    expect(j.code).toBe(2);
    expect(j.json.error).toEqual({ code: 'USAGE', message: '--pubkey needs a value: trusted public key file (SPKI PEM); repeatable (needed unless --policy is given) (Not enough arguments following: pubkey)' });
    const o = await snap(['export', 'ds@v1', '-o']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain('snap export: -o (--out) needs a value: archive to write, ending in .snap.tar (default: ./NAME@VERSION.snap.tar); never overwritten (Not enough arguments following: o)\n');
  });

  it('names an argument given beyond the command\'s positionals as unexpected, with the command\'s form (check A B, verify DIR REF), not as an unknown flag', async () => {
    const r = await snap(['check', 'ds@v1', 'ds@v2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap check: unexpected argument ds@v2: the command is "check <b>", the rest are flags (Unknown argument: ds@v2)\n');
    const j = await snapJson(['verify', 'data', 'ds@v1', '--pubkey', keys.pub]);
    expect(j.code).toBe(2);
    expect(j.json.error).toEqual({ code: 'USAGE', message: 'unexpected argument ds@v1: the command is "verify [dir]", the rest are flags (Unknown argument: ds@v1)' });
    const both = await snap(['show', 'ds@v1', 'x', 'y', '--jsno']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('snap show: unexpected arguments x, y: the command is "show <ref>", the rest are flags; Unknown argument: jsno (did you mean --json?)\n');
  });

  it('answers an archive name without .snap.tar (export -o, seal --out) with one that has it: a folder gets NAME@VERSION.snap.tar inside it', async () => {
    const cases: [string[], string][] = [
      [['export', 'ds@v2', '-o', 'out/'], '-o out/: an archive\'s name ends in .snap.tar (e.g. -o out/ds@v2.snap.tar)'],
      [['export', 'sha256:0123456789ab', '-o', 'backups/'], '-o backups/: an archive\'s name ends in .snap.tar (e.g. -o backups/NAME@VERSION.snap.tar)'],
      [['export', 'ds@v2', '-o', 'ds-v2.tar'], '-o ds-v2.tar: an archive\'s name ends in .snap.tar (e.g. -o ds-v2.snap.tar)'],
      [['seal', 'data', '--as', 'ds@v3', '--key', keys.key, '--out', 'dist/'], '--out dist/: an archive\'s name ends in .snap.tar (e.g. --out dist/ds@v3.snap.tar)'],
    ];
    for (const [args, message] of cases) {
      const r = await snapJson([...args, '--store', join(await tempDir(), 's')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error, args.join(' ')).toEqual({ code: 'USAGE', message });
    }
  });

  it('suggests no flag when none is near the mistyped one', async () => {
    const store = await tempDir();
    const r = await snap(['list', '--store', store, '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('snap list: Unknown argument: no-such-flag\n');
  });

  it('takes --store and --jobs before the command word, as after it: snap --store S list is list, even with a store named list', async () => {
    const work = await tempDir('snap-usage-');
    const store = join(work, 'list');
    const data = await makeTree({ 'a.txt': 'a\n' });
    expect((await snapJson(['seal', data, '--as', 'd@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const before = await snapJson(['--store', store, 'list'], { cwd: work });
    expect(before.code, before.stderr).toBe(0);
    expect(before.json.snapshots.map((x: { ref: string }) => x.ref)).toEqual(['d@v1']);
    const named = await snapJson(['--store', 'list', 'list'], { cwd: work });
    expect(named.code, named.stderr).toBe(0);
    expect(named.json.store).toBe(store);
    const verified = await snapJson(['-j', '1', '--store', store, 'verify', data, '--against', 'd@v1', '--pubkey', keys.pub]);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('exits 2 when seal is missing --as', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snap(['seal', data, '--key', keys.key, '--store', join(await tempDir(), 's')]);
    expect(r.code).toBe(2);
  });

  it('exits 2 when verify is missing --pubkey', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    expect((await snap(['verify', data, '--against', 'ds@v1'])).code).toBe(2);
  });

  it.each(['Bad@v1', 'x@', '@v1', 'x', 'x@v1@v2', 'x@-v1', '.x@v1'])('exits 2 (REF_MALFORMED) on a malformed NAME@VERSION %j and creates no store', async (ref) => {
    const data = await makeTree({ 'a.txt': 'a' });
    const store = join(await tempDir(), 'store');
    const r = await snapJson(['seal', data, '--as', ref, '--key', keys.key, '--store', store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('REF_MALFORMED');
    await expect(fsp.access(store)).rejects.toThrow();
  });

  it('exits 2 on --jobs 0', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', join(await tempDir(), 's'), '--jobs', '0']);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('exits 2 on --threshold 0', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--threshold', '0', '--store', await tempDir()]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
  });

  it('names NAME.key or NAME.pub when a key is given by its NAME alone and that file is there (NOT_FOUND, exit 3, as before)', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const dir = await tempDir();
    expect((await snap(['keygen', 'ci', '--out-dir', dir])).code).toBe(0);
    const stem = join(dir, 'ci');
    const sealed = await snapJson(['seal', data, '--as', 'ds@v1', '--key', stem, '--store', join(dir, 's')]);
    expect(sealed.code).toBe(3);
    expect(sealed.json.error).toMatchObject({ code: 'NOT_FOUND', message: `cannot read the private key: ${stem} does not exist; did you mean ${stem}.key?` });
    const verified = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', stem, '--store', join(dir, 's')]);
    expect(verified.code).toBe(3);
    expect(verified.json.error).toMatchObject({ code: 'NOT_FOUND', message: `cannot read the public key: ${stem} does not exist; did you mean ${stem}.pub?` });
    const none = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', join(dir, 'other'), '--store', join(dir, 's')]);
    expect(none.json.error.message).toBe(`cannot read the public key: ${join(dir, 'other')} does not exist`);
  });

  it('exits 3 (NOT_FOUND) when the signing key file does not exist', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const dir = await tempDir();
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', join(dir, 'nope.key'), '--store', join(dir, 's')]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('NOT_FOUND');
  });

  it('exits 3 (KEY_MALFORMED) when a public key is given to sign with', async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.pub, '--store', join(await tempDir(), 's')]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('KEY_MALFORMED');
  });
});

describe('a flag named like a member every JavaScript object has (found by fuzzing the command line)', () => {
  // yargs looks each given flag up in a plain object of conflicting flags: `--constructor` found
  // Object's constructor there, and its check threw outside every promise (internal error, exit 3).
  it.each(['--constructor', '--toString=1', '--valueOf', '--has-own-property=x', '--__proto__'])('is an unknown argument: %s exits 2, one line, no stack', async (flag) => {
    const store = await tempDir();
    const r = await snapBin(['list', '--store', store, flag, '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(r.stderr).toMatch(/^snap list: Unknown argument: \S+\nRun "snap list --help" for usage\.\n$/);
  });

  it('is an unknown argument before the command word too', async () => {
    const r = await snapBin(['--constructor', 'list', '--store', await tempDir()]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toContain('internal error');
  });
});

describe('a flag name with a dot in it (found by fuzzing the command line)', () => {
  // yargs' dot notation made `--store.x=1` the object {x: "1"} as the store, and `--pubkey.x=K` an
  // object where a list of key files was expected: both reached the command (INTERNAL, exit 3).
  it.each([
    ['list --store.x=1', (store: string) => ['list', `--store.x=${store}`]],
    ['verify --pubkey.x=K', (store: string) => ['verify', store, '--against', 'ds@v1', `--pubkey.x=${keys.pub}`, '--store', store]],
    ['seal --as.x=NAME@VERSION', (store: string) => ['seal', store, '--as.x=ds@v1', '--key', keys.key, '--store', store]],
    ['list --constructor.x=1', (store: string) => ['list', '--constructor.x=1', '--store', store]],
  ])('is an unknown argument: %s exits 2 naming the flag as given, one line, no stack', async (_what, args) => {
    const store = await tempDir();
    const r = await snapBin([...args(store), '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'USAGE', message: expect.stringMatching(/^Unknown argument: [a-z]+\.x\b/) } });
    expect(r.stderr).toMatch(/^snap [a-z]+: Unknown argument: [a-z]+\.x.*\nRun "snap [a-z]+ --help" for usage\.\n$/);
  });
});

