/**
 * Signed shard reports (docs/FORMAT.md §20.7): `verify --shard K/N --report FILE --report-key KEY
 * [--run ID]` writes the report as a DSSE envelope, and `verify --merge REPORT… --report-pubkey
 * KEY… [--run ID]` uses only reports a worker key signed in that run; a forged, re-signed, altered
 * or stale report is a finding (exit 1), a malformed envelope is refused (exit 3).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyTree, snap, snapJson, tempDir, useKeyPair, type TreeSpec } from '../helpers/tree.js';
import { sealTree, useStore } from '../helpers/store.js';
import { SHARD_REPORT_PAYLOAD_TYPE, signShardReport } from '../../src/shards/signed-report.js';
import { parsePrivateKeyPem } from '../../src/core/keys.js';
import { schemaErrors } from '../helpers/json-schemas.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const worker = useKeyPair('worker');
const stranger = useKeyPair('stranger');
const shared = useStore();

/** 12 files of uneven sizes. */
function datasetSpec(): TreeSpec {
  const spec: TreeSpec = {};
  for (let i = 0; i < 12; i++) spec[`d${i % 3}/f${String(i).padStart(2, '0')}.bin`] = Buffer.alloc(i % 5 === 0 ? 50_000 : 100 + i * 31, i);
  return spec;
}

/** Run the N shards of a verify, each writing its report to DIR/shard-K.json with the flags `extra`. */
async function runShards(data: string, ref: string, store: string, n: number, extra: string[] = [], dir?: string): Promise<{ code: number; file: string }[]> {
  const out = dir ?? (await tempDir('snap-signed-reports-'));
  const shards: { code: number; file: string }[] = [];
  for (let k = 1; k <= n; k++) {
    const file = join(out, `shard-${k}.json`);
    const r = await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', `${k}/${n}`, '--report', file, ...extra]);
    expect(r.code === 0 || r.code === 1, r.stderr).toBe(true);
    shards.push({ code: r.code, file });
  }
  return shards;
}

const readJson = async (f: string): Promise<Json> => JSON.parse(await fsp.readFile(f, 'utf8'));
const payloadOf = (env: Json): string => Buffer.from(env.payload, 'base64').toString('utf8');
/** The envelope `env` with its payload replaced by `text` (the signatures kept as they are). */
const withPayload = (env: Json, text: string): Json => ({ ...env, payload: Buffer.from(text, 'utf8').toString('base64') });
/** The merged verdict without what only signing adds (signed, signedBy, reportSignatures). */
function verdict(m: Json): Json {
  const { reportSignatures: _r, shards, ...rest } = m;
  return { ...rest, shards: shards.map(({ signed: _s, signedBy: _b, ...x }: Json) => x) };
}

describe('verify --shard --report-key: the report as a signed envelope', () => {
  it("writes the unsigned report's exact bytes as the payload of a DSSE envelope of type application/vnd.snap.verify-shard+json, signed by the worker key", async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const [plain] = await runShards(data, ref, store, 1, ['--run', 'ci-42']);
    const [signed] = await runShards(data, ref, store, 1, ['--run', 'ci-42', '--report-key', worker.key]);
    const env = await readJson(signed!.file);
    expect(Object.keys(env).sort()).toEqual(['payload', 'payloadType', 'signatures']);
    expect(env.payloadType).toBe(SHARD_REPORT_PAYLOAD_TYPE);
    expect(env.signatures).toEqual([{ keyid: worker.keyid, sig: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/) }]);
    expect(payloadOf(env)).toBe(await fsp.readFile(plain!.file, 'utf8'));
    expect(JSON.parse(payloadOf(env)).run).toBe('ci-42');
  });
});

