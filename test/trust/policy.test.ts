/**
 * The signed trust policy (docs/FORMAT.md §16), after TUF's root metadata: keys with names,
 * validity and revocation, roles, per-dataset rules with separation of duties, signed by a
 * threshold of root keys, versioned against rollback, rotated by the previous root keys.
 * Every test asserts the exit code and the error or failure code.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, spawnSnap, stderrSays, tempDir, type KeyPair, type RunResult } from '../helpers/tree.js';
import { pae } from '../../src/core/envelope.js';
import { POLICY_PAYLOAD_TYPE, assignRoles, validatePolicy, type Policy } from '../../src/core/policy.js';
import { establishPolicy, readPolicyFile, rememberPolicy } from '../../src/trust/policy-trust.js';
import { policyFailure } from '../../src/trust/signatures.js';
import { buildStatement } from '../../src/core/statement.js';

let r1: KeyPair, r2: KeyPair, r3: KeyPair, r4: KeyPair, alice: KeyPair, bob: KeyPair, carol: KeyPair;
beforeAll(async () => {
  [r1, r2, r3, r4, alice, bob, carol] = (await Promise.all(['r1', 'r2', 'r3', 'r4', 'alice', 'bob', 'carol'].map((n) => makeKeyPair(n)))) as [KeyPair, KeyPair, KeyPair, KeyPair, KeyPair, KeyPair, KeyPair];
});

type Json = RunResult & { json: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A test's own world: a folder, a trusted state folder, a store. */
async function world() {
  const dir = await tempDir('snap-policy-');
  const state = join(dir, 'state');
  const store = join(dir, 'store');
  const run = (args: string[]): Promise<Json> => snapJson(args, { env: { SNAP_STATE_DIR: state } });
  const ok = async (args: string[]): Promise<Json> => {
    const r = await run(args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  return { dir, state, store, run, ok };
}
type World = Awaited<ReturnType<typeof world>>;

/**
 * v2 of the policy file `v1`: roots r3, r4 replace r1, r2; signed by the old roots (the rotation)
 * and the new (its own threshold). Returns its path.
 */
async function rotateRoots(w: World, v1: string): Promise<string> {
  const v2 = join(w.dir, 'v2.json');
  await fsp.copyFile(v1, v2);
  await w.ok(['policy', 'add-key', v2, '--pub', r3.pub, '--role', 'root']);
  await w.ok(['policy', 'add-key', v2, '--pub', r4.pub, '--role', 'root']);
  await w.ok(['policy', 'remove-key', v2, '--pub', r1.pub]);
  await w.ok(['policy', 'remove-key', v2, '--pub', r2.pub]);
  await w.ok(['policy', 'sign', v2, '--key', r1.key, '--key', r2.key, '--key', r3.key, '--key', r4.key]);
  return v2;
}

/**
 * Policy acme v1: roots r1, r2 (threshold 2); alice producer and reviewer, bob reviewer, carol
 * producer; rule fraud-*: 1 producer + 1 reviewer; signed by r1 and r2.
 */
async function makePolicy(w: World, file = join(w.dir, 'policy.json')): Promise<string> {
  await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
  await w.ok(['policy', 'add-key', file, '--pub', alice.pub, '--key-name', 'alice', '--role', 'producer', '--role', 'reviewer']);
  await w.ok(['policy', 'add-key', file, '--pub', bob.pub, '--key-name', 'bob', '--role', 'reviewer']);
  await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--key-name', 'carol', '--role', 'producer']);
  await w.ok(['policy', 'rule', file, '--datasets', 'fraud-*', '--require', 'producer=1', '--require', 'reviewer=1']);
  await w.ok(['policy', 'sign', file, '--key', r1.key, '--key', r2.key]);
  return file;
}

/** Seal a small dataset as `as`, signed by `keys`. */
async function sealed(w: World, as: string, keys: KeyPair[]): Promise<string> {
  const data = await makeTree({ 'a.txt': 'a\n', 'b/c.txt': 'c\n' });
  await w.ok(['seal', data, '--as', as, ...keys.flatMap((k) => ['--key', k.key]), '--store', w.store]);
  return data;
}

function verifyArgs(w: World, data: string, ref: string, policies: string[], roots: KeyPair[] = [r1, r2]): string[] {
  return ['verify', data, '--against', ref, ...policies.flatMap((p) => ['--policy', p]), ...roots.flatMap((k) => ['--root', k.pub]), '--store', w.store];
}

describe('a snapshot under a policy', () => {
  it('needs a reviewer besides the producer: refused (POLICY_NOT_SATISFIED) until co-signed, then exit 0', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol]);
    const before = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(before.code).toBe(1);
    expect(before.json.failure.code).toBe('POLICY_NOT_SATISFIED');
    expect(before.json.policy).toMatchObject({ name: 'acme', version: 1, rule: 0, missing: { reviewer: 1 } });
    await w.ok(['sign', 'fraud-train@v1', '--key', bob.key, '--store', w.store]);
    const after = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(after.code, after.stderr).toBe(0);
    expect(after.json.policy).toMatchObject({ counted: { producer: [carol.keyid], reviewer: [bob.keyid] }, missing: {} });
    expect(after.json.signers).toEqual([
      { keyid: carol.keyid, trusted: true, name: 'carol', roles: ['producer'] },
      { keyid: bob.keyid, trusted: true, name: 'bob', roles: ['reviewer'] },
    ]);
  });

  it('counts a key that holds two roles once (separation of duties): exit 1, POLICY_NOT_SATISFIED', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [alice]); // alice is producer and reviewer
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('POLICY_NOT_SATISFIED');
    expect(Object.values(v.json.policy.missing)).toEqual([1]);
  });

  it('lets a key with two roles count for the role the others leave open', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [alice, carol]); // carol: producer only, so alice counts as reviewer
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(v.code).toBe(0);
    expect(v.json.policy.counted).toEqual({ producer: [carol.keyid], reviewer: [alice.keyid] });
  });

  it('does not count a signature by a key revoked in the policy: exit 1, POLICY_NOT_SATISFIED, the signer marked revoked', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]))).code).toBe(0);
    await w.ok(['policy', 'revoke-key', policy, '--pub', bob.pub, '--reason', 'laptop stolen']);
    await w.ok(['policy', 'sign', policy, '--key', r1.key, '--key', r2.key]);
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('POLICY_NOT_SATISFIED');
    const b = v.json.signers.find((s: { keyid: string }) => s.keyid === bob.keyid);
    expect(b).toMatchObject({ trusted: false, name: 'bob' });
    expect(b.reason).toContain('laptop stolen');
  });

  it('refuses a dataset no rule covers (POLICY_NOT_SATISFIED, exit 1)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'spam@v1', [carol, bob]);
    const v = await w.run(verifyArgs(w, data, 'spam@v1', [policy]));
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('POLICY_NOT_SATISFIED');
    expect(v.json.policy.rule).toBe(-1);
  });

  it('with --pubkey too, needs both: the --pubkey threshold and the policy', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    const both = await w.run([...verifyArgs(w, data, 'fraud-train@v1', [policy]), '--pubkey', carol.pub]);
    expect(both.code).toBe(0);
    const other = await w.run([...verifyArgs(w, data, 'fraud-train@v1', [policy]), '--pubkey', alice.pub]);
    expect(other.code).toBe(1);
    expect(other.json.failure.code).toBe('SIGNATURE_INVALID');
  });

  it('refuses --threshold without --pubkey as a usage error (exit 2): it counts --pubkey keys, and beside a policy alone it was ignored (exit 0 with --threshold 5)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    for (const n of ['5', '1']) {
      const v = await w.run([...verifyArgs(w, data, 'fraud-train@v1', [policy]), '--threshold', n]);
      expect([v.code, v.json.error?.code], v.stderr).toEqual([2, 'USAGE']);
      expect(v.json.error.message).toContain('--threshold counts the --pubkey keys');
    }
    const restore = await w.run(['restore', 'fraud-train@v1', join(w.dir, 'out'), '--policy', policy, '--root', r1.pub, '--root', r2.pub, '--threshold', '2', '--store', w.store]);
    expect([restore.code, restore.json.error?.code]).toEqual([2, 'USAGE']);
    const withKey = await w.run([...verifyArgs(w, data, 'fraud-train@v1', [policy]), '--pubkey', carol.pub, '--threshold', '1']);
    expect(withKey.code, withKey.stderr).toBe(0);
  });

  it('counts a revocation signed by a key of the policy, naming who revoked (SNAPSHOT_REVOKED, exit 1)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    await w.ok(['revoke', 'fraud-train@v1', '--reason', 'poisoned', '--key', bob.key, '--store', w.store]);
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('SNAPSHOT_REVOKED');
    expect(v.json.revocations[0].revokedBy).toEqual([{ keyid: bob.keyid, name: 'bob' }]);
  });

  it('keeps counting a revocation signed while its key was valid after the key\'s period ends; one signed after it never counts', async () => {
    // dave, a security officer of the policy, valid for a few more seconds (whole seconds, UTC):
    // room for the six commands below on a loaded 2-core CI runner (about 2 s on a quiet one).
    const w = await world();
    const policy = await makePolicy(w);
    const dave = await makeKeyPair('dave');
    const until = new Date(Math.floor(Date.now() / 1000) * 1000 + 12_000).toISOString().replace('.000Z', 'Z');
    await w.ok(['policy', 'add-key', policy, '--pub', dave.pub, '--key-name', 'dave', '--role', 'security', '--valid-until', until]);
    await w.ok(['policy', 'sign', policy, '--key', r1.key, '--key', r2.key]);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    const other = await sealed(w, 'fraud-train@v2', [carol, bob]);
    const carried = join(w.dir, 'v1.revocation.json');
    await w.ok(['revoke', 'fraud-train@v1', '--reason', 'poisoned', '--key', dave.key, '--store', w.store, '--out', carried]);
    const during = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]));
    expect(during.code).toBe(1);
    expect(during.json.failure.code).toBe('SNAPSHOT_REVOKED');
    // The key's period ends: this process's clock (every command here runs in it, through runCli)
    // is moved past it rather than waited for; it goes on running from there.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(until) + 200, shouldAdvanceTime: true });
    try {
      // Routine expiry of the officer's key does not make the poisoned snapshot pass again.
      const fresh = { env: { SNAP_STATE_DIR: join(w.dir, 'fresh-state') } }; // a machine that never saw it
      const after = await snapJson(verifyArgs(w, data, 'fraud-train@v1', [policy]), fresh);
      expect(after.code, after.stderr).toBe(1);
      expect(after.json.failure.code).toBe('SNAPSHOT_REVOKED');
      expect(after.json.revocations[0]).toMatchObject({ counts: true, revokedBy: [{ keyid: dave.keyid, name: 'dave' }] });
      // The expired key signs a new revocation (revokedAt after its period): it does not count.
      const lateFile = join(w.dir, 'v2.revocation.json');
      await w.ok(['revoke', 'fraud-train@v2', '--reason', 'late', '--key', dave.key, '--store', w.store, '--out', lateFile]);
      const late = await snapJson(verifyArgs(w, other, 'fraud-train@v2', [policy]), fresh);
      expect(late.code, late.stderr).toBe(0);
      expect(late.json.revocations[0]).toMatchObject({ counts: false });
      // Carried to another store: the first is imported, the late one refused (SIGNATURE_INVALID, nothing kept).
      const elsewhere = join(w.dir, 'other-store');
      await w.ok(['init', '--store', elsewhere]);
      const trust = ['--policy', policy, '--root', r1.pub, '--root', r2.pub, '--store', elsewhere];
      const imported = await snapJson(['import', carried, ...trust], fresh);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.json.revokedBy).toEqual([dave.keyid]);
      const refused = await snapJson(['import', lateFile, ...trust], fresh);
      expect(refused.code).toBe(1);
      expect(refused.json.error.code).toBe('SIGNATURE_INVALID');
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not count a revocation signed by a key the policy revoked, whenever it was signed', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, alice]);
    await w.ok(['revoke', 'fraud-train@v1', '--reason', 'poisoned?', '--key', bob.key, '--store', w.store]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]))).json.failure.code).toBe('SNAPSHOT_REVOKED');
    await w.ok(['policy', 'revoke-key', policy, '--pub', bob.pub, '--reason', 'laptop stolen']);
    await w.ok(['policy', 'sign', policy, '--key', r1.key, '--key', r2.key]);
    const v = await snapJson(verifyArgs(w, data, 'fraud-train@v1', [policy]), { env: { SNAP_STATE_DIR: join(w.dir, 'fresh-state') } });
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.revocations[0]).toMatchObject({ counts: false });
  });

  it('records the policy, the trusted keyids and the dataset folder in the verify audit line', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy]))).code).toBe(0);
    const log = await w.ok(['log', 'fraud-train', '--store', w.store]);
    const line = log.json.entries.filter((e: { command: string }) => e.command === 'verify').pop();
    expect(line.details).toMatchObject({ dir: data, trusted: [], signedBy: [carol.keyid, bob.keyid], policy: { name: 'acme', version: 1 } });
  });
});

