/**
 * Key hygiene: a private key readable by group or others gets a warning with the chmod to run (as
 * ssh refuses such keys); an empty passphrase variable is told apart from an unset one.
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, tempDir } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { exposureWarning, keyFileExposure } from '../../src/io/key-hygiene.js';

describe('a private key file others can read', () => {
  it('warns on seal, with the chmod to run, and still seals (exit 0)', async () => {
    const k = await makeKeyPair('loose');
    await fsp.chmod(k.key, 0o644);
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snap(['seal', data, '--as', 'ds@v1', '--key', k.key, '--store', await newStorePath()]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('[KEY_FILE_EXPOSED]');
    expect(r.stderr).toContain(`chmod 600 ${k.key}`);
  });

  it('names group and others by what the mode allows', async () => {
    const k = await makeKeyPair('grp');
    await fsp.chmod(k.key, 0o640);
    expect((await keyFileExposure(k.key))?.who).toEqual(['group']);
    await fsp.chmod(k.key, 0o604);
    expect((await keyFileExposure(k.key))?.who).toEqual(['others']);
    await fsp.chmod(k.key, 0o666);
    const x = await keyFileExposure(k.key);
    expect(x?.who).toEqual(['group', 'others']);
    expect(exposureWarning(x as NonNullable<typeof x>)).toContain('mode 0666');
  });

  it('says nothing for a key of mode 0600 (as keygen writes it)', async () => {
    const k = await makeKeyPair('tight');
    expect(await keyFileExposure(k.key)).toBeUndefined();
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snap(['seal', data, '--as', 'ds@v1', '--key', k.key, '--store', await newStorePath()]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('KEY_FILE_EXPOSED');
  });

  it('does not call a public key (mode 0644) given as --key a private key to chmod: only KEY_MALFORMED (exit 3)', async () => {
    const k = await makeKeyPair('swapped');
    await fsp.chmod(k.pub, 0o644);
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snap(['seal', data, '--as', 'ds@v1', '--key', k.pub, '--store', await newStorePath()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('expected a PRIVATE KEY, found a PUBLIC KEY');
    expect(r.stderr).not.toContain('KEY_FILE_EXPOSED');
  });

  it('warns about an exposed encrypted key whose passphrase is missing, before refusing it', async () => {
    const dir = await tempDir('snap-pp-');
    const k = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'PASS'], { env: { PASS: 'correct horse' } });
    await fsp.chmod(k.json.key, 0o644);
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snap(['seal', data, '--as', 'ds@v1', '--key', k.json.key, '--store', await newStorePath()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('KEY_PASSPHRASE_REQUIRED');
    expect(r.stderr).toContain('[KEY_FILE_EXPOSED]');
  });

  it('quotes a path with spaces in the chmod it suggests', async () => {
    const dir = await tempDir();
    const path = `${dir}/my key.key`;
    await fsp.writeFile(path, 'x', { mode: 0o644 });
    await fsp.chmod(path, 0o644);
    expect((await keyFileExposure(path))?.fix).toBe(`chmod 600 '${path}'`);
  });
});

describe('the passphrase variable', () => {
  it('is KEY_PASSPHRASE_EMPTY (exit 3) when set but empty, and KEY_PASSPHRASE_REQUIRED (exit 3) when unset', async () => {
    const dir = await tempDir('snap-pp-');
    const k = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'PASS'], { env: { PASS: 'correct horse' } });
    expect(k.code).toBe(0);
    const data = await makeTree({ 'a.txt': 'a\n' });
    const store = await newStorePath();
    const empty = await snapJson(['seal', data, '--as', 'ds@v1', '--key', k.json.key, '--passphrase-env', 'PASS', '--store', store], { env: { PASS: '' } });
    expect(empty.code).toBe(3);
    expect(empty.json.error.code).toBe('KEY_PASSPHRASE_EMPTY');
    expect(empty.json.error.details).toEqual({ variable: 'PASS' });
    const unset = await snapJson(['seal', data, '--as', 'ds@v1', '--key', k.json.key, '--passphrase-env', 'PASS', '--store', store], { env: { PASS: undefined } });
    expect(unset.code).toBe(3);
    expect(unset.json.error.code).toBe('KEY_PASSPHRASE_REQUIRED');
  });

  it('is told apart for keygen too: an empty variable does not make an unencrypted key', async () => {
    const dir = await tempDir('snap-pp-');
    const r = await snapJson(['keygen', 'k', '--out-dir', dir, '--passphrase-env', 'PASS'], { env: { PASS: '' } });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('KEY_PASSPHRASE_EMPTY');
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});