describe('verify --merge --report-pubkey', () => {
  it('passes a correctly signed set of 3 reports with the verdict of the unsigned merge, naming each report signer', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    // The same report files, first unsigned, then signed (the merge names them).
    const dir = await tempDir('snap-signed-reports-');
    const plain = await runShards(data, ref, store, 3, [], dir);
    const p = await snapJson(['verify', '--merge', ...plain.map((s) => s.file)]);
    const signed = await runShards(data, ref, store, 3, ['--report-key', worker.key], dir);
    const m = await snapJson(['verify', '--merge', ...signed.map((s) => s.file), '--report-pubkey', stranger.pub, '--report-pubkey', worker.pub]);
    expect([p.code, m.code]).toEqual([0, 0]);
    expect(verdict(m.json)).toEqual(verdict(p.json));
    expect(m.json.reportSignatures).toBe('checked');
    expect(m.json.shards.map((x: Json) => [x.signed, x.signedBy])).toEqual([[true, worker.keyid], [true, worker.keyid], [true, worker.keyid]]);
    expect(p.json.reportSignatures).toBe('not checked');
    const human = await snap(['verify', '--merge', ...signed.map((s) => s.file), '--report-pubkey', worker.pub]);
    expect(human.stdout).toContain('each report signed by a --report-pubkey key');
  });

  it('fails a correctly signed set as the unsigned merge fails it when the data is tampered', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.writeFile(join(data, 'd1/f07.bin'), 'changed');
    const dir = await tempDir('snap-signed-reports-');
    const plain = await runShards(data, ref, store, 3, [], dir);
    const p = await snapJson(['verify', '--merge', ...plain.map((s) => s.file)]);
    const signed = await runShards(data, ref, store, 3, ['--report-key', worker.key], dir);
    const m = await snapJson(['verify', '--merge', ...signed.map((s) => s.file), '--report-pubkey', worker.pub]);
    expect([p.code, m.code]).toEqual([1, 1]);
    expect(verdict(m.json)).toEqual(verdict(p.json));
    expect(m.json.findings.map((f: Json) => f.kind)).toEqual(['failed']);
  });

  it('fails a forged "ok": true report (unsigned, written over a failed shard\'s), which the merge without --report-pubkey passes', async () => {
    const { data: sealed, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const data = await copyTree(sealed);
    await fsp.rm(join(data, 'd2/f11.bin'));
    const signed = await runShards(data, ref, store, 2, ['--report-key', worker.key]);
    const bad = signed.findIndex((s) => s.code === 1);
    const report = JSON.parse(payloadOf(await readJson(signed[bad]!.file)));
    const forged = { ...report, ok: true, problems: [], counts: { ...report.counts, missing: 0 } };
    await fsp.writeFile(signed[bad]!.file, JSON.stringify(forged, null, 2) + '\n');
    const files = signed.map((s) => s.file);
    expect((await snapJson(['verify', '--merge', ...files])).code).toBe(0); // what the forgery buys without signatures
    const m = await snapJson(['verify', '--merge', ...files, '--report-pubkey', worker.pub]);
    expect(m.code).toBe(1);
    expect(m.json.ok).toBe(false);
    expect(m.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'unsigned', files: [signed[bad]!.file] }), expect.objectContaining({ kind: 'missing', index: bad + 1 })]));
  });

  it('fails a report signed by a key that is not a --report-pubkey key', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const dir = await tempDir('snap-signed-reports-');
    const signed = await runShards(data, ref, store, 2, ['--report-key', worker.key], dir);
    const r = await snap(['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', '2/2', '--report', signed[1]!.file, '--report-key', stranger.key]);
    expect(r.code).toBe(0);
    const m = await snapJson(['verify', '--merge', ...signed.map((s) => s.file), '--report-pubkey', worker.pub]);
    expect(m.code).toBe(1);
    expect(m.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'signature', files: [signed[1]!.file] })]));
    expect(m.json.shards.map((x: Json) => x.index)).toEqual([1]);
  });

  it('fails a signed report with one byte of its payload changed (a digit of its byte count), which still reads as a report', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const signed = await runShards(data, ref, store, 2, ['--report-key', worker.key]);
    const env = await readJson(signed[0]!.file);
    const text = payloadOf(env);
    const at = text.indexOf('"bytes": ') + '"bytes": '.length;
    const flipped = text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1);
    expect(flipped).not.toBe(text);
    expect(Buffer.byteLength(flipped)).toBe(Buffer.byteLength(text));
    await fsp.writeFile(signed[0]!.file, JSON.stringify(withPayload(env, flipped)));
    expect((await snapJson(['verify', '--merge', ...signed.map((s) => s.file)])).code).toBe(0); // unsigned merge: still a report
    const m = await snapJson(['verify', '--merge', ...signed.map((s) => s.file), '--report-pubkey', worker.pub]);
    expect(m.code).toBe(1);
    expect(m.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'signature', files: [signed[0]!.file] })]));
  });

  it('refuses a signed report whose envelope is malformed: a duplicate member, another payload type, a duplicate member in the payload, too many signatures (exit 3)', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const [good] = await runShards(data, ref, store, 1, ['--report-key', worker.key]);
    const text = await fsp.readFile(good!.file, 'utf8');
    const env = JSON.parse(text);
    const signer = parsePrivateKeyPem(await fsp.readFile(worker.key, 'utf8'));
    const dir = await tempDir('snap-bad-envelopes-');
    const cases: Record<string, string> = {
      'duplicate.json': text.replace('"payloadType":', `"payloadType":"${SHARD_REPORT_PAYLOAD_TYPE}","payloadType":`),
      'in-toto.json': JSON.stringify({ ...env, payloadType: 'application/vnd.in-toto+json' }),
      // Signed by the worker key, so that the payload is read with --report-pubkey too.
      'payload-duplicate.json': Buffer.from(signShardReport(Buffer.from(payloadOf(env).replace('"ok": true,', '"ok": true, "ok": true,')), signer)).toString('utf8'),
      'payload-not-base64.json': JSON.stringify({ ...env, payload: '!!' }),
      'signatures.json': JSON.stringify({ ...env, signatures: Array(5).fill(env.signatures[0]) }),
      'unknown.json': JSON.stringify({ ...env, verdict: 'ok' }),
    };
    expect(cases['duplicate.json']).not.toBe(text);
    for (const [name, body] of Object.entries(cases)) {
      const f = join(dir, name);
      await fsp.writeFile(f, body);
      for (const flags of [[], ['--report-pubkey', worker.pub]]) {
        const r = await snapJson(['verify', '--merge', f, ...flags]);
        expect(r.code, `${name} ${flags.join(' ')}`).toBe(3);
        expect(r.json.error.code, name).toBe('SHARD_REPORT_MALFORMED');
      }
    }
  });

  it('reads signed reports without --report-pubkey, and says their signatures were not checked', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const signed = await runShards(data, ref, store, 2, ['--report-key', worker.key]);
    const m = await snapJson(['verify', '--merge', ...signed.map((s) => s.file)]);
    expect(m.code).toBe(0);
    expect(m.json).toMatchObject({ ok: true, reportSignatures: 'not checked' });
    expect(m.json.shards.map((x: Json) => [x.signed, x.signedBy])).toEqual([[true, undefined], [true, undefined]]);
    const human = await snap(['verify', '--merge', ...signed.map((s) => s.file)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("the reports' signatures were not checked");
  });
});