describe('the policy file itself', () => {
  // Found by fuzzing the files commands read: the policy was read with stat + readFile, so a FIFO
  // blocked `policy show` for ever and /dev/zero (size 0 to stat) was read without a bound.
  it('is refused when it is not a regular file (a FIFO): POLICY_MALFORMED at once, not a read that never ends', async () => {
    const dir = await tempDir('snap-policy-');
    const fifo = join(dir, 'policy.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await spawnSnap(['policy', 'show', fifo, '--json'], { timeoutMs: 10_000 }).done;
    expect(r.signal, 'killed after 10 s: it blocked on the FIFO').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('POLICY_MALFORMED');
  });

  it('is read no further than its bound: a device that never ends (/dev/zero) is POLICY_MALFORMED (library)', async () => {
    await expect(readPolicyFile('/dev/zero')).rejects.toMatchObject({ code: 'POLICY_MALFORMED' });
  });

  it('is refused when altered after signing (exit 1, POLICY_SIGNATURE_INVALID), or unreadable (exit 1, POLICY_MALFORMED)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [alice]);
    const env = JSON.parse(await fsp.readFile(policy, 'utf8'));
    const p = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as Policy;
    p.rules[0] = { datasets: ['fraud-*'], require: { producer: 1 } }; // the attacker drops the reviewer
    const { canonicalJson } = await import('../../src/core/canonical-json.js');
    env.payload = Buffer.from(canonicalJson(p)).toString('base64');
    const tampered = join(w.dir, 'tampered.json');
    await fsp.writeFile(tampered, JSON.stringify(env));
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [tampered]));
    expect(v.code).toBe(1);
    expect(v.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
    expect(v.json.error.details.reason).toBe('root-threshold');

    const garbage = join(w.dir, 'garbage.json');
    await fsp.writeFile(garbage, '{"payload":');
    const g = await w.run(verifyArgs(w, data, 'fraud-train@v1', [garbage]));
    expect(g.code).toBe(1);
    expect(g.json.error.code).toBe('POLICY_MALFORMED');
  });

  it('signed by fewer root keys than its threshold is refused (exit 1, POLICY_SIGNATURE_INVALID), saying how to add one', async () => {
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--role', 'producer']);
    await w.ok(['policy', 'rule', file, '--datasets', '*', '--require', 'producer=1']);
    await w.ok(['policy', 'sign', file, '--key', r1.key]);
    const data = await sealed(w, 'ds@v1', [carol]);
    const v = await w.run(verifyArgs(w, data, 'ds@v1', [file]));
    expect([v.code, v.json.error?.code, v.json.error?.details?.reason]).toEqual([1, 'POLICY_SIGNATURE_INVALID', 'root-threshold']);
    expect(v.json.error.message).toMatch(/signed by 1 of its root keys that count, and it needs 2 \(.*\); if it is the policy you meant, a root key holder adds a signature: snap policy sign \S*p\.json --key ROOT\.key$/);
  });

  it('policy sign, short of the root threshold, says how many more root signatures it needs, not the whole threshold again', async () => {
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    const human = await snap(['policy', 'sign', file, '--key', r1.key], { env: { SNAP_STATE_DIR: w.state } });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/: 1 signature added; 1 of 2 root signatures\n {2}it needs 1 more root signature, by another root key: snap policy sign \S+ --key ROOT\.key\n$/);
  });

  it('policy sign notes a signature by a key of the policy that no longer verifies: the file was changed after that root key signed, so the next holder reads before signing', async () => {
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--key-name', 'carol', '--role', 'producer']);
    await w.ok(['policy', 'rule', file, '--datasets', '*', '--require', 'producer=1']);
    await w.ok(['policy', 'sign', file, '--key', r1.key]);
    // Someone who can write the file swaps in other content (here: a later expiry), keeping r1's signature.
    const env = JSON.parse(await fsp.readFile(file, 'utf8'));
    const payload = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    payload.expires = '2099-01-01T00:00:00Z';
    env.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    await fsp.writeFile(file, JSON.stringify(env));
    const signed = await snapJson(['policy', 'sign', file, '--key', r2.key], { env: { SNAP_STATE_DIR: w.state } });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.json.invalidSignatures).toEqual([r1.keyid]);
    expect(signed.json.signatures).toBe(1);
    const human = await snap(['policy', 'sign', file, '--key', r2.key], { env: { SNAP_STATE_DIR: w.state } });
    expect(human.stderr).toContain(`note: the signature by ${r1.keyid.slice(0, 16)}`);
    expect(human.stderr).toContain('does not verify over what the file now says');
    // An untouched file signed by both: no note.
    const clean = join(w.dir, 'clean.json');
    await w.ok(['policy', 'init', clean, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    await w.ok(['policy', 'sign', clean, '--key', r1.key]);
    const second = await snapJson(['policy', 'sign', clean, '--key', r2.key], { env: { SNAP_STATE_DIR: w.state } });
    expect([second.code, second.json.signatures, second.json.invalidSignatures]).toEqual([0, 2, undefined]);
  });

  it('policy sign counts only root keys that count: signed by a root key the policy revoked, it says 0 root signatures and asks for one, as verify refuses it (root-threshold)', async () => {
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-threshold', '1']);
    await w.ok(['policy', 'add-key', file, '--pub', r2.pub, '--role', 'root']);
    await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--role', 'producer']);
    await w.ok(['policy', 'rule', file, '--datasets', '*', '--require', 'producer=1']);
    await w.ok(['policy', 'revoke-key', file, '--pub', r1.pub, '--reason', 'stolen']);
    const signed = await w.ok(['policy', 'sign', file, '--key', r1.key]);
    expect(signed.json.signatures).toBe(0);
    const human = await snap(['policy', 'sign', file, '--key', r1.key], { env: { SNAP_STATE_DIR: w.state } });
    expect(human.stdout).toMatch(/0 of 1 root signatures\n {2}it needs 1 root signature: snap policy sign/);
    const data = await sealed(w, 'ds@v1', [carol]);
    const v = await w.run(verifyArgs(w, data, 'ds@v1', [file], [r1]));
    expect([v.code, v.json.error?.code, v.json.error?.details?.reason]).toEqual([1, 'POLICY_SIGNATURE_INVALID', 'root-threshold']);
  });

  it('on first use must be signed by the --root keys given (exit 1, POLICY_SIGNATURE_INVALID), and needs them (exit 2, USAGE)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    const wrong = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy], [r3, r4]));
    expect(wrong.code).toBe(1);
    expect(wrong.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
    expect(wrong.json.error.details.reason).toBe('not-signed-by-given-roots');
    const none = await w.run(verifyArgs(w, data, 'fraud-train@v1', [policy], []));
    expect(none.code).toBe(2);
    expect(none.json.error.code).toBe('USAGE');
    expect((await w.run(['verify', data, '--against', 'fraud-train@v1', '--store', w.store])).code).toBe(2);
  });

  it('on first use counts each --root key once, however many files give it: one root key given twice does not meet a threshold of 2 (exit 1, POLICY_SIGNATURE_INVALID)', async () => {
    // Whoever stole r1 writes a policy whose roots are r1 and a key of their own (r3), threshold 2.
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub, '--root-key', r3.pub, '--root-threshold', '2']);
    await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--role', 'producer']);
    await w.ok(['policy', 'rule', file, '--datasets', '*', '--require', 'producer=1']);
    await w.ok(['policy', 'sign', file, '--key', r1.key, '--key', r3.key]);
    const data = await sealed(w, 'ds@v1', [carol]);
    const copy = join(w.dir, 'r1-copy.pub');
    await fsp.copyFile(r1.pub, copy);
    for (const roots of [[r1.pub, r1.pub], [r1.pub, copy]]) {
      const v = await w.run(['verify', data, '--against', 'ds@v1', '--policy', file, ...roots.flatMap((k) => ['--root', k]), '--store', w.store]);
      expect(v.code, v.stderr).toBe(1);
      expect(v.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
      expect(v.json.error.details.reason).toBe('not-signed-by-given-roots');
      expect(v.json.error.message).toContain('account for 1 of the 2');
    }
    const both = await w.run(['verify', data, '--against', 'ds@v1', '--policy', file, '--root', r1.pub, '--root', r3.pub, '--store', w.store]);
    expect(both.code, both.stderr).toBe(0);
  });

  it('rolled back to an older version is refused once a newer one was seen (exit 1, POLICY_ROLLBACK)', async () => {
    const w = await world();
    const v1 = await makePolicy(w);
    const v2 = join(w.dir, 'policy-v2.json');
    await fsp.copyFile(v1, v2);
    await w.ok(['policy', 'add-key', v2, '--pub', r3.pub, '--key-name', 'dave', '--role', 'reviewer']);
    await w.ok(['policy', 'sign', v2, '--key', r1.key, '--key', r2.key]);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1]))).code).toBe(0);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v2]))).code).toBe(0); // v2 now remembered
    const back = await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1]));
    expect(back.code).toBe(1);
    expect(back.json.error.code).toBe('POLICY_ROLLBACK');
    expect(back.json.error.details).toMatchObject({ reason: 'older', version: 1 });
    // Another machine (a fresh state) still accepts v1: the memory is per machine.
    expect((await snapJson(verifyArgs(w, data, 'fraud-train@v1', [v1]), { env: { SNAP_STATE_DIR: join(w.dir, 'other-state') } })).code).toBe(0);
  });

  it('takes the same chain of --policy files again on the next run: the versions this machine has trusted already are walked past, not refused as a rollback (exit 0); the versions after them are still anchored by the remembered roots', async () => {
    const w = await world();
    const v1 = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    const v2 = await rotateRoots(w, v1);
    // The gate's command, the same on every run: the whole chain from the first roots.
    for (const run of [1, 2]) {
      const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1, v2]));
      expect([run, v.code, v.json.error?.code], v.stderr).toEqual([run, 0, undefined]);
      expect(v.json.policy).toMatchObject({ name: 'acme', version: 2 });
    }
    // A v3 that whoever still holds the rotated-out r1 and r2 made (roots r1, r2 again), after the
    // chain: walking past v1 does not make r1 and r2 an anchor again.
    const v3 = join(w.dir, 'v3.json');
    await fsp.copyFile(v1, v3);
    await w.ok(['policy', 'set', v3, '--expires', '300d']);
    await w.ok(['policy', 'sign', v3, '--key', r1.key, '--key', r2.key]);
    await w.ok(['policy', 'set', v3, '--expires', '200d']);
    await w.ok(['policy', 'sign', v3, '--key', r1.key, '--key', r2.key]);
    const forged = await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1, v3]));
    expect([forged.code, forged.json.error?.code, forged.json.error?.details?.reason]).toEqual([1, 'POLICY_SIGNATURE_INVALID', 'rotation']);
    // The newest given older than the one trusted is still a rollback, chain or not.
    const back = await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1]));
    expect([back.code, back.json.error?.code, back.json.error?.details?.reason]).toEqual([1, 'POLICY_ROLLBACK', 'older']);
  });

  it('with the same version as one seen but other content is refused (exit 1, POLICY_ROLLBACK)', async () => {
    const w = await world();
    const v1 = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1]))).code).toBe(0);
    const other = join(w.dir, 'other.json');
    await w.ok(['policy', 'init', other, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    await w.ok(['policy', 'add-key', other, '--pub', carol.pub, '--role', 'producer']);
    await w.ok(['policy', 'rule', other, '--datasets', '*', '--require', 'producer=1']);
    await w.ok(['policy', 'sign', other, '--key', r1.key, '--key', r2.key]);
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [other]));
    expect(v.code).toBe(1);
    expect(v.json.error.code).toBe('POLICY_ROLLBACK');
    expect(v.json.error.details.reason).toBe('same-version-different-content');
  });

  it('rotates root keys: a new version signed by the previous roots is accepted; one signed only by rotated-out roots is refused (exit 1, POLICY_SIGNATURE_INVALID)', async () => {
    const w = await world();
    const v1 = await makePolicy(w);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1]))).code).toBe(0);

    const v2 = await rotateRoots(w, v1);
    expect(JSON.parse(Buffer.from(JSON.parse(await fsp.readFile(v2, 'utf8')).payload, 'base64').toString()).version).toBe(2);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v2]))).code).toBe(0);

    // v3 by whoever still holds the rotated-out r1 and r2: roots r1, r2 again, signed by them only.
    const v3 = join(w.dir, 'v3.json');
    await fsp.copyFile(v1, v3);
    await w.ok(['policy', 'set', v3, '--expires', '300d']); // v2, unsigned
    await w.ok(['policy', 'sign', v3, '--key', r1.key, '--key', r2.key]);
    await w.ok(['policy', 'set', v3, '--expires', '200d']); // v3, unsigned
    await w.ok(['policy', 'sign', v3, '--key', r1.key, '--key', r2.key]);
    const v = await w.run(verifyArgs(w, data, 'fraud-train@v1', [v3]));
    expect(v.code).toBe(1);
    expect(v.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
    expect(v.json.error.details.reason).toBe('rotation');

    // A machine that never saw any version walks the chain v1 → v2 from the first roots.
    const fresh = await snapJson(verifyArgs(w, data, 'fraud-train@v1', [v1, v2]), { env: { SNAP_STATE_DIR: join(w.dir, 'fresh') } });
    expect(fresh.code, fresh.stderr).toBe(0);
    // … and is not fooled by v3 when anchored by the new roots.
    const anchored = await snapJson(verifyArgs(w, data, 'fraud-train@v1', [v3], [r3, r4]), { env: { SNAP_STATE_DIR: join(w.dir, 'fresh2') } });
    expect(anchored.code).toBe(1);
    expect(anchored.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
  });

  it('revokes a root key for good: a version signed only by the revoked root key is refused once the version that revoked it was trusted (exit 1, POLICY_SIGNATURE_INVALID), as in a chain', async () => {
    const w = await world();
    // v1: roots r1, r2, one of them is enough; carol producer, bob reviewer.
    const v1 = join(w.dir, 'v1.json');
    await w.ok(['policy', 'init', v1, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '1']);
    await w.ok(['policy', 'add-key', v1, '--pub', carol.pub, '--role', 'producer']);
    await w.ok(['policy', 'add-key', v1, '--pub', bob.pub, '--role', 'reviewer']);
    await w.ok(['policy', 'rule', v1, '--datasets', 'fraud-*', '--require', 'producer=1', '--require', 'reviewer=1']);
    await w.ok(['policy', 'sign', v1, '--key', r1.key]);
    // v2: r1 was stolen and is revoked; r2 signs.
    const v2 = join(w.dir, 'v2.json');
    await fsp.copyFile(v1, v2);
    await w.ok(['policy', 'revoke-key', v2, '--pub', r1.pub, '--reason', 'stolen']);
    await w.ok(['policy', 'sign', v2, '--key', r2.key]);
    const data = await sealed(w, 'fraud-train@v1', [carol, bob]);
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v1, v2], [r1]))).code).toBe(0);

    // v3 by the thief of r1: r1 the only root again, r2 gone, the thief's keys alice (producer) and r4 (reviewer).
    const v3 = join(w.dir, 'v3.json');
    await fsp.copyFile(v2, v3);
    await w.ok(['policy', 'remove-key', v3, '--pub', r1.pub]);
    await w.ok(['policy', 'add-key', v3, '--pub', r1.pub, '--role', 'root']);
    await w.ok(['policy', 'remove-key', v3, '--pub', r2.pub]);
    await w.ok(['policy', 'add-key', v3, '--pub', alice.pub, '--role', 'producer']);
    await w.ok(['policy', 'add-key', v3, '--pub', r4.pub, '--role', 'reviewer']);
    await w.ok(['policy', 'sign', v3, '--key', r1.key]);
    const poisoned = await sealed(w, 'fraud-train@v2', [alice, r4]);
    const v = await w.run(verifyArgs(w, poisoned, 'fraud-train@v2', [v3], []));
    expect(v.code).toBe(1);
    expect(v.json.error.code).toBe('POLICY_SIGNATURE_INVALID');
    expect(v.json.error.details.reason).toBe('rotation');
    // The same as a machine that walks the chain v1 → v2 → v3.
    const chain = await snapJson(verifyArgs(w, poisoned, 'fraud-train@v2', [v1, v2, v3], [r1]), { env: { SNAP_STATE_DIR: join(w.dir, 'fresh') } });
    expect(chain.json.error.code).toBe('POLICY_SIGNATURE_INVALID');

    // A state written before (every root keyid of v2 remembered, r1 too) forgets r1 at the next verify of v2.
    const statePath = join(w.state, 'trusted-state.json');
    const st = JSON.parse(await fsp.readFile(statePath, 'utf8'));
    const keys = JSON.parse(Buffer.from(JSON.parse(await fsp.readFile(v2, 'utf8')).payload, 'base64').toString()).keys;
    st.policies.acme.root.keys = Object.fromEntries(Object.entries(keys).filter(([, k]) => ['r1', 'r2'].includes((k as { name: string }).name)).map(([id, k]) => [id, (k as { publicKey: string }).publicKey]));
    expect(Object.keys(st.policies.acme.root.keys)).toHaveLength(2);
    await fsp.writeFile(statePath, JSON.stringify(st));
    expect((await w.run(verifyArgs(w, data, 'fraud-train@v1', [v2], []))).code).toBe(0);
    expect((await w.run(verifyArgs(w, poisoned, 'fraud-train@v2', [v3], []))).json.error.code).toBe('POLICY_SIGNATURE_INVALID');
  });

  it('has a root signature that OpenSSL verifies over the PAE of its payload type', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const env = JSON.parse(await fsp.readFile(policy, 'utf8'));
    expect(env.payloadType).toBe(POLICY_PAYLOAD_TYPE);
    const msg = join(w.dir, 'pae.bin');
    await fsp.writeFile(msg, pae(env.payloadType, Buffer.from(env.payload, 'base64')));
    const doc = await readPolicyFile(policy);
    const i = doc.envelope.signatures.findIndex((s) => s.keyid === r1.keyid);
    const sig = join(w.dir, 'sig.bin');
    await fsp.writeFile(sig, Buffer.from(env.signatures[i].sig, 'base64'));
    const good = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', r1.pub, '-rawin', '-in', msg, '-sigfile', sig], { encoding: 'utf8' });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('Signature Verified Successfully');
    const bad = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', r2.pub, '-rawin', '-in', msg, '-sigfile', sig], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('shows what it says and verifies against --root (policy show), exit 1 when it does not', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const s = await w.ok(['policy', 'show', policy, '--root', r1.pub, '--root', r2.pub]);
    expect(s.json.verified).toEqual({ ok: true });
    expect(s.json.policy).toMatchObject({ name: 'acme', version: 1, root: { threshold: 2 } });
    expect(s.json.signatures).toEqual([
      { keyid: r1.keyid, valid: true, root: true, name: 'r1' },
      { keyid: r2.keyid, valid: true, root: true, name: 'r2' },
    ]);
    const f = await w.run(['policy', 'show', policy, '--root', r3.pub]);
    expect(f.code).toBe(1);
    expect(f.json.verified.code).toBe('POLICY_SIGNATURE_INVALID');
  });

  it('becomes the next version, unsigned, when a signed policy is changed', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const r = await w.ok(['policy', 'add-key', policy, '--pub', r3.pub, '--role', 'auditor']);
    expect(r.json).toMatchObject({ version: 2, signatures: 0 });
    const again = await w.ok(['policy', 'add-key', policy, '--pub', r4.pub, '--role', 'auditor']);
    expect(again.json.version).toBe(2);
  });

  it('refuses bad edits with USAGE (exit 2): an unknown role in a rule, a threshold above the root keys, a bad --require', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    for (const args of [
      ['policy', 'rule', policy, '--datasets', 'x', '--require', 'auditor=1'],
      ['policy', 'set', policy, '--root-threshold', '3'],
      ['policy', 'rule', policy, '--datasets', 'x', '--require', 'producer'],
      ['policy', 'rule', policy, '--datasets', 'Bad/Name', '--require', 'producer=1'],
      ['policy', 'remove-key', policy, '--pub', r1.pub],
    ]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
    }
    const exists = await w.run(['policy', 'init', policy, '--name', 'acme', '--root-key', r1.pub]);
    expect(exists.code).toBe(3);
    expect(exists.json.error.code).toBe('FILE_EXISTS');
  });
});

