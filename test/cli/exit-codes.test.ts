/**
 * Exit codes (README, "Exit codes"; src/cli/exit-codes.ts): 0 success · 1 integrity failure · 2 usage
 * error · 3 input or environment error · 130 / 143 stopped by SIGINT / SIGTERM. Every error code
 * has the exit code the README's groups give it, and the codes no other test runs end to end are
 * run here: an expired trust policy (exit 1) and an unexpected error inside a command (exit 3),
 * each with its one `--json` error document.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ERROR_CODES, type SnapErrorCode } from '../../src/core/errors.js';
import { EXIT_INPUT, EXIT_INTEGRITY, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, exitCodeFor } from '../../src/cli/exit-codes.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

// keygen of a key named "planted-internal" throws what no command should: a plain TypeError.
vi.mock('../../src/io/keyfile.js', async (original) => {
  const m = await original<typeof import('../../src/io/keyfile.js')>();
  return {
    ...m,
    writeKeyPair: (dir: string, name: string, opts: Parameters<typeof m.writeKeyPair>[2]) => {
      if (name === 'planted-internal') throw new TypeError('planted by a test');
      return m.writeKeyPair(dir, name, opts);
    },
  };
});

const keys = useKeyPair('root');

/** The README's groups; every other code is an input or environment error (3). */
const USAGE_CODES: SnapErrorCode[] = ['USAGE', 'REF_MALFORMED', 'REF_AMBIGUOUS', 'S3_URL_MALFORMED'];
const INTEGRITY_CODES: SnapErrorCode[] = [
  'INTEGRITY_FAILURE', 'OBJECT_CORRUPT', 'SIGNATURE_INVALID', 'ARCHIVE_HOSTILE', 'SNAPSHOT_NAME_MISMATCH', 'SNAPSHOT_EXPIRED', 'SNAPSHOT_REVOKED',
  'REVOCATION_MALFORMED', 'POLICY_MALFORMED', 'POLICY_SIGNATURE_INVALID', 'POLICY_ROLLBACK', 'POLICY_EXPIRED', 'POLICY_NOT_SATISFIED', 'SNAPSHOT_TOO_OLD',
  'SNAPSHOT_ROLLBACK', 'CHECKPOINT_MALFORMED', 'LOG_INCONSISTENT', 'PROOF_INVALID', 'ATTESTATION_NOT_FOUND',
];

describe('exit codes', () => {
  it.each([...ERROR_CODES])('%s has the exit code of its group', (code) => {
    const expected = code === 'INTERRUPTED' ? EXIT_INTERRUPTED : code === 'TERMINATED' ? EXIT_TERMINATED : USAGE_CODES.includes(code) ? EXIT_USAGE : INTEGRITY_CODES.includes(code) ? EXIT_INTEGRITY : EXIT_INPUT;
    expect(exitCodeFor(code)).toBe(expected);
  });

  it('are 1, 2, 3, 130 and 143 as the README says', () => {
    expect([EXIT_INTEGRITY, EXIT_USAGE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED]).toEqual([1, 2, 3, 130, 143]);
    for (const c of [...USAGE_CODES, ...INTEGRITY_CODES]) expect(ERROR_CODES, c).toContain(c);
  });

  it('exit 1 with POLICY_EXPIRED when verify is given a policy past its expiry, signed by its root', async () => {
    const work = await tempDir('snap-exit-');
    const store = await newStorePath();
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const policy = join(work, 'policy.json');
    expect((await snapJson(['policy', 'init', policy, '--name', 'acme', '--root-key', keys.pub])).code).toBe(0);
    // Back-date its expiry (policy init refuses a past one), then let the root sign that version.
    const env = JSON.parse(await fsp.readFile(policy, 'utf8'));
    const p = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    p.expires = '2020-01-01T00:00:00Z';
    await fsp.writeFile(policy, JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(p)).toString('base64'), signatures: [] }) + '\n');
    expect((await snapJson(['policy', 'sign', policy, '--key', keys.key])).code).toBe(0);
    expect((await snapJson(['seal', data, '--as', 'acme-data@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const v = await snapJson(['verify', data, '--against', 'acme-data@v1', '--policy', policy, '--root', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json).toMatchObject({ ok: false, error: { code: 'POLICY_EXPIRED' } });
  });

  it('exit 3 with INTERNAL, and one JSON error document, when a command throws an unexpected error', async () => {
    const r = await snapJson(['keygen', 'planted-internal', '--out-dir', await tempDir('snap-exit-')]);
    expect(r.code).toBe(3);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: expect.stringContaining('planted by a test') } });
    expect(r.stderr).toContain('[INTERNAL]');
  });

  it('exit 3 with NOT_FOUND, naming the store, for every command that reads or writes a store that does not exist', async () => {
    const work = await tempDir('snap-exit-');
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const model = join(work, 'model.bin');
    await fsp.writeFile(model, 'weights');
    const missing = join(work, 'no-store');
    const runs: string[][] = [
      ['list'], ['show', 'ds@v1'], ['log'], ['log', 'checkpoint', '--key', keys.key], ['fsck'],
      ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub], ['diff', 'ds@v1', data], ['check', data, '--against', 'ds@v1'],
      ['report', 'ds@v1', data, '-o', join(work, 'r.html')], ['drill', data, '--against', 'ds@v1', '--pubkey', keys.pub],
      ['sign', 'ds@v1', '--key', keys.key], ['revoke', 'ds@v1', '--reason', 'poisoned', '--key', keys.key],
      ['export', 'ds@v1', '-o', join(work, 'x.snap.tar')], ['restore', 'ds@v1', join(work, 'restored'), '--pubkey', keys.pub],
      ['prove', 'ds@v1', 'a.txt', '-o', join(work, 'p.json')], ['lineage', 'ds@v1'], ['impact', 'ds@v1'], ['bom', 'ds@v1', '-o', join(work, 'bom.json')],
      ['attest', model, '--data', 'ds@v1', '--key', keys.key], ['verify-model', model, '--pubkey', keys.pub],
    ];
    for (const args of runs) {
      const r = await snapJson([...args, '--store', missing]);
      expect({ args: args.join(' '), code: r.code, error: r.json.error?.code }).toEqual({ args: args.join(' '), code: 3, error: 'NOT_FOUND' });
      expect(r.json.error.message, args.join(' ')).toContain(missing);
      // Only init, seal and import make a store (README): a failed command leaves none behind.
      expect(existsSync(missing), args.join(' ')).toBe(false);
    }
  }, 120_000);
});