describe('verify --merge --run', () => {
  it('fails a report of another run as stale, though signed by the worker key; without --run, reports of two runs are a mismatch', async () => {
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const dir = await tempDir('snap-run-reports-');
    const earlier = await runShards(data, ref, store, 2, ['--report-key', worker.key, '--run', 'run-41'], dir);
    const keep = join(dir, 'earlier-2.json');
    await fsp.rename(earlier[1]!.file, keep);
    const now = await runShards(data, ref, store, 2, ['--report-key', worker.key, '--run', 'run-42'], dir);
    const files = [now[0]!.file, now[1]!.file];
    const fresh = await snapJson(['verify', '--merge', ...files, '--report-pubkey', worker.pub, '--run', 'run-42']);
    expect(fresh.code).toBe(0);
    expect(fresh.json.run).toBe('run-42');

    const stale = await snapJson(['verify', '--merge', now[0]!.file, keep, '--report-pubkey', worker.pub, '--run', 'run-42']);
    expect(stale.code).toBe(1);
    expect(stale.json.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'stale', index: 2, files: [keep] })]));
    const mixed = await snapJson(['verify', '--merge', now[0]!.file, keep]);
    expect(mixed.code).toBe(1);
    expect(mixed.json.findings).toEqual([expect.objectContaining({ kind: 'mismatch', message: expect.stringContaining('run') }), expect.objectContaining({ kind: 'missing', index: 2 })]);
    // A report of no run is stale for a merge that asks for one.
    const none = await runShards(data, ref, store, 2, ['--report-key', worker.key]);
    const r = await snapJson(['verify', '--merge', ...none.map((s) => s.file), '--run', 'run-42']);
    expect(r.code).toBe(1);
    expect(r.json.findings.filter((f: Json) => f.kind === 'stale')).toHaveLength(2);
  });

  it("passes, without --run, the signed reports of an earlier clean verify in place of this one's, and says which run they are of was not checked", async () => {
    // The folder was clean at the first verify; poisoned since. Whoever can write the report files
    // puts the first run's reports (genuine, signed by the worker key) in place of the new ones.
    const { data, store, ref } = await sealTree(datasetSpec(), keys, { store: shared.path });
    const clean = (await runShards(data, ref, store, 2, ['--report-key', worker.key])).map((s) => s.file);
    await fsp.writeFile(join(data, 'd0/f00.bin'), 'POISON');
    const now = (await runShards(data, ref, store, 2, ['--report-key', worker.key])).map((s) => s.file);
    expect((await snap(['verify', '--merge', ...now, '--report-pubkey', worker.pub, '--against', ref])).code).toBe(1);
    const replayed = await snap(['verify', '--merge', ...clean, '--report-pubkey', worker.pub, '--against', ref]);
    expect(replayed.code).toBe(0); // what --run is for (FORMAT §20.7)
    expect(replayed.stderr).toContain('note: which run the reports are of was not checked: give --run ID (the id the workers were given) so that the reports of an earlier run fail');
    // With --run (and --against) nothing is left unchecked: no note.
    await fsp.writeFile(join(data, 'd0/f00.bin'), Buffer.alloc(50_000, 0)); // clean again
    const ofRun = (await runShards(data, ref, store, 2, ['--report-key', worker.key, '--run', 'run-10'])).map((s) => s.file);
    const pinned = await snap(['verify', '--merge', ...ofRun, '--report-pubkey', worker.pub, '--run', 'run-10', '--against', ref]);
    expect([pinned.code, pinned.stderr]).toEqual([0, '']);
  });

  it('with --against REF, fails the genuine signed reports of another snapshot of the same run (other-snapshot), which pass a merge that does not name its snapshot', async () => {
    // One CI run gates two datasets with the same run id; the second is tampered with, and its
    // reports are replaced by the first's (all signed by the worker key, all of run-7).
    const train = await sealTree(datasetSpec(), keys, { store: shared.path });
    const evalSet = await sealTree({ 'x.txt': 'a\n', 'y.txt': 'b\n' }, keys, { store: shared.path });
    await fsp.writeFile(join(evalSet.data, 'y.txt'), 'POISON\n');
    const flags = ['--report-key', worker.key, '--run', 'run-7'];
    const trainReports = (await runShards(train.data, train.ref, train.store, 2, flags)).map((s) => s.file);
    const evalReports = (await runShards(evalSet.data, evalSet.ref, evalSet.store, 2, flags)).map((s) => s.file);
    const merge = (files: string[], against: string) => snapJson(['verify', '--merge', ...files, '--report-pubkey', worker.pub, '--run', 'run-7', '--against', against]);

    expect((await merge(evalReports, evalSet.ref)).code).toBe(1);
    // Without --against the swapped set passes: the reports alone name their snapshot.
    const unpinned = await snapJson(['verify', '--merge', ...trainReports, '--report-pubkey', worker.pub, '--run', 'run-7']);
    expect(unpinned.code).toBe(0);
    expect(unpinned.stderr).toContain(`note: which snapshot the workers were to verify was not checked: give --against ${train.ref}`);
    expect((await merge(trainReports, train.ref)).stderr).not.toContain('note:');
    const swapped = await merge(trainReports, evalSet.ref);
    expect(swapped.code).toBe(1);
    expect(swapped.json.ok).toBe(false);
    expect(swapped.json.against).toBe(evalSet.ref);
    expect(schemaErrors('verify-merge', swapped.json)).toBe('');
    expect(swapped.json.findings.filter((f: Json) => f.kind === 'other-snapshot').map((f: Json) => f.files)).toEqual(trainReports.map((f) => [f]));
    expect(swapped.json.shards).toEqual([]); // no report used
    const human = await snap(['verify', '--merge', ...trainReports, '--report-pubkey', worker.pub, '--run', 'run-7', '--against', evalSet.ref]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('other-snapshot:');
    // The workers' own REF, or the snapshot id, names the snapshot the reports are of.
    expect((await merge(trainReports, train.ref)).code).toBe(0);
    expect((await merge(trainReports, train.snapshot)).code).toBe(0);
    expect((await merge(trainReports, evalSet.snapshot)).code).toBe(1);
    expect((await snapJson(['verify', '--merge', ...trainReports, '--against', ''])).code).toBe(2);
  });
  it('names no snapshot when every report was left out and no --against was given: the reports name none, and the first line says none was used', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'a', 'b.txt': 'b' }, keys, { store: shared.path });
    const reports = (await runShards(data, ref, store, 2, ['--report-key', worker.key, '--run', 'run-1'])).map((s) => s.file);
    const human = await snap(['verify', '--merge', ...reports, '--report-pubkey', worker.pub, '--run', 'run-2']);
    expect(human.code).toBe(1);
    expect(human.stdout.split('\n')[0]).toBe('FAIL  the shard reports do not add up to a pass (none of them was used):');
    expect(human.stdout).toContain('stale: ');
    const json = await snapJson(['verify', '--merge', ...reports, '--report-pubkey', worker.pub, '--run', 'run-2']);
    expect([json.json.shards, json.json.ref, json.json.snapshot]).toEqual([[], '', '']);
  });
});

