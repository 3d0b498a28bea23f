/**
 * `snap lineage` and `snap impact`: the chain behind a snapshot, and everything (snapshots and
 * attested models) that a snapshot reached through `parent` and `derived-from`.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snap, snapBin, snapJson, tempDir, heapLimit, type KeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { buildStatement, serializeStatement, snapshotId } from '../../src/core/statement.js';
import { lineage, impact, readSnapshotGraph, signatureTrust, type ImpactTrust } from '../../src/provenance/lineage.js';
import { openStore, resolveRef } from '../../src/io/store.js';
import { readPublicKey } from '../../src/io/keyfile.js';
import { schemaErrors } from '../helpers/json-schemas.js';

let keys: KeyPair;
let store: string;
let work: string;
const ids: Record<string, string> = {};

async function seal(files: Record<string, string>, as: string, extra: string[] = []) {
  const data = await makeTree(files);
  const r = await snapJson(['seal', data, '--as', as, '--key', keys.key, '--store', store, '--no-pipeline', ...extra]);
  if (r.code !== 0) throw new Error(`seal ${as}: ${r.stderr}`);
  ids[as] = r.json.snapshot;
}

async function attest(file: string, data: string, as: string) {
  await fsp.writeFile(join(work, file), as);
  const r = await snapJson(['attest', file, '--data', data, '--key', keys.key, '--as', as, '--store', store], { cwd: work });
  if (r.code !== 0) throw new Error(`attest ${as}: ${r.stderr}`);
}

beforeAll(async () => {
  keys = await makeKeyPair('lin');
  store = await newStorePath();
  work = await tempDir('snap-lin-');
  await seal({ 'dump.csv': '1\n' }, 'raw@v1', ['--source', 'https://vendor.example/dump.csv', '--license', 'CC-BY-4.0']);
  await seal({ 'clean.csv': '1\n' }, 'clean@v1', ['--derived-from', 'raw@v1', '-m', 'deduplicated']);
  await seal({ 'clean.csv': '1\n2\n' }, 'clean@v2');
  await seal({ 'o.csv': 'o\n' }, 'other@v1');
  await attest('clf.bin', 'clean@v2', 'clf@1');
  await attest('oth.bin', 'other@v1', 'oth@1');
});

describe('snap lineage', () => {
  it('walks parents and derivations back to the sources (--json)', async () => {
    const r = await snapJson(['lineage', 'clean@v2', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.chain.map((n: { ref: string; depth: number }) => [n.ref, n.depth])).toEqual([['clean@v2', 0], ['clean@v1', 1], ['raw@v1', 2]]);
    expect(r.json.chain[0].from).toEqual([{ relation: 'parent', snapshot: ids['clean@v1'], ref: 'clean@v1', inStore: true }]);
    expect(r.json.chain[1].from).toEqual([{ relation: 'derived-from', snapshot: ids['raw@v1'], ref: 'raw@v1', inStore: true }]);
    expect(r.json.chain[2].sources).toEqual([{ uri: 'https://vendor.example/dump.csv' }]);
    expect(r.json.missing).toEqual([]);
    expect(r.json.verified).toBe(false);
  });

  it('prints the chain with sources and descriptions', async () => {
    const r = await snap(['lineage', 'clean@v2', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('source       https://vendor.example/dump.csv');
    expect(r.stdout).toContain('description  deduplicated');
    expect(r.stdout).toContain(`derived from raw@v1 ${ids['raw@v1']}`);
  });

  it('exits 2 (REF_MALFORMED) for a malformed ref and 3 (REF_NOT_FOUND) for an unknown one', async () => {
    const bad = await snapJson(['lineage', 'Not A Ref', '--store', store]);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('REF_MALFORMED');
    const none = await snapJson(['lineage', 'nothing@v1', '--store', store]);
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('REF_NOT_FOUND');
  });
});

describe('snap impact', () => {
  it('lists every snapshot derived from a source snapshot and every model trained on them', async () => {
    const r = await snapJson(['impact', 'raw@v1', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.derived.map((d: { ref: string; via: unknown }) => [d.ref, d.via])).toEqual([
      ['clean@v1', { relation: 'derived-from', from: 'raw@v1' }],
      ['clean@v2', { relation: 'parent', from: 'clean@v1' }],
    ]);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['clf@1']);
    expect(r.json.models[0].trainedOn).toEqual([{ ref: 'clean@v2', snapshot: ids['clean@v2'] }]);
  });

  it('lists the models trained on the snapshot itself, and no unrelated ones', async () => {
    const r = await snapJson(['impact', 'other@v1', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.json.derived).toEqual([]);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['oth@1']);
  });

  it('prints which models must be retrained', async () => {
    const r = await snap(['impact', ids['raw@v1'] as string, '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('clean@v2');
    expect(r.stdout).toMatch(/clf@1 .*trained on clean@v2/);
  });

  it('exits 3 (NOT_FOUND) without a store and (REF_NOT_FOUND) for an unknown snapshot', async () => {
    const noStore = await snapJson(['impact', 'raw@v1', '--store', await newStorePath()]);
    expect(noStore.code).toBe(3);
    expect(noStore.json.error.code).toBe('NOT_FOUND');
    const none = await snapJson(['impact', 'nothing@v1', '--store', store]);
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 1 (SNAPSHOT_NAME_MISMATCH) for a snapshot found under another name, and leaves such folders out of the graph', async () => {
    const s2 = await newStorePath();
    await snapJson(['seal', await makeTree({ a: 'a' }), '--as', 'x@v1', '--key', keys.key, '--store', s2]);
    await snapJson(['seal', await makeTree({ b: 'b' }), '--as', 'y@v1', '--key', keys.key, '--store', s2]);
    const dir = (n: string) => join(s2, 'snapshots', n, 'v1');
    for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
      await fsp.chmod(join(dir('y'), f), 0o644);
      await fsp.copyFile(join(dir('x'), f), join(dir('y'), f));
    }
    const r = await snapJson(['impact', 'y@v1', '--store', s2]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_NAME_MISMATCH');
    const ok = await snapJson(['impact', 'x@v1', '--store', s2]);
    expect(ok.code).toBe(0);
    expect(ok.json.skipped).toEqual([{ ref: 'y@v1', code: 'SNAPSHOT_NAME_MISMATCH' }]);
  });

  it('reports every attestation it cannot read (damaged, or signed as another name) instead of leaving its model out silently', async () => {
    const s2 = await newStorePath();
    const w = await tempDir('snap-lin-skip-');
    expect((await snapJson(['seal', await makeTree({ a: 'a' }), '--as', 'src@v1', '--key', keys.key, '--store', s2])).code).toBe(0);
    for (const m of ['good', 'bad']) {
      await fsp.writeFile(join(w, `${m}.bin`), m);
      expect((await snapJson(['attest', `${m}.bin`, '--data', 'src@v1', '--key', keys.key, '--as', `${m}@1`, '--store', s2], { cwd: w })).code).toBe(0);
    }
    const att = (m: string) => join(s2, 'attestations', m, '1');
    await fsp.chmod(join(att('bad'), 'envelope.json'), 0o644);
    await fsp.writeFile(join(att('bad'), 'envelope.json'), 'not an envelope');
    await fsp.mkdir(join(s2, 'attestations', 'renamed'));
    await fsp.cp(att('good'), att('renamed'), { recursive: true });

    const r = await snapJson(['impact', 'src@v1', '--store', s2]);
    // bad@1 was attested (the audit log says so, and what it was trained on): its model stays in the answer, exit 1.
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.models.map((m: { ref: string; fromLog?: { state: string } }) => [m.ref, m.fromLog?.state])).toEqual([['good@1', undefined], ['bad@1', 'unreadable']]);
    expect(r.json.missingAttestations.map((m: { ref: string; state: string }) => [m.ref, m.state])).toEqual([['bad@1', 'unreadable']]);
    expect(r.json.skippedAttestations.map((s: { ref: string; code: string }) => [s.ref, s.code])).toEqual([['bad@1', 'ENVELOPE_MALFORMED'], ['renamed@1', 'SNAPSHOT_NAME_MISMATCH']]);
    expect(r.json.skippedAttestations[1].reason).toContain('signed as good@1');

    const human = await snap(['impact', 'src@v1', '--store', s2]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^note: attestation bad@1 left out, .*\[ENVELOPE_MALFORMED\]$/m);
    expect(human.stdout).toMatch(/^note: attestation renamed@1 left out, .*signed as good@1 \[SNAPSHOT_NAME_MISMATCH\]$/m);
  });
});

describe('impact over a store someone damaged (no key needed)', () => {
  let s2: string;
  beforeAll(async () => {
    s2 = await newStorePath();
    const w = await tempDir('snap-lin-dmg-');
    const seal2 = async (files: Record<string, string>, as: string, extra: string[] = []) => {
      const r = await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s2, '--no-pipeline', ...extra]);
      if (r.code !== 0) throw new Error(`seal ${as}: ${r.stderr}`);
    };
    await seal2({ 'raw.csv': '1\n' }, 'src@v1');
    await seal2({ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']);
    await fsp.writeFile(join(w, 'm.bin'), 'm');
    const r = await snapJson(['attest', 'm.bin', '--data', 'mid@v1', '--key', keys.key, '--as', 'm@1', '--store', s2], { cwd: w });
    if (r.code !== 0) throw new Error(`attest: ${r.stderr}`);
  });

  it('names, as possibly affected, a model trained on a snapshot no longer in the store, and one whose lineage passes through such a snapshot', async () => {
    // src@v1 → mid@v1 → end@v1 (derived), models m@1 on mid@v1 and e@1 on end@v1; then mid@v1's folder is removed.
    const s3 = await newStorePath();
    const w = await tempDir('snap-lin-gone-');
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']], [{ 'end.csv': '1\n' }, 'end@v1', ['--derived-from', 'mid@v1']], [{ 'x.csv': '1\n' }, 'other@v1', []]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s3, '--no-pipeline', ...extra])).code).toBe(0);
    }
    for (const [m, data] of [['m', 'mid@v1'], ['e', 'end@v1'], ['o', 'other@v1']] as const) {
      await fsp.writeFile(join(w, `${m}.bin`), m);
      expect((await snapJson(['attest', `${m}.bin`, '--data', data, '--key', keys.key, '--as', `${m}@1`, '--store', s3], { cwd: w })).code).toBe(0);
    }
    const mid = (await snapJson(['show', 'mid@v1', '--store', s3])).json.snapshot as string;
    expect((await snapJson(['impact', 'src@v1', '--store', s3])).json.models.map((m: { ref: string }) => m.ref)).toEqual(['e@1', 'm@1']);
    const dir = join(s3, 'snapshots', 'mid', 'v1');
    await fsp.chmod(dir, 0o755);
    await fsp.rm(dir, { recursive: true, force: true });

    const r = await snapJson(['impact', 'src@v1', '--store', s3]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.models).toEqual([]);
    expect(r.json.possiblyDerived.map((d: { ref: string; missing: unknown }) => [d.ref, d.missing])).toEqual([['end@v1', { snapshot: mid, ref: 'mid@v1' }]]);
    expect(r.json.possiblyAffectedModels.map((m: { ref: string; trainedOn: unknown }) => [m.ref, m.trainedOn])).toEqual([
      ['e@1', [{ ref: 'end@v1', snapshot: expect.stringMatching(/^sha256:/), inStore: true }]],
      ['m@1', [{ ref: 'mid@v1', snapshot: mid, inStore: false }]],
    ]);
    const human = await snap(['impact', 'src@v1', '--store', s3]);
    expect(human.stdout).toMatch(/^ {2}possibly affected .*:$/m);
    expect(human.stdout).toMatch(/^ {4}end@v1 sha256:\S+ {2}\(came from mid@v1 sha256:\S+, not in the store\)$/m);
    expect(human.stdout).toMatch(/^ {4}model m@1 sha256:\S+ {2}trained on mid@v1 \(not in the store\) /m);
    expect(human.stdout).not.toContain('o@1');
  });

  it('reports a snapshot folder whose statement.json is gone (its envelope intact) instead of leaving it and its models out silently', async () => {
    const dir = join(s2, 'snapshots', 'mid', 'v1');
    const before = await snapJson(['impact', 'src@v1', '--store', s2]);
    expect(before.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
    await fsp.chmod(dir, 0o755);
    await fsp.rename(join(dir, 'statement.json'), join(dir, 'statement.json.away'));
    try {
      const r = await snapJson(['impact', 'src@v1', '--store', s2]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.skipped).toEqual([{ ref: 'mid@v1', code: 'NOT_FOUND' }]);
      const human = await snap(['impact', 'src@v1', '--store', s2]);
      expect(human.stdout).toMatch(/^note: mid@v1 left out: its statement cannot be used \[NOT_FOUND\]$/m);
    } finally {
      await fsp.rename(join(dir, 'statement.json.away'), join(dir, 'statement.json'));
    }
  });
});

describe('a store crowded with planted snapshots of long provenance (unsigned: no key needed)', () => {
  it('costs impact memory for the edges only: 100 snapshots of 256 sources of 2 KiB each do not exhaust a 32 MiB heap, and lineage still prints their sources', async () => {
    const s4 = await newStorePath();
    expect((await snapJson(['seal', await makeTree({ a: 'a' }), '--as', 'base@v1', '--key', keys.key, '--store', s4, '--no-pipeline'])).code).toBe(0);
    for (let i = 0; i < 100; i++) {
      const sources = Array.from({ length: 256 }, (_, k) => ({ uri: `https://e.example/${i}/${k}/`.padEnd(2048, 'x') }));
      const bytes = serializeStatement(buildStatement({
        dataset: 'planted', version: `v${i}`, merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1,
        createdAt: '2030-01-01T00:00:00Z', tool: { name: 'snap', version: '0.1.0' }, provenance: { sources },
      }));
      const dir = join(s4, 'snapshots', 'planted', `v${i}`);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(join(dir, 'statement.json'), bytes);
      await fsp.writeFile(join(dir, 'envelope.json'), '{}');
      await fsp.writeFile(join(dir, 'manifest.jsonl'), '');
    }
    // The built CLI in its own process, so that the heap bound applies to it alone.
    const r = await snapBin(['impact', 'base@v1', '--store', s4, '--json'], { env: { NODE_OPTIONS: heapLimit(32) }, timeoutMs: 50_000 });
    expect(r.stderr).not.toMatch(/heap out of memory/);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).derived).toEqual([]);
    const shown = await snapJson(['lineage', 'planted@v7', '--store', s4]);
    expect(shown.json.chain[0].sources).toHaveLength(256);
  }, 60_000);
});

describe('a wide graph: many planted snapshots each derived from the same snapshots the store does not hold (unsigned: no key needed)', () => {
  // Its time (linear in the edges: each missing origin was once walked per edge naming it, 64 × N²
  // steps) is measured by bench/impact-bench.mjs, in CPU-seconds against a budget; here only the answer.
  it('is answered by impact: every planted snapshot possibly derived, each through a missing origin', async () => {
    const st = await newStorePath();
    expect((await snapJson(['seal', await makeTree({ a: 'a' }), '--as', 'base@v1', '--key', keys.key, '--store', st, '--no-pipeline'])).code).toBe(0);
    const derivedFrom = Array.from({ length: 64 }, (_, k) => ({ snapshot: `sha256:${(k + 1).toString(16).padStart(64, '0')}`, ref: `gone@v${k}` }));
    const N = 100;
    for (let i = 0; i < N; i++) {
      const bytes = serializeStatement(buildStatement({
        dataset: 'wide', version: `v${i}`, merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1,
        createdAt: '2030-01-01T00:00:00Z', tool: { name: 'snap', version: '0.1.0' }, provenance: { derivedFrom },
      }));
      const dir = join(st, 'snapshots', 'wide', `v${i}`);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(join(dir, 'statement.json'), bytes);
      await fsp.writeFile(join(dir, 'envelope.json'), '{}');
      await fsp.writeFile(join(dir, 'manifest.jsonl'), '');
    }
    const store = await openStore(st);
    const graph = await readSnapshotGraph(store);
    expect(graph.nodes.size).toBe(N + 1);
    const r = await impact(await resolveRef('base@v1', st), store);
    expect(r.possiblyDerived).toHaveLength(N);
    expect(r.possiblyDerived.every((d) => d.missing.ref?.startsWith('gone@'))).toBe(true);
  }, 120_000);
});

describe('a long chain of versions (here planted: unsigned statements, as someone who can write to the store can add)', () => {
  const DEPTH = 40;
  let chain: string;
  beforeAll(async () => {
    chain = await newStorePath();
    await snapJson(['seal', await makeTree({ a: 'a' }), '--as', 'deep@v0', '--key', keys.key, '--store', chain, '--no-parent']);
    let parent = (await snapJson(['show', 'deep@v0', '--store', chain])).json.snapshot as string;
    for (let i = 1; i <= DEPTH; i++) {
      const bytes = serializeStatement(buildStatement({
        dataset: 'deep', version: `v${i}`, merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1,
        createdAt: `2030-01-01T00:00:${String(i).padStart(2, '0')}Z`, parent, tool: { name: 'snap', version: '0.1.0' },
      }));
      const dir = join(chain, 'snapshots', 'deep', `v${i}`);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(join(dir, 'statement.json'), bytes);
      await fsp.writeFile(join(dir, 'envelope.json'), '{}');
      await fsp.writeFile(join(dir, 'manifest.jsonl'), '');
      parent = snapshotId(bytes);
    }
  });

  /** Leading spaces of the longest-indented line. */
  const deepestIndent = (text: string) => Math.max(...text.split('\n').map((l) => l.length - l.trimStart().length));

  it('is printed by lineage indented at most 16 levels, the deeper snapshots naming their depth (output linear in the chain)', async () => {
    const r = await snap(['lineage', `deep@v${DEPTH}`, '--store', chain]);
    expect(r.code, r.stderr).toBe(0);
    expect(deepestIndent(r.stdout)).toBeLessThanOrEqual(2 * 16 + 4);
    expect(r.stdout).toMatch(new RegExp(`^ {32}\\[depth ${DEPTH}\\] deep@v0 `, 'm'));
  });

  it('is printed by impact indented at most 16 levels too', async () => {
    const r = await snap(['impact', 'deep@v0', '--store', chain]);
    expect(r.code, r.stderr).toBe(0);
    expect(deepestIndent(r.stdout)).toBeLessThanOrEqual(4 + 2 * 16);
    expect(r.stdout).toMatch(new RegExp(`^ {36}\\[depth ${DEPTH - 1}\\] deep@v${DEPTH} `, 'm'));
  });
});

