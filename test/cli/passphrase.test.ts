/**
 * Encrypted signing keys (SPEC §6): the passphrase comes from an environment variable or a
 * terminal prompt, never from a command-line argument. Without a terminal, a missing passphrase is
 * an input error (exit 3), not a hang.
 */
import { describe, expect, it } from 'vitest';
import { makeTree, snapBin, snapJson, tempDir } from '../helpers/tree.js';

describe('an encrypted signing key', () => {
  it('seals with --passphrase-env and refuses a wrong passphrase (exit 3, KEY_PASSPHRASE_WRONG)', async () => {
    const dir = await tempDir('snap-pp-');
    const env = { ...process.env, PASS: 'correct horse', WRONG: 'battery staple' };
    const k = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'PASS'], { env });
    expect(k.code).toBe(0);
    const data = await makeTree({ 'a.txt': 'a\n' });
    const store = `${dir}/store`;
    const ok = await snapJson(['seal', data, '--as', 'enc@v1', '--key', k.json.key, '--passphrase-env', 'PASS', '--store', store], { env });
    expect(ok.code).toBe(0);
    const wrong = await snapJson(['seal', data, '--as', 'enc@v2', '--key', k.json.key, '--passphrase-env', 'WRONG', '--store', store], { env });
    expect(wrong.code).toBe(3);
    expect(wrong.json.error.code).toBe('KEY_PASSPHRASE_WRONG');
  });

  it('exits 3 (KEY_PASSPHRASE_REQUIRED) without --passphrase-env when there is no terminal to ask on', async () => {
    const dir = await tempDir('snap-pp-');
    const env = { ...process.env, PASS: 'pw' };
    const k = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'PASS'], { env });
    const data = await makeTree({ 'a.txt': 'a\n' });
    const r = await snapJson(['seal', data, '--as', 'enc@v1', '--key', k.json.key, '--store', `${dir}/store`]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('KEY_PASSPHRASE_REQUIRED');
  });

  it('exits 3 when --passphrase-env names a variable that is not set', async () => {
    const dir = await tempDir('snap-pp-');
    const r = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'SNAP_TEST_UNSET_VARIABLE']);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('KEY_PASSPHRASE_REQUIRED');
  });

  // Found by fuzzing the command line: the variable was looked up as a member of process.env, so a
  // name every object inherits gave an object or a function as the passphrase (keygen: INTERNAL,
  // exit 3) or, for constructor and toString, "the passphrase is empty"; seal: "wrong passphrase".
  it.each(['__proto__', 'hasOwnProperty', 'constructor', 'toString'])('exits 3 (KEY_PASSPHRASE_REQUIRED, not set) when --passphrase-env names %s, which no environment sets', async (name) => {
    const dir = await tempDir('snap-pp-');
    const env = { ...process.env, PASS: 'pw' };
    const k = await snapJson(['keygen', 'enc', '--out-dir', dir, '--passphrase-env', 'PASS'], { env });
    expect(k.code).toBe(0);
    const made = await snapBin(['keygen', 'other', '--out-dir', dir, '--passphrase-env', name, '--json']);
    expect(made.code, made.stderr).toBe(3);
    expect(JSON.parse(made.stdout).error).toMatchObject({ code: 'KEY_PASSPHRASE_REQUIRED', details: { variable: name } });
    const data = await makeTree({ 'a.txt': 'a\n' });
    const sealed = await snapBin(['seal', data, '--as', 'enc@v1', '--key', k.json.key, '--passphrase-env', name, '--store', `${dir}/store`, '--json']);
    expect(sealed.code, sealed.stderr).toBe(3);
    expect(JSON.parse(sealed.stdout).error.code).toBe('KEY_PASSPHRASE_REQUIRED');
  });
});
