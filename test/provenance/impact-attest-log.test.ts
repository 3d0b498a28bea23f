/**
 * `snap impact` cross-checks the store's model attestations against the audit log: deleting an
 * attestation folder needs no key, and before, the model trained on a poisoned snapshot then left
 * impact's answer without a word (exit 0). Each successful `attest` records, in its log line, the
 * attestation's MODEL@VERSION and id, the artifacts' SHA-256 and the training snapshots
 * (FORMAT.md §13, §18); every attestation the log records must still be in the store with that id.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapJson, tempDir, type KeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { appendAudit, LOG_FILE, MAX_LOG_LINE_BYTES } from '../../src/io/audit-log.js';
import { canonicalJson } from '../../src/core/canonical-json.js';

let keys: KeyPair;

/** A store with src@v1 → mid@v1 (derived) and other@v1; models on them as `models` says (MODEL → --data). */
async function makeStore(models: Record<string, string>): Promise<{ store: string; work: string; ids: Record<string, string>; attestations: Record<string, string> }> {
  const store = await newStorePath();
  const work = await tempDir('snap-att-log-');
  const ids: Record<string, string> = {};
  for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']], [{ 'x.csv': '1\n' }, 'other@v1', []]] as const) {
    const r = await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', store, '--no-pipeline', ...extra]);
    if (r.code !== 0) throw new Error(`seal ${as}: ${r.stderr}`);
    ids[as] = r.json.snapshot;
  }
  const attestations: Record<string, string> = {};
  for (const [m, data] of Object.entries(models)) {
    await fsp.writeFile(join(work, `${m}.bin`), `weights of ${m}`);
    const r = await snapJson(['attest', `${m}.bin`, '--data', data, '--key', keys.key, '--as', `${m}@1`, '--store', store], { cwd: work });
    if (r.code !== 0) throw new Error(`attest ${m}: ${r.stderr}`);
    attestations[m] = r.json.attestation;
  }
  return { store, work, ids, attestations };
}

/** What someone who can write the store (no key) does to an attestation folder. */
async function removeAttestation(store: string, model: string): Promise<void> {
  await fsp.rm(join(store, 'attestations', model, '1'), { recursive: true, force: true });
}