describe('impact --pubkey: believing only what trusted keys signed', () => {
  // src@v1 → mid@v1 (derived), model m@1 trained on mid@v1; other@v1 with model o@1.
  let s4: string;
  let w: string;
  const sorted = (o: unknown): string =>
    Array.isArray(o) ? `[${o.map(sorted).join(',')}]` : o !== null && typeof o === 'object' ? `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sorted((o as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(o);
  /** What someone who can write the store (not the keys) does: edit a signed statement, and put the edit in the envelope's payload too (its signature then fails). */
  async function forge(dir: string, edit: (statement: Record<string, any>) => void): Promise<void> {
    const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    edit(statement);
    const bytes = sorted(statement);
    const envelope = JSON.parse(await fsp.readFile(join(dir, 'envelope.json'), 'utf8'));
    envelope.payload = Buffer.from(bytes).toString('base64');
    await fsp.chmod(dir, 0o755);
    for (const f of ['statement.json', 'envelope.json']) await fsp.chmod(join(dir, f), 0o644).catch(() => {});
    await fsp.writeFile(join(dir, 'statement.json'), bytes);
    await fsp.writeFile(join(dir, 'envelope.json'), JSON.stringify(envelope));
  }
  beforeAll(async () => {
    s4 = await newStorePath();
    w = await tempDir('snap-lin-trust-');
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']], [{ 'x.csv': '1\n' }, 'other@v1', []]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s4, '--no-pipeline', ...extra])).code).toBe(0);
    }
    for (const [m, data] of [['m', 'mid@v1'], ['o', 'other@v1']] as const) {
      await fsp.writeFile(join(w, `${m}.bin`), m);
      expect((await snapJson(['attest', `${m}.bin`, '--data', data, '--key', keys.key, '--as', `${m}@1`, '--store', s4], { cwd: w })).code).toBe(0);
    }
  });

  it('gives the same answer as without it on an intact store, verified, exit 0', async () => {
    const plain = await snapJson(['impact', 'src@v1', '--store', s4]);
    const checked = await snapJson(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.json).toMatchObject({ ok: true, verified: true, unverified: [], unverifiedModels: [] });
    expect(checked.json.models).toEqual(plain.json.models);
    expect(checked.json.derived).toEqual(plain.json.derived);
    expect(plain.json.verified).toBe(false);
    expect(plain.json.unverified).toBeUndefined();
    const human = await snap(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('every snapshot and attestation of the store checked against the given key');
  });

  it('names an attestation whose training data was edited to hide its model (without --pubkey, the audit log still names it), exit 1', async () => {
    const other = (await snapJson(['show', 'other@v1', '--store', s4])).json.snapshot as string;
    const original = (await snapJson(['impact', 'src@v1', '--store', s4])).json.models[0].attestation as string;
    const dir = join(s4, 'attestations', 'm', '1');
    const keep = join(w, 'm-att');
    await fsp.cp(dir, keep, { recursive: true });
    try {
      await forge(dir, (s) => {
        s.predicate.datasets = [{ ...s.predicate.datasets[0], ref: 'other@v1', snapshot: other }];
      });
      const plain = await snapJson(['impact', 'src@v1', '--store', s4]);
      // The attack took m@1 out of the store's answer; the audit log recorded its attestation id and training data.
      expect(plain.code).toBe(1);
      expect(plain.json.models.map((m: { ref: string; attestation: string; fromLog?: { state: string } }) => [m.ref, m.attestation, m.fromLog?.state])).toEqual([['m@1', original, 'replaced']]);
      const checked = await snapJson(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(checked.code, JSON.stringify(checked.json)).toBe(1);
      expect(checked.json.ok).toBe(false);
      expect(checked.json.models.map((m: { ref: string; attestation: string; fromLog?: { state: string } }) => [m.ref, m.attestation, m.fromLog?.state])).toEqual([['m@1', original, 'unverified']]);
      expect(checked.json.unverifiedModels.map((u: { ref: string; code: string }) => [u.ref, u.code])).toEqual([['m@1', 'SIGNATURE_INVALID']]);
      const human = await snap(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^ {2}not verified \(1\): .*may be incomplete:$/m);
      expect(human.stdout).toMatch(/^ {4}model m@1 sha256:\S+ {2}.*\[SIGNATURE_INVALID\]$/m);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
      await fsp.cp(keep, dir, { recursive: true });
    }
  });

  it('names a snapshot whose statement was edited to cut it from its source, and lists what was trained on it as possibly affected, exit 1', async () => {
    const dir = join(s4, 'snapshots', 'mid', 'v1');
    const keep = join(w, 'mid-snap');
    await fsp.cp(dir, keep, { recursive: true });
    try {
      await forge(dir, (s) => {
        delete s.predicate.provenance.derivedFrom;
        if (Object.keys(s.predicate.provenance).length === 0) delete s.predicate.provenance;
      });
      const plain = await snapJson(['impact', 'src@v1', '--store', s4]);
      expect(plain.json.derived).toEqual([]); // the attack: mid@v1 no longer derives from src@v1
      // Unverified, the edit still shows: m@1's attestation names mid@v1 as the snapshot before the edit (exit 0, before
      // replacedSnapshots; editing the attestation too needs no key either, which --pubkey catches).
      expect(plain.code).toBe(1);
      expect(plain.json.replacedSnapshots.map((x: { ref: string; namedBy: unknown }) => [x.ref, x.namedBy])).toEqual([['mid@v1', [{ kind: 'attestation', ref: 'm@1' }]]]);
      const checked = await snapJson(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(checked.code).toBe(1);
      expect(checked.json.derived).toEqual([]);
      expect(checked.json.unverified.map((u: { ref: string; code: string }) => [u.ref, u.code])).toEqual([['mid@v1', 'SIGNATURE_INVALID']]);
      expect(checked.json.possiblyAffectedModels.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
      const human = await snap(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(human.stdout).toMatch(/^ {4}snapshot mid@v1 sha256:\S+ {2}.*\[SIGNATURE_INVALID\]$/m);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
      await fsp.cp(keep, dir, { recursive: true });
    }
  });

  it('lists an attestation folder it cannot read (no envelope.json: a folder made needs no key) as not verified, exit 1, and still answers; it stopped with no answer (NOT_FOUND, exit 3)', async () => {
    const planted = join(s4, 'attestations', 'hidden', '1');
    await fsp.mkdir(planted, { recursive: true });
    try {
      const plain = await snapJson(['impact', 'src@v1', '--store', s4]);
      expect(plain.json.skippedAttestations.map((x: { ref: string; code: string }) => [x.ref, x.code])).toEqual([['hidden@1', 'NOT_FOUND']]);
      const checked = await snapJson(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(checked.code, checked.stderr).toBe(1);
      expect(checked.json.ok).toBe(false);
      expect(checked.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
      expect(checked.json.unverifiedModels.map((u: { ref: string; code: string }) => [u.ref, u.code])).toEqual([['hidden@1', 'NOT_FOUND']]);
      const human = await snap(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^ {4}model hidden@1 {2}.*envelope\.json does not exist \[NOT_FOUND\]$/m);
    } finally {
      await fsp.rm(join(s4, 'attestations', 'hidden'), { recursive: true, force: true });
    }
  });

  it('does not count a planted unsigned snapshot claiming to derive from the source as derived: it is listed as not verified, exit 1', async () => {
    const src = (await snapJson(['show', 'src@v1', '--store', s4])).json.snapshot as string;
    const plant = join(s4, 'snapshots', 'fake', 'v1');
    await fsp.cp(join(s4, 'snapshots', 'other', 'v1'), plant, { recursive: true });
    try {
      await forge(plant, (s) => {
        s.subject[0].name = 'fake@v1';
        s.predicate.dataset = 'fake';
        s.predicate.provenance = { derivedFrom: [{ ref: 'src@v1', snapshot: src }] };
      });
      const plain = await snapJson(['impact', 'src@v1', '--store', s4]);
      expect(plain.json.derived.map((d: { ref: string }) => d.ref)).toContain('fake@v1');
      const checked = await snapJson(['impact', 'src@v1', '--store', s4, '--pubkey', keys.pub]);
      expect(checked.code).toBe(1);
      expect(checked.json.derived.map((d: { ref: string }) => d.ref)).toEqual(['mid@v1']);
      expect(checked.json.unverified.map((u: { ref: string }) => u.ref)).toEqual(['fake@v1']);
    } finally {
      await fsp.rm(plant, { recursive: true, force: true });
    }
  });
});

describe('lineage --pubkey', () => {
  it('follows only what verifies: a statement edited to claim another origin is marked, its claimed origins are not followed, exit 1', async () => {
    const s5 = await newStorePath();
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'x.csv': '1\n' }, 'decoy@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s5, '--no-pipeline', ...extra])).code).toBe(0);
    }
    const intact = await snapJson(['lineage', 'mid@v1', '--store', s5, '--pubkey', keys.pub]);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.json.chain.map((n: { ref: string; verified: boolean }) => [n.ref, n.verified])).toEqual([['mid@v1', true], ['src@v1', true]]);
    expect(intact.json).toMatchObject({ ok: true, verified: true });

    // Someone who can write the store (no key) makes mid@v1 claim to come from decoy@v1.
    const decoy = (await snapJson(['show', 'decoy@v1', '--store', s5])).json.snapshot as string;
    const dir = join(s5, 'snapshots', 'mid', 'v1');
    const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    statement.predicate.provenance.derivedFrom = [{ ref: 'decoy@v1', snapshot: decoy }];
    const sorted = (o: unknown): string =>
      Array.isArray(o) ? `[${o.map(sorted).join(',')}]` : o !== null && typeof o === 'object' ? `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sorted((o as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(o);
    const envelope = JSON.parse(await fsp.readFile(join(dir, 'envelope.json'), 'utf8'));
    envelope.payload = Buffer.from(sorted(statement)).toString('base64');
    await fsp.chmod(dir, 0o755);
    for (const f of ['statement.json', 'envelope.json']) await fsp.chmod(join(dir, f), 0o644);
    await fsp.writeFile(join(dir, 'statement.json'), sorted(statement));
    await fsp.writeFile(join(dir, 'envelope.json'), JSON.stringify(envelope));

    const plain = await snapJson(['lineage', 'mid@v1', '--store', s5]);
    expect(plain.code).toBe(0);
    expect(plain.json.chain.map((n: { ref: string }) => n.ref)).toEqual(['mid@v1', 'decoy@v1']); // the attack, unseen without keys
    const checked = await snapJson(['lineage', 'mid@v1', '--store', s5, '--pubkey', keys.pub]);
    expect(checked.code).toBe(1);
    expect(checked.json.ok).toBe(false);
    expect(checked.json.chain.map((n: { ref: string; verified: boolean }) => [n.ref, n.verified])).toEqual([['mid@v1', false]]);
    expect(checked.json.chain[0].failure.code).toBe('SIGNATURE_INVALID');
    const human = await snap(['lineage', 'mid@v1', '--store', s5, '--pubkey', keys.pub]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^ {4}NOT VERIFIED .*\[SIGNATURE_INVALID\]: what it says it came from is not followed$/m);
    expect(human.stdout).toMatch(/^ {4}derived from decoy@v1 sha256:\S+ \(unverified claim\)$/m);
  });

  it('fails closed on an ancestor that is not in the store: it cannot be checked, so the chain is not verified past it (REF_NOT_FOUND, exit 1); without keys it is listed, exit 0', async () => {
    // src@v1 → mid@v1 → end@v1 (derived), all signed; then src@v1's folder is removed, which needs no key.
    const s6 = await newStorePath();
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']], [{ 'end.csv': '1\n' }, 'end@v1', ['--derived-from', 'mid@v1']]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', s6, '--no-pipeline', ...extra])).code).toBe(0);
    }
    const src = (await snapJson(['show', 'src@v1', '--store', s6])).json.snapshot as string;
    const dir = join(s6, 'snapshots', 'src', 'v1');
    await fsp.chmod(dir, 0o755);
    await fsp.rm(dir, { recursive: true, force: true });

    const plain = await snapJson(['lineage', 'end@v1', '--store', s6]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.json.missing).toEqual([{ snapshot: src, ref: 'src@v1' }]);
    const checked = await snapJson(['lineage', 'end@v1', '--store', s6, '--pubkey', keys.pub]);
    expect(checked.code, checked.stderr).toBe(1);
    expect(checked.json.ok).toBe(false);
    expect(checked.json.chain.map((n: { ref: string; verified: boolean }) => [n.ref, n.verified])).toEqual([['end@v1', true], ['mid@v1', true]]);
    expect(checked.json.missing).toEqual([{ snapshot: src, ref: 'src@v1', failure: { code: 'REF_NOT_FOUND', message: expect.stringContaining('not in the store') } }]);
    const human = await snap(['lineage', 'end@v1', '--store', s6, '--pubkey', keys.pub]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^ {6}derived from src@v1 sha256:\S+ \(not in the store\)$/m);
    expect(human.stdout).toMatch(/^NOT VERIFIED src@v1 sha256:\S+ is not in the store: its signatures cannot be checked, so the chain is not verified past it \[REF_NOT_FOUND\]$/m);
    expect(human.stdout).toMatch(/; 1 failed\)$/m);
  });
});