describe('policy add-key without --key-name', () => {
  it("names the key after its file without .pub (keys/alice.pub: alice), as --help says", async () => {
    const w = await world();
    const file = join(w.dir, 'p.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub]);
    await w.ok(['policy', 'add-key', file, '--pub', alice.pub, '--role', 'producer']);
    const shown = await w.ok(['policy', 'show', file]);
    expect(alice.pub.endsWith('/alice.pub')).toBe(true);
    expect(Object.values(shown.json.policy.keys as Record<string, { name: string }>).map((k) => k.name).sort()).toEqual(['alice', 'r1']);
    const help = (await snap(['policy', '--help'], { env: { COLUMNS: '300' } })).stdout.replace(/\s+/g, ' ');
    expect(help).toContain("--key-name add-key: who holds the key (default: the file's name without .pub: alice for keys/alice.pub)");
  });
});

describe('a flag of another policy action', () => {
  it('is a usage error (exit 2), the policy file untouched: `policy rule … --role reviewer` made a new version without it', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const before = await fsp.readFile(policy);
    for (const [args, flag] of [
      [['policy', 'rule', policy, '--datasets', 'x-*', '--require', 'producer=1', '--role', 'reviewer'], '--role'],
      [['policy', 'show', policy, '--name', 'other'], '--name'],
      [['policy', 'show', policy, '--require', 'producer=2'], '--require'],
      [['policy', 'sign', policy, '--key', r1.key, '--root', r1.pub], '--root'],
      [['policy', 'add-key', policy, '--pub', r4.pub, '--role', 'auditor', '--max-age', '9d'], '--max-age'],
      [['policy', 'revoke-key', policy, '--pub', bob.pub, '--reason', 'lost', '--key-name', 'bob'], '--key-name'],
      [['policy', 'remove-key', policy, '--pub', bob.pub, '--reason', 'gone'], '--reason'],
      [['policy', 'set', policy, '--expires', '30d', '--datasets', 'x'], '--datasets'],
      [['policy', 'init', join(w.dir, 'new.json'), '--name', 'n', '--root-key', r1.pub, '--key', r1.key], '--key'],
    ] as [string[], string][]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error.code, args.join(' ')).toBe('USAGE');
      expect(r.json.error.message, args.join(' ')).toContain(flag);
    }
    expect(await fsp.readFile(policy)).toEqual(before);
    await expect(fsp.access(join(w.dir, 'new.json'))).rejects.toThrow();
  });
});