describe('signed report flags', () => {
  it('refuses a malformed --run, a bad --report-key file, and the flags where they do not belong: before any report is written', async () => {
    const { data, store, ref } = await sealTree({ 'a.txt': 'a' }, keys, { store: shared.path });
    const dir = await tempDir('snap-report-flags-');
    const file = join(dir, 'r.json');
    const shard = ['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', '1/1', '--report', file];
    for (const run of ['', 'a\u0007b', 'tab\there', 'x'.repeat(129), 'café']) {
      const r = await snapJson([...shard, '--run', run]);
      expect(r.code, JSON.stringify(run)).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
      expect(r.json.error.message).toContain('--run');
      expect((await snapJson(['verify', '--merge', file, '--run', run])).code, JSON.stringify(run)).toBe(2);
    }
    expect((await snap([...shard, '--run', 'x'.repeat(128)])).code).toBe(0);
    await fsp.rm(file);
    const notKey = join(dir, 'not.key');
    await fsp.writeFile(notKey, 'not a key\n');
    const badKey = await snapJson([...shard, '--report-key', notKey]);
    expect(badKey.json.error.code).toBe('KEY_MALFORMED');
    const pubAsKey = await snapJson([...shard, '--report-key', worker.pub]);
    expect(pubAsKey.json.error.code).toBe('KEY_MALFORMED');
    await expect(fsp.access(file)).rejects.toThrow();
    const noReport = ['verify', data, '--against', ref, '--pubkey', keys.pub, '--store', store, '--shard', '1/1'];
    expect((await snap([...noReport, '--report-key', worker.key])).code).toBe(2);
    expect((await snap([...noReport, '--run', 'r1'])).code).toBe(2);
    expect((await snap([...shard, '--passphrase-env', 'PASS'], { env: { PASS: 'x' } })).code).toBe(2);
    expect((await snap([...shard, '--report-pubkey', worker.pub])).code).toBe(2);
    expect((await snap(['verify', '--merge', file, '--report-key', worker.key])).code).toBe(2);
  });
});