describe('a snapshot folder swapped between the read of the graph and the signature check (someone who can write the store, racing)', () => {
  // src@v1, decoy@v1, and mid@v1 derived from src@v1. The store holds a forged mid@v1 (claiming decoy@v1, unsigned) while
  // the graph is read; the genuine files are put back just before mid@v1's signatures are checked.
  async function setUp() {
    const st = await newStorePath();
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'x.csv': '1\n' }, 'decoy@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', st, '--no-pipeline', ...extra])).code).toBe(0);
    }
    const decoy = (await snapJson(['show', 'decoy@v1', '--store', st])).json.snapshot as string;
    const dir = join(st, 'snapshots', 'mid', 'v1');
    const genuine = { statement: await fsp.readFile(join(dir, 'statement.json')), envelope: await fsp.readFile(join(dir, 'envelope.json')) };
    const statement = JSON.parse(genuine.statement.toString('utf8'));
    statement.predicate.provenance.derivedFrom = [{ ref: 'decoy@v1', snapshot: decoy }];
    const sorted = (o: unknown): string =>
      Array.isArray(o) ? `[${o.map(sorted).join(',')}]` : o !== null && typeof o === 'object' ? `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sorted((o as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(o);
    const envelope = JSON.parse(genuine.envelope.toString('utf8'));
    envelope.payload = Buffer.from(sorted(statement)).toString('base64');
    await fsp.chmod(dir, 0o755);
    for (const f of ['statement.json', 'envelope.json']) await fsp.chmod(join(dir, f), 0o644);
    await fsp.writeFile(join(dir, 'statement.json'), sorted(statement));
    await fsp.writeFile(join(dir, 'envelope.json'), JSON.stringify(envelope));
    const checked = signatureTrust([await readPublicKey(keys.pub)]);
    // The race, made certain: the genuine files are back when mid@v1 is checked.
    const racing: ImpactTrust = {
      snapshot: async (at) => {
        if (at.dir === dir) {
          await fsp.writeFile(join(dir, 'statement.json'), genuine.statement);
          await fsp.writeFile(join(dir, 'envelope.json'), genuine.envelope);
        }
        return checked.snapshot(at);
      },
      attestation: checked.attestation,
    };
    return { st, decoy, racing };
  }

  it('lineage does not follow the origins it read from the forged files as verified: mid@v1 is marked (INTEGRITY_FAILURE), decoy@v1 is not in the chain', async () => {
    const { st, racing } = await setUp();
    const r = await lineage(await resolveRef('mid@v1', st), await openStore(st), racing);
    expect(r.chain.map((n) => [n.ref, n.verified])).toEqual([['mid@v1', false]]);
    expect(r.chain[0]?.failure?.code).toBe('INTEGRITY_FAILURE');
  });

  it('impact does not count what it read from the forged files as verified: mid@v1 is listed as unverified (INTEGRITY_FAILURE), not as derived from decoy@v1', async () => {
    const { st, racing } = await setUp();
    const r = await impact(await resolveRef('decoy@v1', st), await openStore(st), racing);
    expect(r.derived).toEqual([]);
    expect(r.unverified?.map((u) => [u.ref, u.code])).toEqual([['mid@v1', 'INTEGRITY_FAILURE']]);
  });
});

describe('a snapshot replaced in the store by another signed as the same name (a copy from another store sharing the keys: no key needed)', () => {
  // src@v1 → mid@v1 (derived); models m@1 trained on src@v1 and e@1 on mid@v1. Another store holds a src@v1 and a mid@v1
  // of other data, signed by the same key; whoever can write the store copies one of them over the genuine folder.
  async function setUp(replace: 'src' | 'mid') {
    const st = await newStorePath();
    const other = await newStorePath();
    const w = await tempDir('snap-lin-swap-');
    for (const [files, as, extra] of [[{ 'raw.csv': '1\n' }, 'src@v1', []], [{ 'mid.csv': '1\n' }, 'mid@v1', ['--derived-from', 'src@v1']]] as const) {
      expect((await snapJson(['seal', await makeTree(files), '--as', as, '--key', keys.key, '--store', st, '--no-pipeline', ...extra])).code).toBe(0);
      expect((await snapJson(['seal', await makeTree({ 'elsewhere.csv': `${as}\n` }), '--as', as, '--key', keys.key, '--store', other, '--no-pipeline'])).code).toBe(0);
    }
    for (const [m, data] of [['m', 'src@v1'], ['e', 'mid@v1']] as const) {
      await fsp.writeFile(join(w, `${m}.bin`), m);
      expect((await snapJson(['attest', `${m}.bin`, '--data', data, '--key', keys.key, '--as', `${m}@1`, '--store', st], { cwd: w })).code).toBe(0);
    }
    const genuine = (await snapJson(['show', `${replace}@v1`, '--store', st])).json.snapshot as string;
    const planted = (await snapJson(['show', `${replace}@v1`, '--store', other])).json.snapshot as string;
    const dir = join(st, 'snapshots', replace, 'v1');
    await fsp.chmod(join(st, 'snapshots', replace), 0o755);
    await fsp.chmod(dir, 0o755);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.cp(join(other, 'snapshots', replace, 'v1'), dir, { recursive: true });
    return { st, genuine, planted };
  }

  for (const keyed of [true, false]) {
    it(`impact of the replaced name says so and exits 1, as verify-model and bom --model do${keyed ? ' (--pubkey: the planted copy verifies)' : ''}; it answered "derived: none, models: none", exit 0`, async () => {
      const { st, genuine, planted } = await setUp('src');
      const flags = keyed ? ['--pubkey', keys.pub] : [];
      const r = await snapJson(['impact', 'src@v1', '--store', st, ...flags]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.json.ok).toBe(false);
      expect(r.json.snapshot).toEqual({ ref: 'src@v1', snapshot: planted });
      expect(r.json.replacedSnapshots).toEqual([
        { ref: 'src@v1', snapshot: genuine, found: planted, namedBy: [{ kind: 'snapshot', ref: 'mid@v1' }, { kind: 'attestation', ref: 'm@1' }] },
      ]);
      expect(schemaErrors('impact', r.json)).toBe('');
      // What was trained on or derived from the genuine src@v1 is still named, as possibly affected.
      expect(r.json.possiblyAffectedModels.map((m: { ref: string }) => m.ref).sort()).toEqual(['e@1', 'm@1']);
      const human = await snap(['impact', 'src@v1', '--store', st, ...flags]);
      expect(human.code).toBe(1);
      expect(human.stdout).toContain(`src@v1: the store holds ${planted}, but mid@v1 and model m@1 name ${genuine} by that name`);
      expect(human.stdout).toMatch(new RegExp(`model m@1 sha256:\\S+ {2}trained on src@v1 \\(replaced in the store by ${planted}\\)`));
      expect(human.stdout).toMatch(new RegExp(`mid@v1 sha256:\\S+ {2}\\(came from src@v1 ${genuine}, replaced in the store by ${planted}\\)`));
    });
  }

  it('impact of the source names a derived snapshot replaced under its name (its model not "not in the store"), exit 1', async () => {
    const { st, genuine, planted } = await setUp('mid');
    const r = await snapJson(['impact', 'src@v1', '--store', st, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.models.map((m: { ref: string }) => m.ref)).toEqual(['m@1']);
    expect(r.json.replacedSnapshots).toEqual([{ ref: 'mid@v1', snapshot: genuine, found: planted, namedBy: [{ kind: 'attestation', ref: 'e@1' }] }]);
    expect(r.json.possiblyAffectedModels.map((m: { ref: string; trainedOn: unknown }) => [m.ref, m.trainedOn])).toEqual([['e@1', [{ ref: 'mid@v1', snapshot: genuine, inStore: false }]]]);
    const human = await snap(['impact', 'src@v1', '--store', st, '--pubkey', keys.pub]);
    expect(human.stdout).toMatch(new RegExp(`model e@1 sha256:\\S+ {2}trained on mid@v1 \\(replaced in the store by ${planted}\\)`));
  });

  it("impact of a name a derivation gives another store's snapshot (--derived-from its folder) says the records may name another store's, not only that the store's was replaced, and says that one record names it ('mid@v1 names', not 'mid@v1 name')", async () => {
    const st = await newStorePath();
    const other = await newStorePath();
    expect((await snapJson(['seal', await makeTree({ 'raw.csv': '1\n' }), '--as', 'src@v1', '--key', keys.key, '--store', st, '--no-pipeline'])).code).toBe(0);
    expect((await snapJson(['seal', await makeTree({ 'elsewhere.csv': '2\n' }), '--as', 'src@v1', '--key', keys.key, '--store', other, '--no-pipeline'])).code).toBe(0);
    const derived = await snapJson(['seal', await makeTree({ 'mid.csv': '1\n' }), '--as', 'mid@v1', '--key', keys.key, '--store', st, '--no-pipeline', '--derived-from', join(other, 'snapshots', 'src', 'v1')]);
    expect(derived.code, derived.stderr).toBe(0);
    const human = await snap(['impact', 'src@v1', '--store', st, '--pubkey', keys.pub]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/snapshots replaced in the store \(1\): the store holds another snapshot under the name signed records give it: replaced \(a copy from another store signed by the same keys\?\), or the records name another store's snapshot of that name \(--derived-from a snapshot folder elsewhere\)/);
    expect(human.stdout).toMatch(/src@v1: the store holds sha256:\S+, but mid@v1 names sha256:\S+ by that name/);
  });

  it('an intact store has no replaced snapshot (replacedSnapshots empty, exit 0)', async () => {
    const r = await snapJson(['impact', 'raw@v1', '--store', store, '--pubkey', keys.pub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.replacedSnapshots).toEqual([]);
  });
});