describe('a policy flag given without its value', () => {
  it('is a usage error (exit 2) naming the flag, as for every other command: `add-key --pub --role producer` read the working folder as the key (IO_ERROR, exit 3)', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    for (const [args, flag] of [
      [['policy', 'add-key', policy, '--pub', '--role', 'producer'], 'pub'],
      [['policy', 'add-key', policy, '--pub', r4.pub, '--role'], 'role'],
      [['policy', 'rule', policy, '--datasets', '--require', 'producer=1'], 'datasets'],
      [['policy', 'set', policy, '--expires'], 'expires'],
      [['policy', 'sign', policy, '--key'], 'key'],
      [['policy', 'show', policy, '--root'], 'root'],
      [['policy', 'init', join(w.dir, 'n.json'), '--name', '--root-key', r1.pub], 'name'],
    ] as [string[], string][]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error, args.join(' ')).toMatchObject({ code: 'USAGE', message: expect.stringContaining(`Not enough arguments following: ${flag}`) });
    }
  });
});

describe('policy --root-threshold', () => {
  it('names the flag and the value when the value is not a whole number from 1 (exit 2), the file untouched', async () => {
    const w = await world();
    const policy = await makePolicy(w);
    const before = await fsp.readFile(policy);
    for (const value of ['abc', '0', '1.5']) {
      const r = await w.run(['policy', 'set', policy, '--root-threshold', value]);
      expect(r.code, value).toBe(2);
      expect(r.json.error, value).toMatchObject({ code: 'USAGE', message: `--root-threshold takes a whole number from 1 to 1000; got ${JSON.stringify(value)}` });
    }
    expect(await fsp.readFile(policy)).toEqual(before);
  });
});

