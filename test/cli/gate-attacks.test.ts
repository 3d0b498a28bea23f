/**
 * The gate under attack (issue 8, item 0): someone who can write the store or an archive, but holds
 * no key, cannot make a command use one snapshot under another's name, nor make verify slow or
 * confused with a hostile envelope, statement or key file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { newStorePath, snapshotFolder, tamper } from '../helpers/store.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { signEnvelope, serializeEnvelope, MAX_SIGNATURES } from '../../src/core/envelope.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { MAX_EXCLUDE_PATTERN_BYTES } from '../../src/core/excludes.js';

const keys = useKeyPair('alice');

/** The error or failure code a `--json` run reports. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const codeOf = (r: { json: any }): string | undefined => r.json.error?.code ?? r.json.failure?.code;

/** Copy every file of one snapshot folder over another's (what an attacker with store access does). */
async function swapSnapshot(store: string, from: string, to: string): Promise<void> {
  const src = snapshotFolder(store, 'ds', from);
  const dst = snapshotFolder(store, 'ds', to);
  for (const f of await fsp.readdir(src)) {
    await fsp.rm(join(dst, f), { force: true });
    await fsp.copyFile(join(src, f), join(dst, f));
  }
}

describe('a store whose ds/v2 folder holds the snapshot signed as ds@v1', () => {
  let store: string;
  let v1Data: string;
  let v1Id: string;
  beforeAll(async () => {
    store = await newStorePath();
    v1Data = await makeTree({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'poison.txt': 'flipped\n' });
    const v2Data = await makeTree({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const s1 = await snapJson(['seal', v1Data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
    expect(s1.code, s1.stderr).toBe(0);
    v1Id = s1.json.snapshot;
    const s2 = await snapJson(['seal', v2Data, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(s2.code, s2.stderr).toBe(0);
    await swapSnapshot(store, 'v1', 'v2');
  });

  it('makes verify against ds@v2 exit 1 (SNAPSHOT_NAME_MISMATCH) on v1 data, no data problem trusted', async () => {
    const v = await snapJson(['verify', v1Data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(codeOf(v)).toBe('SNAPSHOT_NAME_MISMATCH');
    expect(v.json.problems).toEqual([]);
  });

  it('resolves the snapshot id (also in the ds/v2 folder) to the folder its statement names, ds/v1: more digits could not tell the copies apart', async () => {
    const v = await snapJson(['verify', v1Data, '--against', v1Id.slice(7, 19), '--pubkey', keys.pub, '--store', store]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.snapshot).toBe(v1Id);
    const shown = await snapJson(['show', v1Id, '--store', store]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json.dir).toBe(snapshotFolder(store, 'ds', 'v1'));
  });

  it('calls the id ambiguous, naming the folders, when no copy is in the folder its statement names', async () => {
    const other = await newStorePath();
    const data = await makeTree({ 'a.txt': 'a\n' });
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', other]);
    expect(s.code, s.stderr).toBe(0);
    for (const v of ['v2', 'v3']) await fsp.cp(snapshotFolder(other, 'ds', 'v1'), snapshotFolder(other, 'ds', v), { recursive: true });
    await fsp.rm(snapshotFolder(other, 'ds', 'v1'), { recursive: true });
    const v = await snapJson(['show', s.json.snapshot, '--store', other]);
    expect([v.code, codeOf(v)]).toEqual([2, 'REF_AMBIGUOUS']);
    expect(v.json.error.message).toContain('ds@v2, ds@v3');
    expect(v.json.error.message).toContain('none of them the one its statement names');
  });

  it('still verifies ds@v1 itself (exit 0)', async () => {
    const v = await snapJson(['verify', v1Data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('makes restore, export, show and diff of ds@v2 exit 1 with SNAPSHOT_NAME_MISMATCH, writing nothing', async () => {
    const work = await tempDir('snap-swap-');
    const restored = join(work, 'out');
    const r = await snapJson(['restore', 'ds@v2', restored, '--pubkey', keys.pub, '--store', store]);
    expect([r.code, codeOf(r)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    await expect(fsp.readdir(restored)).rejects.toThrow();
    const e = await snapJson(['export', 'ds@v2', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect([e.code, codeOf(e)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    await expect(fsp.stat(join(work, 'x.snap.tar'))).rejects.toThrow();
    const sh = await snapJson(['show', 'ds@v2', '--store', store]);
    expect([sh.code, codeOf(sh)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    const d = await snapJson(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect([d.code, codeOf(d)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
  });

  it('makes list exit 1 and mark ds@v2 as signed as ds@v1', async () => {
    const l = await snapJson(['list', '--store', store]);
    expect(l.code).toBe(1);
    const v2 = l.json.snapshots.find((s: { ref: string }) => s.ref === 'ds@v2');
    expect(v2.signedAs).toBe('ds@v1');
    expect(l.json.snapshots.find((s: { ref: string }) => s.ref === 'ds@v1').signedAs).toBeUndefined();
  });

  it('refuses to seal ds@v3 on top of it as the default parent (exit 1, SNAPSHOT_NAME_MISMATCH), and names nothing', async () => {
    const data = await makeTree({ 'c.txt': 'c\n' });
    const s = await snapJson(['seal', data, '--as', 'ds@v3', '--key', keys.key, '--store', store]);
    expect([s.code, codeOf(s)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    const p = await snapJson(['seal', data, '--as', 'ds@v3', '--key', keys.key, '--store', store, '--parent', 'ds@v2']);
    expect([p.code, codeOf(p)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    await expect(fsp.stat(snapshotFolder(store, 'ds', 'v3'))).rejects.toThrow();
  });

  it('is reported by fsck as a name mismatch (exit 1)', async () => {
    const f = await snapJson(['fsck', '--store', store]);
    expect(f.code).toBe(1);
  });
});

describe('an archive whose file name claims another snapshot than it holds', () => {
  let work: string;
  let data: string;
  let renamed: string;
  beforeAll(async () => {
    work = await tempDir('snap-renamed-');
    data = await makeTree({ 'a.txt': 'a\n', 'poison.txt': 'p\n' });
    const store = join(work, 'store');
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const e = await snapJson(['export', 'ds@v1', '-o', join(work, 'ds@v1.snap.tar'), '--store', store]);
    expect(e.code, e.stderr).toBe(0);
    renamed = join(work, 'ds@v2.snap.tar');
    await fsp.copyFile(join(work, 'ds@v1.snap.tar'), renamed);
  });

  it('is refused by verify, verify --against, import, restore, show and diff (exit 1, SNAPSHOT_NAME_MISMATCH)', async () => {
    const runs = [
      ['verify', renamed, '--pubkey', keys.pub],
      ['verify', data, '--against', renamed, '--pubkey', keys.pub],
      ['import', renamed, '--pubkey', keys.pub, '--store', join(work, 'other-store')],
      ['restore', renamed, join(work, 'restored'), '--pubkey', keys.pub],
      ['show', renamed],
      ['diff', renamed, data],
    ];
    for (const args of runs) {
      const r = await snapJson(args);
      expect([args[0], r.code, codeOf(r)]).toEqual([args[0], 1, 'SNAPSHOT_NAME_MISMATCH']);
    }
    await expect(fsp.stat(join(work, 'other-store', 'snapshots', 'ds', 'v1'))).rejects.toThrow();
    await expect(fsp.stat(join(work, 'restored', 'a.txt'))).rejects.toThrow();
  });

  it('is accepted under a name that claims nothing (backup.snap.tar)', async () => {
    const plain = join(work, 'backup.snap.tar');
    await fsp.copyFile(join(work, 'ds@v1.snap.tar'), plain);
    const v = await snapJson(['verify', plain, '--pubkey', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('cannot be written by export under another snapshot name (exit 1)', async () => {
    const e = await snapJson(['export', 'ds@v1', '-o', join(work, 'ds@v9.snap.tar'), '--store', join(work, 'store')]);
    expect([e.code, codeOf(e)]).toEqual([1, 'SNAPSHOT_NAME_MISMATCH']);
    await expect(fsp.stat(join(work, 'ds@v9.snap.tar'))).rejects.toThrow();
  });
});

describe('a hostile envelope', () => {
  let store: string;
  let data: string;
  let envelopePath: string;
  let original: string;
  beforeAll(async () => {
    store = await newStorePath();
    data = await makeTree({ 'a.txt': 'a\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    envelopePath = join(snapshotFolder(store, 'ds', 'v1'), 'envelope.json');
    original = await fsp.readFile(envelopePath, 'utf8');
  });
  const restore = () => tamper(envelopePath, () => original).catch(() => undefined);
  const verify = () => snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);

  it('with a duplicate "payload" member is refused (exit 1, ENVELOPE_MALFORMED), whichever copy is the signed one', async () => {
    const env = JSON.parse(original);
    const other = Buffer.from('{"x":1}').toString('base64');
    for (const text of [
      `{"payload":"${env.payload}","payload":"${other}","payloadType":"${env.payloadType}","signatures":${JSON.stringify(env.signatures)}}`,
      `{"payload":"${other}","payload":"${env.payload}","payloadType":"${env.payloadType}","signatures":${JSON.stringify(env.signatures)}}`,
      `{"payload":"${env.payload}","payloadType":"${env.payloadType}","signatures":[{"keyid":"a","keyid":"b","sig":"${env.signatures[0].sig}"}]}`,
    ]) {
      await tamper(envelopePath, () => text);
      const v = await verify();
      expect([v.code, codeOf(v)]).toEqual([1, 'ENVELOPE_MALFORMED']);
    }
    await restore();
    expect((await verify()).code).toBe(0);
  });

  it(`with more than ${MAX_SIGNATURES} signatures is refused (exit 1, ENVELOPE_MALFORMED)`, async () => {
    const env = JSON.parse(original);
    const junk = Array.from({ length: MAX_SIGNATURES }, (_, i) => ({ keyid: `junk${i}`, sig: Buffer.alloc(64, i).toString('base64') }));
    await tamper(envelopePath, () => canonicalJson({ ...env, signatures: [...junk, ...env.signatures] }));
    const v = await verify();
    expect([v.code, codeOf(v)]).toEqual([1, 'ENVELOPE_MALFORMED']);
    await restore();
  });

  it(`with ${MAX_SIGNATURES} signatures, one of them valid, still verifies (exit 0)`, async () => {
    const env = JSON.parse(original);
    const junk = Array.from({ length: MAX_SIGNATURES - 1 }, (_, i) => ({ keyid: env.signatures[0].keyid, sig: Buffer.alloc(64, i).toString('base64') }));
    await tamper(envelopePath, () => canonicalJson({ ...env, signatures: [...junk, ...env.signatures] }));
    const v = await verify();
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.signers.filter((s: { trusted: boolean }) => s.trusted)).toHaveLength(1);
    await restore();
  });
});

describe('sizes that come from input are bounded', () => {
  it('refuses an --exclude pattern longer than the limit as a usage error (exit 2, USAGE), not an internal error', async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const long = 'a'.repeat(32_000);
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), '--exclude', long]);
    expect([r.code, codeOf(r)]).toEqual([2, 'USAGE']);
    const ok = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), '--exclude', 'b'.repeat(MAX_EXCLUDE_PATTERN_BYTES)]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('refuses a signed statement carrying a 1.1 MB excludes entry (exit 1, STATEMENT_INVALID), with no internal error', async () => {
    const store = await newStorePath();
    const data = await makeTree({ 'a.txt': 'a\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const dir = snapshotFolder(store, 'ds', 'v1');
    const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    statement.predicate.excludes = ['x'.repeat(1_100_000)];
    const bytes = new TextEncoder().encode(canonicalJson(statement));
    const key = await readPrivateKey(keys.key);
    await tamper(join(dir, 'statement.json'), () => Buffer.from(bytes).toString('utf8'));
    await tamper(join(dir, 'envelope.json'), () => Buffer.from(serializeEnvelope(signEnvelope(bytes, [key]))).toString('utf8'));
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect([v.code, codeOf(v)]).toEqual([1, 'STATEMENT_INVALID']);
  });
});

describe('key files that OpenSSL would refuse, or that two parsers could read differently', () => {
  it('are refused with KEY_MALFORMED (exit 3): bytes before or after the PEM block', async () => {
    const dir = await tempDir('snap-badkeys-');
    const pem = await fsp.readFile(keys.key, 'utf8');
    const pub = await fsp.readFile(keys.pub, 'utf8');
    const data = await makeTree({ 'a.txt': 'a\n' });
    await writeTree(dir, { 'pre.key': Buffer.concat([Buffer.from([0xff, 0x00, 0x1b]), Buffer.from(pem)]), 'post.pub': `${pub}junk\n` });
    await fsp.chmod(join(dir, 'pre.key'), 0o600);
    const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', join(dir, 'pre.key'), '--store', await newStorePath()]);
    expect([s.code, codeOf(s)]).toEqual([3, 'KEY_MALFORMED']);
    const v = await snapJson(['verify', data, '--against', 'ds@v1', '--pubkey', join(dir, 'post.pub'), '--store', await newStorePath()]);
    expect([v.code, codeOf(v)]).toEqual([3, 'KEY_MALFORMED']);
  });
});

describe('a manifest altered in the store where verify reads lines raw (files a worker listed)', () => {
  /** Seal a plain folder, replace its manifest's bytes with `change(old)`, and verify. */
  async function verifyWith(change: (old: string) => string) {
    const store = await newStorePath();
    const data = await makeTree({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const s = await snapJson(['seal', data, '--as', 'm@v1', '--key', keys.key, '--store', store]);
    expect(s.code, s.stderr).toBe(0);
    const manifest = join(snapshotFolder(store, 'm', 'v1'), 'manifest.jsonl');
    const old = await fsp.readFile(manifest, 'utf8');
    await fsp.chmod(manifest, 0o644);
    await fsp.writeFile(manifest, change(old));
    return snapJson(['verify', data, '--against', 'm@v1', '--pubkey', keys.pub, '--store', store]);
  }

  it('replaced with one 2 MiB line and no newline: verify exits 1 (INTEGRITY_FAILURE) naming the line, no data problem trusted', async () => {
    const v = await verifyWith(() => 'x'.repeat(2 << 20));
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(codeOf(v)).toBe('INTEGRITY_FAILURE');
    expect(v.json.failure.message).toContain('line 1 is longer than 1048576 bytes');
    expect(v.json.problems).toEqual([]);
  });

  it('cut before its last newline: verify exits 1 (INTEGRITY_FAILURE), no data problem trusted', async () => {
    const v = await verifyWith((old) => old.slice(0, -1));
    expect(v.code).toBe(1);
    expect(codeOf(v)).toBe('INTEGRITY_FAILURE');
    expect(v.json.failure.message).toContain('does not end with a newline');
    expect(v.json.problems).toEqual([]);
  });
});