/** The log lines as parsed objects. */
async function logEntries(store: string): Promise<Record<string, any>[]> {
  const text = await fsp.readFile(join(store, LOG_FILE), 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

const FAKE_ID = `sha256:${'ab'.repeat(32)}`;

beforeAll(async () => {
  keys = await makeKeyPair('attlog');
});

describe('the audit line of a successful attest', () => {
  it('records the training snapshots, the artifacts by name and SHA-256 and the keyid that signed it, besides MODEL@VERSION and the attestation id', async () => {
    const { store, ids, attestations } = await makeStore({ m: 'mid@v1' });
    const line = (await logEntries(store)).find((e) => e.command === 'attest');
    expect(line).toMatchObject({ command: 'attest', outcome: 'ok', ref: 'm@1', snapshot: attestations.m });
    expect(line?.details).toEqual({
      datasets: [{ ref: 'mid@v1', snapshot: ids['mid@v1'] }],
      models: [{ name: 'm.bin', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
      signers: [keys.keyid],
    });
  });
});

describe('impact of a snapshot whose model attestation was deleted from the store', () => {
  let s: Awaited<ReturnType<typeof makeStore>>;
  beforeAll(async () => {
    // Two models trained on data derived from src@v1, one on other@v1; then one attestation folder is removed.
    s = await makeStore({ kept: 'mid@v1', gone: 'mid@v1', o: 'other@v1' });
    expect((await snapJson(['impact', 'src@v1', '--store', s.store])).json.models.map((m: { ref: string }) => m.ref)).toEqual(['gone@1', 'kept@1']);
    await removeAttestation(s.store, 'gone');
  });

  it('still names the model, from the audit log, as affected with its attestation gone, and does not exit 0 (--json)', async () => {
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.missingAttestations).toEqual([
      {
        ref: 'gone@1', id: s.attestations.gone, seq: expect.any(Number), time: expect.any(String), state: 'gone',
        datasets: [{ ref: 'mid@v1', snapshot: s.ids['mid@v1'] }],
        models: [{ name: 'gone.bin', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
      },
    ]);
    expect(r.json.models.map((m: { ref: string; fromLog?: unknown }) => [m.ref, m.fromLog])).toEqual([
      ['kept@1', undefined],
      ['gone@1', { seq: r.json.missingAttestations[0].seq, state: 'gone' }],
    ]);
    expect(r.json.models[1]).toMatchObject({ attestation: s.attestations.gone, trainedOn: [{ ref: 'mid@v1', snapshot: s.ids['mid@v1'] }], artifacts: [{ name: 'gone.bin' }] });
  });

  it('prints it among the models to retrain, saying that its attestation is gone from the store', async () => {
    const r = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {4}gone@1 {2}sha256:\S+ {2}trained on mid@v1 .*its attestation is gone from the store \(audit log seq \d+\)/m);
    expect(r.stdout).toMatch(/^ {2}attestations the audit log records that the store no longer holds \(1\)/m);
    expect(r.stdout).toMatch(/^ {4}gone@1 sha256:\S+ {2}removed \(audit log seq \d+, /m);
  });

  it('does not exit 0 for another snapshot either: the missing attestation is listed, not counted as affected', async () => {
    const r = await snapJson(['impact', 'other@v1', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['o@1']);
    expect(r.json.missingAttestations.map((m: { ref: string }) => m.ref)).toEqual(['gone@1']);
  });

  it('names it too when another attestation was copied into its folder (signed as another model: it cannot stand for it)', async () => {
    const dir = join(s.store, 'attestations', 'gone', '1');
    await fsp.cp(join(s.store, 'attestations', 'o', '1'), dir, { recursive: true });
    try {
      const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
      expect(r.code).toBe(1);
      expect(r.json.missingAttestations.map((m: { ref: string; state: string }) => [m.ref, m.state])).toEqual([['gone@1', 'unreadable']]);
      expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['kept@1', 'gone@1']);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('planted and malformed attest lines in the audit log (its lines after the newest checkpoint are unsigned: anyone who can write the store can add them)', () => {
  it('reports a planted line for a model that never existed, and lists it as affected: a false alarm, never a crash nor a model cleared', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    const planted = await appendAudit(s.store, { command: 'attest', ref: 'ghost@1', snapshot: FAKE_ID, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'src@v1', snapshot: s.ids['src@v1'] }], models: [{ name: 'ghost.bin', sha256: 'cd'.repeat(32) }] } });
    expect(planted.written).toBe(true);
    // A planted line naming the real model with another id cannot take it out of the answer.
    await appendAudit(s.store, { command: 'attest', ref: 'm@1', snapshot: FAKE_ID, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'other@v1', snapshot: s.ids['other@v1'] }], models: [{ name: 'm.bin', sha256: 'cd'.repeat(32) }] } });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.missingAttestations.map((m: { ref: string; state: string; found?: string }) => [m.ref, m.state, m.found])).toEqual([
      ['ghost@1', 'gone', undefined],
      ['m@1', 'replaced', s.attestations.m],
    ]);
    expect(r.json.models.map((m: { ref: string; attestation: string }) => [m.ref, m.attestation])).toEqual([
      ['m@1', s.attestations.m],
      ['ghost@1', FAKE_ID],
    ]);
  });

  it('lists the first 100 missing attestations of a log planted with more, each once, and counts the rest, each affected model still named (memory bounded by the listing and MAX_PLACED_PAST_LIST, not the log)', async () => {
    const s = await makeStore({});
    const details = { datasets: [{ ref: 'src@v1', snapshot: s.ids['src@v1'] }], models: [{ name: 'g.bin', sha256: 'cd'.repeat(32) }] };
    for (let i = 0; i < 105; i++) {
      const line = { command: 'attest', ref: `ghost@${i}`, snapshot: FAKE_ID, outcome: 'ok' as const, exit: 0, details };
      expect((await appendAudit(s.store, line)).written).toBe(true);
      if (i < 3) await appendAudit(s.store, line); // the same record twice: listed once
    }
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.missingAttestations).toHaveLength(100);
    expect(r.json.missingAttestations.map((m: { ref: string }) => m.ref).slice(0, 4)).toEqual(['ghost@0', 'ghost@1', 'ghost@2', 'ghost@3']);
    expect(r.json.auditLog).toMatchObject({ attestations: 108, unlisted: 5 });
    // Each trained on src@v1 is still named among the models, listed or not (at most MAX_PLACED_PAST_LIST past the list).
    expect(r.json.models).toHaveLength(105);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^ {2}attestations the audit log records that the store no longer holds \(105\)/m);
    expect(human.stdout).toMatch(/^ {4}… and 5 more, not listed \(the first 100 are\)$/m);
  });

  it('refuses a line whose details are malformed or carry control characters, and prints nothing of them unescaped', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    await appendAudit(s.store, { command: 'attest', ref: 'evil@1', snapshot: FAKE_ID, outcome: 'ok', exit: 0, details: { datasets: 'all of them', models: 5 } });
    await appendAudit(s.store, { command: 'attest', ref: 'evil@2', snapshot: FAKE_ID, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'src@v1', snapshot: s.ids['src@v1'] }], models: [{ name: 'x\u001b[2J.bin', sha256: 'cd'.repeat(32) }] } });
    await appendAudit(s.store, { command: 'attest', ref: 'evil\u001b[2J@1', snapshot: FAKE_ID, outcome: 'ok', exit: 0 });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    // The two with a valid MODEL@VERSION and id are still checked (what they were trained on unknown); the third cannot be.
    expect(r.json.missingAttestations.map((m: { ref: string; datasets?: unknown }) => [m.ref, m.datasets])).toEqual([['evil@1', undefined], ['evil@2', undefined]]);
    expect(r.json.auditLog.refused.map((x: { reason: string; attestationChecked: boolean }) => [x.reason, x.attestationChecked])).toEqual([
      [expect.stringContaining('details.datasets'), true],
      [expect.stringContaining('details.models[0].name'), true],
      [expect.stringContaining('MODEL@VERSION'), false],
    ]);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.code).toBe(1);
    expect(human.stdout).not.toContain('\u001b');
    expect(human.stdout).toMatch(/^note: audit log line \d+ \(seq \d+\) .*cannot be used: .*MODEL@VERSION/m);
  });

  it('refuses a line over 1 MiB (a huge details member) unread, counts it, and still checks the others', async () => {
    const s = await makeStore({ m: 'mid@v1', gone: 'mid@v1' });
    await removeAttestation(s.store, 'gone');
    // Planted by hand: snap's own appends never write a line over MAX_LOG_LINE_BYTES (their details are then omitted).
    const huge = { command: 'attest', exit: 0, host: 'h', outcome: 'ok', pid: 1, prev: '0'.repeat(64), ref: 'big@1', seq: 999, snapshot: FAKE_ID, time: '2026-11-30T00:00:00Z', user: 'u', details: { datasets: [], pad: 'x'.repeat(MAX_LOG_LINE_BYTES + 10) } };
    await fsp.appendFile(join(s.store, LOG_FILE), `${canonicalJson(huge)}\n`);
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.auditLog.unreadableLines).toBe(1);
    expect(r.json.missingAttestations.map((m: { ref: string }) => m.ref)).toEqual(['gone@1']);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^note: 1 line of the audit log cannot be read/m);
  });

  it('refuses a line whose time is no RFC 3339 time as snap writes it: a planted time (up to 1 MiB) is not copied into the answer (it was, once as the attestation\'s time and once as its model\'s createdAt)', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    const line = { command: 'attest', exit: 0, host: 'h', outcome: 'ok', pid: 1, prev: '0'.repeat(64), ref: 'slow@1', seq: 999, snapshot: FAKE_ID, time: '\u001b'.repeat(100_000), user: 'u', details: { datasets: [{ ref: 'src@v1', snapshot: s.ids['src@v1'] }], models: [{ name: 'slow.bin', sha256: 'cd'.repeat(32) }] } };
    await fsp.appendFile(join(s.store, LOG_FILE), `${canonicalJson(line)}\n`);
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.missingAttestations).toEqual([]);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
    expect(r.json.auditLog.refused).toEqual([{ line: expect.any(Number), seq: 999, reason: expect.stringContaining('RFC 3339'), attestationChecked: false }]);
    expect(r.stdout.length).toBeLessThan(20_000);
  });

  it('refuses details naming more training snapshots than an attestation can hold (64), and checks the attestation by its id alone', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    const many = Array.from({ length: 5000 }, (_, i) => ({ ref: `d${i}@v1`, snapshot: `sha256:${i.toString(16).padStart(64, '0')}` }));
    await appendAudit(s.store, { command: 'attest', ref: 'm@1', snapshot: s.attestations.m, outcome: 'ok', exit: 0, details: { datasets: many, models: [{ name: 'm.bin', sha256: 'cd'.repeat(32) }] } });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0); // the attestation it names is in the store with that id
    expect(r.json.missingAttestations).toEqual([]);
    expect(r.json.auditLog.refused).toEqual([{ line: expect.any(Number), seq: expect.any(Number), reason: expect.stringContaining('1 to 64'), attestationChecked: true }]);
  });

  it('does not exit 1 for more than 100 lines whose details alone are refused, when the attestation each names is in the store (as it does not for one)', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    for (let i = 0; i < 101; i++) {
      expect((await appendAudit(s.store, { command: 'attest', ref: 'm@1', snapshot: s.attestations.m, outcome: 'ok', exit: 0, details: { datasets: [], models: [] } })).written).toBe(true);
    }
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.json.missingAttestations).toEqual([]);
    expect(r.json.auditLog.refused).toHaveLength(100);
    expect(r.json.auditLog.refused.every((x: { attestationChecked: boolean }) => x.attestationChecked)).toBe(true);
    expect(r.json.auditLog.refusedUnlisted).toBe(1);
    expect(r.code, r.stderr).toBe(0);
  });

  it('still exits 1 for a line past the first 100 refused that names no attestation', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    for (let i = 0; i < 100; i++) await appendAudit(s.store, { command: 'attest', ref: 'm@1', snapshot: s.attestations.m, outcome: 'ok', exit: 0, details: { datasets: [], models: [] } });
    await appendAudit(s.store, { command: 'attest', ref: 'not a ref', snapshot: FAKE_ID, outcome: 'ok', exit: 0 });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.json.auditLog.refusedUnlisted).toBe(1);
    expect(r.code, r.stderr).toBe(1);
  });
});