describe('two snap policy runs on one file', () => {
  it('take turns under the lock file beside it: a signing that waited adds its signature to what the other signer wrote, none is lost', async () => {
    const w = await world();
    const policy = join(w.dir, 'policy.json');
    await w.ok(['policy', 'init', policy, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '2']);
    // What the other signer (r1) writes: the unsigned file it read, plus its signature.
    const other = join(w.dir, 'other.json');
    await fsp.copyFile(policy, other);
    await w.ok(['policy', 'sign', other, '--key', r1.key]);
    // The other signer holds the policy's lock (this live process stands for it) while r2 signs.
    const lock = join(w.dir, '.policy.json.lock');
    await fsp.writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const { child, done } = spawnSnap(['policy', 'sign', policy, '--key', r2.key, '--json'], { env: { SNAP_STATE_DIR: w.state } });
    // Without the lock, r2 would read the unsigned file and finish now; the other signer's rename would then drop r2's signature.
    await stderrSays(child, `note: waiting for the policy ${policy}, locked by another snap (pid ${process.pid}`);
    await fsp.copyFile(other, policy);
    await fsp.rm(lock);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const shown = await w.ok(['policy', 'show', policy, '--json']);
    expect(shown.json.signatures.map((s: { keyid: string }) => s.keyid).sort()).toEqual([r1.keyid, r2.keyid].sort());
    expect(await fsp.access(lock).then(() => 'left', () => 'gone')).toBe('gone');
  });

  it('take over a lock left by a snap that was killed (its process is gone): the edit goes ahead', async () => {
    const w = await world();
    const policy = join(w.dir, 'policy.json');
    await w.ok(['policy', 'init', policy, '--name', 'acme', '--root-key', r1.pub]);
    const dead = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' }).pid as number;
    await fsp.writeFile(join(w.dir, '.policy.json.lock'), JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const r = await w.ok(['policy', 'add-key', policy, '--pub', alice.pub, '--key-name', 'alice', '--role', 'producer']);
    expect(r.json).toMatchObject({ ok: true, version: 1 });
    expect(await fsp.access(join(w.dir, '.policy.json.lock')).then(() => 'left', () => 'gone')).toBe('gone');
  });
});

describe('policy rules (library)', () => {
  const keys = { a: 'a'.repeat(64), b: 'b'.repeat(64), c: 'c'.repeat(64) };
  const p = {
    roles: { producer: { keyids: [keys.a, keys.b] }, reviewer: { keyids: [keys.a] }, security: { keyids: [keys.b, keys.c] } },
  } as unknown as Policy;

  it('assigns keys to roles so that each key counts once, when an assignment exists', () => {
    expect(assignRoles(p, { datasets: ['*'], require: { producer: 1, reviewer: 1 } }, [keys.a, keys.b])).toMatchObject({ ok: true, counted: { producer: [keys.b], reviewer: [keys.a] } });
    expect(assignRoles(p, { datasets: ['*'], require: { producer: 1, reviewer: 1, security: 1 } }, [keys.a, keys.b, keys.c]).ok).toBe(true);
    const short = assignRoles(p, { datasets: ['*'], require: { producer: 2, reviewer: 1 } }, [keys.a, keys.b]);
    expect(short.ok).toBe(false);
    expect(Object.values(short.missing).reduce((x, y) => x + y, 0)).toBe(1); // two keys, three slots
    expect(assignRoles(p, { datasets: ['*'], require: { producer: 1 } }, [keys.a, keys.a]).ok).toBe(true);
    expect(assignRoles(p, { datasets: ['*'], require: { producer: 2 } }, [keys.a, keys.a]).ok).toBe(false);
  });

  it('refuses a snapshot older than the rule\'s maxAgeDays (SNAPSHOT_TOO_OLD)', async () => {
    const w = await world();
    const file = await makePolicy(w);
    const doc = await readPolicyFile(file);
    const v = establishPolicy([doc], (await Promise.all([r1, r2].map(async (k) => (await import('../../src/io/keyfile.js')).readPublicKey(k.pub)))), { format: 'snap-trusted-state/1', policies: {}, latest: {} }, new Date());
    const rule = { ...v.policy.rules[0], maxAgeDays: 30 } as Policy['rules'][number];
    const aged = { ...v, policy: validatePolicy({ ...v.policy, rules: [rule] }) };
    const st = buildStatement({ dataset: 'fraud-x', version: 'v1', merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1, createdAt: '2026-01-01T00:00:00Z', tool: { name: 'snap', version: '0' } });
    expect(policyFailure(aged, st, [carol.keyid, bob.keyid], new Date('2026-01-30T00:00:00Z')).failure).toBeUndefined();
    expect(policyFailure(aged, st, [carol.keyid, bob.keyid], new Date('2026-01-31T00:00:00Z')).failure?.code).toBe('SNAPSHOT_TOO_OLD');
  });

  it('refuses an expired policy (POLICY_EXPIRED), TUF\'s freeze check', async () => {
    const w = await world();
    const file = await makePolicy(w);
    const doc = await readPolicyFile(file);
    const roots = await Promise.all([r1, r2].map(async (k) => (await import('../../src/io/keyfile.js')).readPublicKey(k.pub)));
    const state = { format: 'snap-trusted-state/1' as const, policies: {}, latest: {} };
    expect(() => establishPolicy([doc], roots, state, new Date(new Date(doc.policy.expires).getTime() + 1000))).toThrow(expect.objectContaining({ code: 'POLICY_EXPIRED' }));
    expect(establishPolicy([doc], roots, state, new Date()).policy.version).toBe(1);
  });

  it('knows only the roles the policy lists: a name every JSON object inherits ("constructor") is no role until a key is given it', async () => {
    const w = await world();
    const file = join(w.dir, 'policy.json');
    await w.ok(['policy', 'init', file, '--name', 'acme', '--root-key', r1.pub]);
    await w.ok(['policy', 'add-key', file, '--pub', alice.pub, '--role', 'producer']);
    const unknown = await w.run(['policy', 'rule', file, '--datasets', '*', '--require', 'constructor=1']);
    expect([unknown.code, unknown.json.error.code]).toEqual([2, 'USAGE']);
    const base = { ...(await readPolicyFile(file)).policy };
    expect(() => validatePolicy({ ...base, rules: [{ datasets: ['*'], require: { constructor: 1 } }] })).toThrow(expect.objectContaining({ code: 'POLICY_MALFORMED' }));
    // Given to a key, it is a role like any other, and a snapshot that key signed satisfies it.
    await w.ok(['policy', 'add-key', file, '--pub', carol.pub, '--role', 'constructor']);
    await w.ok(['policy', 'rule', file, '--datasets', '*', '--require', 'constructor=1']);
    await w.ok(['policy', 'sign', file, '--key', r1.key]);
    const data = await sealed(w, 'ds@v1', [carol]);
    await w.ok(verifyArgs(w, data, 'ds@v1', [file], [r1]));
    const other = await sealed(w, 'ds@v2', [alice]);
    const refused = await w.run(verifyArgs(w, other, 'ds@v2', [file], [r1]));
    expect([refused.code, refused.json.failure.code]).toEqual([1, 'POLICY_NOT_SATISFIED']);
  });

  it('does not let a root key whose period ended after the trusted state remembered it sign the next version alone (POLICY_SIGNATURE_INVALID, rotation), as in a chain', async () => {
    const w = await world();
    // v1: roots r1 (for one more day) and r2; one of them is enough.
    const v1 = join(w.dir, 'v1.json');
    await w.ok(['policy', 'init', v1, '--name', 'acme', '--root-key', r1.pub, '--root-key', r2.pub, '--root-threshold', '1']);
    await w.ok(['policy', 'add-key', v1, '--pub', r1.pub, '--key-name', 'r1', '--role', 'root', '--valid-until', '1d']);
    await w.ok(['policy', 'sign', v1, '--key', r1.key]);
    // v2, by whoever still holds r1 once its period is over: r1 without an end, r2 gone.
    const v2 = join(w.dir, 'v2.json');
    await fsp.copyFile(v1, v2);
    await w.ok(['policy', 'add-key', v2, '--pub', r1.pub, '--key-name', 'r1', '--role', 'root']);
    await w.ok(['policy', 'remove-key', v2, '--pub', r2.pub]);
    await w.ok(['policy', 'sign', v2, '--key', r1.key]);
    const [d1, d2] = [await readPolicyFile(v1), await readPolicyFile(v2)];
    const roots = await Promise.all([r1, r2].map(async (k) => (await import('../../src/io/keyfile.js')).readPublicKey(k.pub)));
    const now = new Date();
    const later = new Date(now.getTime() + 2 * 86_400_000);
    // This machine trusted v1 while r1 still counted.
    const state = { format: 'snap-trusted-state/1' as const, policies: {}, latest: {} };
    rememberPolicy(state, establishPolicy([d1], roots, state, now), now);
    expect(Object.keys((state.policies as Record<string, { root: { keys: object } }>).acme!.root.keys)).toContain(r1.keyid);
    // Walking the chain v1 → v2 after r1's period refuses v2 …
    expect(() => establishPolicy([d1, d2], roots, { ...state, policies: {} }, later)).toThrow(expect.objectContaining({ code: 'POLICY_SIGNATURE_INVALID' }));
    // … and so must the remembered v1.
    expect(() => establishPolicy([d2], [], state, later)).toThrow(expect.objectContaining({ code: 'POLICY_SIGNATURE_INVALID', details: expect.objectContaining({ reason: 'rotation' }) }));
    // Before the end of r1's period, r1 may sign the next version.
    expect(establishPolicy([d2], [], state, now).policy.version).toBe(2);
  });

  it('matches dataset patterns with * and ? only', async () => {
    const { patternMatches } = await import('../../src/core/policy.js');
    expect(patternMatches('fraud-*', 'fraud-train')).toBe(true);
    expect(patternMatches('fraud-*', 'fraud')).toBe(false);
    expect(patternMatches('*-v?', 'spam-v2')).toBe(true);
    expect(patternMatches('*', 'anything')).toBe(true);
    expect(patternMatches('a.b', 'axb')).toBe(false);
  });
});
