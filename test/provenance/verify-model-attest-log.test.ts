/**
 * `snap verify-model` and the audit log: a model passes only when every trusted attestation that
 * covers it names trusted data, so deleting the attestation that names poisoned (revoked) data —
 * which needs no key — made the model pass on another. The log records each attestation's artifacts
 * (FORMAT.md §13): one the log says covered the files that the store no longer holds fails the model.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, tempDir, type KeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { appendAudit, LOG_FILE } from '../../src/io/audit-log.js';
import { schemaErrors } from '../helpers/json-schemas.js';

let keys: KeyPair;
let store: string;
let work: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  keys = await makeKeyPair('vm-log');
  store = await newStorePath();
  work = await tempDir('snap-vm-log-');
  for (const [files, as] of [[{ 'scrape.csv': '1\n' }, 'scrape@v1'], [{ 'clean.csv': '1\n' }, 'clean@v1']] as const) {
    const r = await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', store, '--no-pipeline']);
    if (r.code !== 0) throw new Error(r.stderr);
    ids[as] = r.json.snapshot;
  }
  await fsp.writeFile(join(work, 'm.bin'), 'weights');
  // The same model file attested twice: once as trained on scrape@v1, once on clean@v1.
  for (const [as, data] of [['m-scrape@1', 'scrape@v1'], ['m-clean@1', 'clean@v1']]) {
    const r = await snapJson(['attest', 'm.bin', '--data', data as string, '--key', keys.key, '--as', as as string, '--store', store], { cwd: work });
    if (r.code !== 0) throw new Error(r.stderr);
    ids[as as string] = r.json.attestation;
  }
  expect((await snapJson(['revoke', 'scrape@v1', '--reason', 'poisoned', '--key', keys.key, '--store', store])).code).toBe(0);
  expect((await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store])).json.failure.code).toBe('SNAPSHOT_REVOKED');
});

describe('verify-model of a model whose attestation naming revoked data was deleted (no key needed)', () => {
  it('fails (INTEGRITY_FAILURE, exit 1) and names the attestation the audit log records; it passed on the other attestation', async () => {
    const dir = join(store, 'attestations', 'm-scrape');
    const keep = join(work, 'kept-attestation');
    await fsp.cp(dir, keep, { recursive: true });
    await fsp.rm(dir, { recursive: true, force: true });
    try {
      const r = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
      expect(r.json.failure.message).toContain('m-scrape@1');
      expect(r.json.attestations.map((x: { ref: string }) => x.ref)).toEqual(['m-clean@1']);
      expect(r.json.missingAttestations).toEqual([{ ref: 'm-scrape@1', id: ids['m-scrape@1'], seq: expect.any(Number), time: expect.any(String), state: 'gone', datasets: [{ ref: 'scrape@v1', snapshot: ids['scrape@v1'] }], models: [{ name: 'm.bin', sha256: expect.any(String) }] }]);
      const human = await snap(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^ {2}missing {6}m-scrape@1 sha256:\S+ {2}removed \(audit log seq \d+\), trained on scrape@v1$/m);
    } finally {
      await fsp.cp(keep, dir, { recursive: true });
    }
  });

  it('fails (INTEGRITY_FAILURE, exit 1) when the statement.json of the trusted attestation naming revoked data was altered (no key needed): its signed envelope still says so; it passed on the other attestation', async () => {
    const file = join(store, 'attestations', 'm-scrape', '1', 'statement.json');
    const before = await fsp.readFile(file);
    await fsp.writeFile(file, Buffer.concat([before, Buffer.from(' ')]));
    try {
      const r = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
      expect(r.json.failure.message).toContain('m-scrape@1');
      expect(r.json.rejected).toEqual([{ ref: 'm-scrape@1', id: ids['m-scrape@1'], failure: { code: 'INTEGRITY_FAILURE', message: expect.stringContaining('differs from the signed payload') } }]);
    } finally {
      await fsp.writeFile(file, before);
    }
  });

  it('fails (INTEGRITY_FAILURE, exit 1) when the signature of the attestation naming revoked data was corrupted or removed in the store (no key needed): the audit log records that a trusted key signed it; it passed on the other attestation', async () => {
    const file = join(store, 'attestations', 'm-scrape', '1', 'envelope.json');
    const before = await fsp.readFile(file, 'utf8');
    const env = JSON.parse(before);
    const sig = env.signatures[0].sig as string;
    const corrupted = { ...env, signatures: [{ ...env.signatures[0], sig: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }] };
    const otherKeyid = { ...env, signatures: [{ keyid: 'f'.repeat(64), sig: corrupted.signatures[0].sig }] };
    try {
      for (const edited of [corrupted, otherKeyid, { ...env, signatures: [] }]) {
        await fsp.writeFile(file, JSON.stringify(edited));
        const r = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
        expect(r.code, r.stdout).toBe(1);
        expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
        expect(r.json.missingAttestations).toEqual([expect.objectContaining({ ref: 'm-scrape@1', id: ids['m-scrape@1'], state: 'unverified' })]);
        expect(schemaErrors('verify-model', r.json)).toBe('');
      }
      const human = await snap(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
      expect(human.stdout).toMatch(/^ {2}missing {6}m-scrape@1 sha256:\S+ {2}its trusted signature no longer verifies \(audit log seq \d+\), trained on scrape@v1$/m);
    } finally {
      await fsp.writeFile(file, before);
    }
    const log = await fsp.readFile(join(store, 'log.jsonl'), 'utf8');
    const line = log.split('\n').map((l) => (l ? JSON.parse(l) : undefined)).find((l) => l?.command === 'attest' && l.ref === 'm-scrape@1');
    expect(line.details.signers).toEqual([keys.keyid]);
  });

  it('says, when every attestation of the files was deleted, that the audit log records one as made for them (not "never attested")', async () => {
    const dirs = ['m-scrape', 'm-clean'].map((m) => join(store, 'attestations', m));
    const kept = dirs.map((d, i) => join(work, `kept-all-${i}`));
    for (let i = 0; i < dirs.length; i++) await fsp.cp(dirs[i] as string, kept[i] as string, { recursive: true });
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
    try {
      const r = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('ATTESTATION_NOT_FOUND');
      expect(r.json.failure.message).toMatch(/^no attestation in the store covers these model files, but the audit log records m-scrape@1 \(sha256:[0-9a-f]{64}, line seq \d+\), m-clean@1 \(sha256:[0-9a-f]{64}, line seq \d+\) as made for them, and they are gone from the store/);
      expect(r.json.failure.message).not.toContain('never attested');
    } finally {
      for (let i = 0; i < dirs.length; i++) await fsp.cp(kept[i] as string, dirs[i] as string, { recursive: true });
    }
  });

  it('is not failed by a planted line for other files, nor by one for a model of another name under --expect', async () => {
    const s = await newStorePath();
    expect((await snapJson(['seal', await makeTree({ 'a.csv': '1\n' }), '--as', 'clean@v1', '--key', keys.key, '--store', s])).code).toBe(0);
    expect((await snapJson(['attest', 'm.bin', '--data', 'clean@v1', '--key', keys.key, '--as', 'm@1', '--store', s], { cwd: work })).code).toBe(0);
    const clean = (await snapJson(['show', 'clean@v1', '--store', s])).json.snapshot as string;
    const sha = (await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', s])).json.files[0].sha256 as string;
    await appendAudit(s, { command: 'attest', ref: 'other@1', snapshot: `sha256:${'ab'.repeat(32)}`, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'clean@v1', snapshot: clean }], models: [{ name: 'o.bin', sha256: 'cd'.repeat(32) }] } });
    await appendAudit(s, { command: 'attest', ref: 'stranger@1', snapshot: `sha256:${'ef'.repeat(32)}`, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'clean@v1', snapshot: clean }], models: [{ name: 'm.bin', sha256: sha }] } });
    const expected = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', s, '--expect', 'm']);
    expect(expected.code, expected.stdout).toBe(0);
    expect(expected.json.missingAttestations).toEqual([]);
    // Without --expect, the line naming these files' digest is believed: a false alarm, exit 1.
    const any = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', s]);
    expect(any.code).toBe(1);
    expect(any.json.missingAttestations.map((x: { ref: string }) => x.ref)).toEqual(['stranger@1']);
  });

  it('fails (INTEGRITY_FAILURE) when the attestation was removed with its log line from under a signed checkpoint, the log written anew as an intact chain', async () => {
    const s = await newStorePath();
    const w = await tempDir('snap-vm-log-cp-');
    for (const [files, as] of [[{ 'scrape.csv': '1\n' }, 'scrape@v1'], [{ 'clean.csv': '1\n' }, 'clean@v1']] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s, '--no-pipeline'])).code).toBe(0);
    }
    await fsp.writeFile(join(w, 'm.bin'), 'weights');
    for (const [as, data] of [['m-scrape@1', 'scrape@v1'], ['m-clean@1', 'clean@v1']] as const) {
      expect((await snapJson(['attest', 'm.bin', '--data', data, '--key', keys.key, '--as', as, '--store', s], { cwd: w })).code).toBe(0);
    }
    expect((await snapJson(['revoke', 'scrape@v1', '--reason', 'poisoned', '--key', keys.key, '--store', s])).code).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', s])).code).toBe(0);
    // The erase: the attestation folder, and its attest line (the log replayed into an intact chain with a new head).
    await fsp.rm(join(s, 'attestations', 'm-scrape'), { recursive: true, force: true });
    const lines = (await fsp.readFile(join(s, 'log.jsonl'), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    await fsp.rm(join(s, 'log.jsonl'));
    await fsp.rm(join(s, 'log.head'));
    for (const e of lines.filter((x) => !(x.command === 'attest' && x.ref === 'm-scrape@1'))) {
      await appendAudit(s, { command: e.command, ...(e.ref !== undefined ? { ref: e.ref } : {}), ...(e.snapshot !== undefined ? { snapshot: e.snapshot } : {}), outcome: e.outcome, exit: e.exit, ...(e.details !== undefined ? { details: e.details } : {}), now: new Date(e.time) });
    }
    const r = await snapJson(['verify-model', join(w, 'm.bin'), '--pubkey', keys.pub, '--store', s]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
    expect(r.json.failure.message).toContain('no longer extends its checkpoints');
    expect(r.json.auditLog.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['mismatch']);
  });
  it('takes a log.checkpoints that is a file, not a folder, as a problem of the log (malformed, exit 1), in verify-model and impact, not as an error (exit 3)', async () => {
    const s = await newStorePath();
    const w = await tempDir('snap-vm-log-cpfile-');
    expect((await snapJson(['seal', await makeTree({ 'a.csv': '1\n' }), '--as', 'clean@v1', '--key', keys.key, '--store', s, '--no-pipeline'])).code).toBe(0);
    await fsp.writeFile(join(w, 'm.bin'), 'weights');
    expect((await snapJson(['attest', 'm.bin', '--data', 'clean@v1', '--key', keys.key, '--as', 'm@1', '--store', s], { cwd: w })).code).toBe(0);
    expect((await snapJson(['verify-model', join(w, 'm.bin'), '--pubkey', keys.pub, '--store', s])).code).toBe(0);
    await fsp.rm(join(s, 'log.checkpoints'), { recursive: true, force: true });
    await fsp.writeFile(join(s, 'log.checkpoints'), 'not a folder\n');
    const r = await snapJson(['verify-model', join(w, 'm.bin'), '--pubkey', keys.pub, '--store', s]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.failure.code).toBe('INTEGRITY_FAILURE');
    expect(r.json.auditLog.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['malformed']);
    const i = await snapJson(['impact', 'clean@v1', '--store', s]);
    expect(i.code, i.stdout).toBe(1);
    expect(i.json.auditLog.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['malformed']);
    expect(i.json.auditLog.checkpoints.problems[0].message).toBe(`cannot list the checkpoints: ${join(s, 'log.checkpoints')} is not a folder`);
    // Said as what it is: the log cannot be checked — not that lines were removed or rewritten.
    const h = await snap(['impact', 'clean@v1', '--store', s]);
    expect(h.stdout).toContain('the audit log cannot be checked against its checkpoints');
    expect(h.stdout).not.toContain('removed or rewritten');
  });
});

describe('verify-model of a store whose audit log was removed with an attestation (found by review, thirty-eighth session: it said "model verified" with no word)', () => {
  it('says in a note that the store has no audit log (a store made through the library keeps none, so not a failure); with the log in place the removed attestation is named', async () => {
    const copy = join(await tempDir('snap-vm-nolog-'), 'store');
    await fsp.cp(store, copy, { recursive: true });
    await fsp.rm(join(copy, 'attestations', 'm-scrape'), { recursive: true, force: true });
    for (const f of [LOG_FILE, 'log.head', 'log.checkpoints']) await fsp.rm(join(copy, f), { recursive: true, force: true });
    const r = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', copy]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stderr).toMatch(/^note: the store has no audit log \(log\.jsonl\), which a store the snap command made holds from its start .*cannot be seen here$/m);
    expect(r.json.attestations.map((x: { ref: string }) => x.ref)).toEqual(['m-clean@1']);
    // With its log in place and the same attestation removed, the log names it (as above): exit 1.
    const kept = join(await tempDir('snap-vm-log-kept-'), 'store');
    await fsp.cp(store, kept, { recursive: true });
    await fsp.rm(join(kept, 'attestations', 'm-scrape'), { recursive: true, force: true });
    const named = await snapJson(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', kept]);
    expect(named.code).toBe(1);
    expect(named.stderr).not.toContain('no audit log');
    expect(named.json.missingAttestations.map((m: { ref: string }) => m.ref)).toEqual(['m-scrape@1']);
  });
});