describe('an audit log that cannot be read', () => {
  it('(a FIFO in its place) is reported at once, not waited on, and impact does not exit 0: the attestations it records are not checked', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    await fsp.rm(join(s.store, LOG_FILE));
    execFileSync('mkfifo', [join(s.store, LOG_FILE)]);
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
    expect(r.json.auditLog).toMatchObject({ read: false, error: expect.stringContaining('not a regular file') });
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^note: the audit log cannot be read, so the attestations it records are not checked: /m);
  });
});

describe('an attest line written before the log recorded what was attested (no details)', () => {
  it('is read as a record of MODEL@VERSION and its id: one still in the store is fine (exit 0)', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    await appendAudit(s.store, { command: 'attest', ref: 'm@1', snapshot: s.attestations.m, outcome: 'ok', exit: 0 });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.auditLog).toMatchObject({ read: true, attestations: 2, unreadableLines: 0, refused: [] });
    expect(r.json.missingAttestations).toEqual([]);
  });

  it('names one that is gone, saying that the log does not record what it was trained on (exit 1)', async () => {
    const s = await makeStore({});
    await appendAudit(s.store, { command: 'attest', ref: 'old@1', snapshot: FAKE_ID, outcome: 'ok', exit: 0 });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code).toBe(1);
    expect(r.json.missingAttestations).toEqual([{ ref: 'old@1', id: FAKE_ID, seq: expect.any(Number), time: expect.any(String), state: 'gone' }]);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^ {4}old@1 sha256:\S+ {2}removed .*the log does not record what it was trained on/m);
  });
});

describe('an attestation deleted together with its audit line, the log rewritten to hold together (no key needed)', () => {
  /** What someone who can write the store does: remove `model`'s attestation and its attest line, and write the log and log.head anew from the other lines (an intact chain). */
  async function eraseWithItsLine(store: string, model: string): Promise<void> {
    await removeAttestation(store, model);
    const kept = (await logEntries(store)).filter((e) => !(e.command === 'attest' && e.ref === `${model}@1`));
    await fsp.rm(join(store, LOG_FILE));
    await fsp.rm(join(store, 'log.head'));
    for (const e of kept) {
      const r = await appendAudit(store, { command: e.command, ...(e.ref !== undefined ? { ref: e.ref } : {}), ...(e.snapshot !== undefined ? { snapshot: e.snapshot } : {}), outcome: e.outcome, exit: e.exit, ...(e.error !== undefined ? { error: e.error } : {}), ...(e.details !== undefined ? { details: e.details } : {}), now: new Date(e.time) });
      expect(r.written).toBe(true);
    }
  }

  it('is caught once a checkpoint covered its line: the log no longer extends it, impact says so and does not exit 0 (log --verify agrees)', async () => {
    const s = await makeStore({ kept: 'mid@v1', gone: 'mid@v1' });
    const auditor = await makeKeyPair('attlog-auditor');
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', s.store])).code).toBe(0);
    await eraseWithItsLine(s.store, 'gone');
    expect((await snapJson(['log', '--verify', '--store', s.store])).json.chainOk).toBe(true); // the chain alone holds

    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.missingAttestations).toEqual([]); // its line is gone too
    expect(r.json.auditLog.checkpoints.problems.map((p: { kind: string }) => p.kind)).toEqual(['mismatch']);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^ {2}the audit log does not hold to its checkpoints \(1 problem\): lines were removed or rewritten .*snap log --verify/m);
    expect(human.stdout).toMatch(/^ {4}mismatch: the first \d+ lines of the log no longer give the root of /m);
  });

  it('is caught when the checkpoints were removed too, on a machine that signed one (the checkpoint and the log origin kept in its trusted state)', async () => {
    const s = await makeStore({ kept: 'mid@v1', gone: 'mid@v1' });
    const auditor = await makeKeyPair('attlog-auditor2');
    const state = await tempDir('snap-att-log-state-');
    expect((await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', s.store, '--state-dir', state])).code).toBe(0);
    await eraseWithItsLine(s.store, 'gone');
    await fsp.rm(join(s.store, 'log.checkpoints'), { recursive: true, force: true });

    const r = await snapJson(['impact', 'src@v1', '--store', s.store, '--state-dir', state]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.auditLog.checkpoints.problems.map((p: { kind: string }) => p.kind).sort()).toEqual(['none', 'not-extended']);
    // A machine that kept nothing cannot tell: said in a note, not an exit code.
    const fresh = await snap(['impact', 'src@v1', '--store', s.store, '--state-dir', await tempDir('snap-att-log-fresh-')]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^note: the audit log has no checkpoint: an attestation deleted together with its line and log\.head cannot be seen here/m);
  });

  it('says which lines follow the newest checkpoint (unsigned: an attestation line there can be removed unseen), and that the checkpoint signatures are checked by log --verify', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    const auditor = await makeKeyPair('attlog-auditor3');
    const c = await snapJson(['log', 'checkpoint', '--key', auditor.key, '--store', s.store]);
    expect(c.code).toBe(0);
    await appendAudit(s.store, { command: 'verify', outcome: 'ok', exit: 0 });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.auditLog.checkpoints).toMatchObject({ count: 1, newest: { size: c.json.size, origin: c.json.origin }, covered: c.json.size, problems: [] });
    expect(r.json.auditLog.lines).toBe(c.json.size + 2);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(new RegExp(`^note: lines ${c.json.size + 1}–${c.json.size + 2} of the audit log come after its newest checkpoint: an attestation line there, deleted with the attestation and log\\.head, cannot be seen here .*snap log --verify --pubkey`, 'm'));
  });
});

describe('found by review (thirty-eighth session): what could still keep an affected model out of the answer', () => {
  it('names a model whose attestation was removed even past the first 100 missing ones: 100 removed attestations of other models, earlier in the log, pushed it out of `models` (exit 1 either way)', async () => {
    const s = await makeStore({});
    for (let i = 0; i < 100; i++) {
      const id = `sha256:${i.toString(16).padStart(64, '0')}`;
      expect((await appendAudit(s.store, { command: 'attest', ref: `o${i}@1`, snapshot: id, outcome: 'ok', exit: 0, details: { datasets: [{ ref: 'other@v1', snapshot: s.ids['other@v1'] }], models: [{ name: `o${i}.bin`, sha256: 'cd'.repeat(32) }] } })).written).toBe(true);
    }
    await fsp.writeFile(join(s.work, 'victim.bin'), 'weights of the victim');
    const a = await snapJson(['attest', 'victim.bin', '--data', 'mid@v1', '--key', keys.key, '--as', 'victim@1', '--store', s.store], { cwd: s.work });
    expect(a.code, a.stderr).toBe(0);
    await removeAttestation(s.store, 'victim');

    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.missingAttestations).toHaveLength(100); // the list stays capped
    expect(r.json.auditLog.unlisted).toBe(1);
    expect(r.json.models).toEqual([expect.objectContaining({ ref: 'victim@1', attestation: a.json.attestation, trainedOn: [{ ref: 'mid@v1', snapshot: s.ids['mid@v1'] }], fromLog: { seq: expect.any(Number), state: 'gone' } })]);
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^ {4}victim@1 {2}sha256:\S+ {2}trained on mid@v1 .* — its attestation is gone from the store \(audit log seq \d+\)$/m);
  });

  it('says in a note that the store has no audit log at all: removed with the attestations, on a machine that kept no checkpoint, it said "attested models: none" and nothing more', async () => {
    const s = await makeStore({ m: 'mid@v1' });
    await removeAttestation(s.store, 'm');
    for (const f of [LOG_FILE, 'log.head', 'log.checkpoints']) await fsp.rm(join(s.store, f), { recursive: true, force: true });
    const r = await snapJson(['impact', 'src@v1', '--store', s.store]);
    // A note, not an exit code: a store made through the library (ops/seal.ts) has no log either.
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.models).toEqual([]);
    expect(r.json.auditLog).toMatchObject({ read: false, lines: 0 });
    expect(r.json.auditLog.error).toBeUndefined();
    const human = await snap(['impact', 'src@v1', '--store', s.store]);
    expect(human.stdout).toMatch(/^note: the store has no audit log \(log\.jsonl\), which a store the snap command made holds from its start .*if this one had it, it was removed, and attestations removed with it, and the models they name, cannot be seen here/m);
    // impact appends no line of its own: the next run still sees no log.
    await expect(fsp.access(join(s.store, LOG_FILE))).rejects.toThrow();
  });
});
