/**
 * The worked example (test/fixtures/worked-example.json, made by docs/worked-example.mjs from the
 * SPEC alone, with node:crypto and no project code) reproduced exactly by snap: first piece by
 * piece through the core, then end to end through the library `seal` with a fixed clock.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeEntry, type FileEntry } from '../../src/core/manifest.js';
import { leafHash, merkleRoot } from '../../src/core/merkle.js';
import { buildStatement, serializeStatement, snapshotId } from '../../src/core/statement.js';
import { pae, serializeEnvelope, signEnvelope, verifyEnvelope, PAYLOAD_TYPE } from '../../src/core/envelope.js';
import { privateKeyFromSeed, keyidOf } from '../../src/core/keys.js';
import { sign } from '../../src/core/ed25519.js';
import { fromHex, toBase64, toHex, utf8 } from '../../src/core/encoding.js';
import { seal } from '../../src/ops/seal.js';
import { TOOL_NAME, TOOL_VERSION } from '../../src/version.js';
import { makeTree, tempDir } from '../helpers/tree.js';

interface WorkedExample {
  files: { path: string; contentUtf8: string }[];
  manifestLines: string[];
  manifestSha256: string;
  leafHashes: string[];
  merkleRoot: string;
  statement: string;
  snapshotId: string;
  paeBase64: string;
  seedHex: string;
  publicKeyHex: string;
  keyid: string;
  signatureBase64: string;
  envelope: string;
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/worked-example.json', import.meta.url), 'utf8')) as WorkedExample;
const key = privateKeyFromSeed(fromHex(fx.seedHex));
const manifestText = fx.manifestLines.map((l) => `${l}\n`).join('');
const statementBytes = utf8(fx.statement);
const fixtureTool = (JSON.parse(fx.statement) as { predicate: { tool: { name: string; version: string } } }).predicate.tool;

const sha256hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('the worked example, piece by piece', () => {
  const entries: FileEntry[] = fx.files.map((f) => ({ path: f.path, sha256: sha256hex(f.contentUtf8), size: Buffer.byteLength(f.contentUtf8) }));

  it('serializes each file entry to the fixture’s manifest line', () => {
    expect(entries.map(serializeEntry)).toEqual(fx.manifestLines);
  });

  it('gives the fixture’s manifestSha256 for the manifest bytes', () => {
    expect(sha256hex(manifestText)).toBe(fx.manifestSha256);
  });

  it('gives the fixture’s leaf hashes and Merkle root', () => {
    const leaves = fx.manifestLines.map((l) => leafHash(utf8(l)));
    expect(leaves.map(toHex)).toEqual(fx.leafHashes);
    expect(toHex(merkleRoot(leaves))).toBe(fx.merkleRoot);
  });

  it('builds and serializes the fixture’s statement bytes, and its snapshot id', () => {
    const statement = buildStatement({
      dataset: 'demo',
      version: 'v1',
      merkleRoot: fx.merkleRoot,
      manifestSha256: fx.manifestSha256,
      fileCount: 2,
      totalBytes: 12,
      createdAt: '2026-11-21T10:00:00Z',
      tool: fixtureTool,
    });
    expect(new TextDecoder().decode(serializeStatement(statement))).toBe(fx.statement);
    expect(snapshotId(statementBytes)).toBe(fx.snapshotId);
  });

  it('gives the fixture’s PAE bytes', () => {
    expect(toBase64(pae(PAYLOAD_TYPE, statementBytes))).toBe(fx.paeBase64);
  });

  it('derives the fixture’s public key and keyid from the seed', () => {
    expect(toHex(key.publicKey)).toBe(fx.publicKeyHex);
    expect(key.keyid).toBe(fx.keyid);
    expect(keyidOf(fromHex(fx.publicKeyHex))).toBe(fx.keyid);
  });

  it('signs the PAE to the fixture’s signature (Ed25519 is deterministic)', () => {
    expect(toBase64(sign(pae(PAYLOAD_TYPE, statementBytes), key.seed))).toBe(fx.signatureBase64);
  });

  it('serializes the signed envelope to the fixture’s bytes, which verify under the fixture key', () => {
    const env = signEnvelope(statementBytes, [key]);
    expect(new TextDecoder().decode(serializeEnvelope(env))).toBe(fx.envelope);
    expect(verifyEnvelope(env, [{ publicKey: key.publicKey, keyid: key.keyid }]).ok).toBe(true);
  });
});

describe('the worked example, through the seal pipeline', () => {
  it('was made for this tool (the statement records tool name and version)', () => {
    expect(fixtureTool).toEqual({ name: TOOL_NAME, version: TOOL_VERSION });
  });

  it('seals the two-file dataset with a fixed clock into the fixture’s manifest, root, statement, id and envelope bytes', async () => {
    const data = await makeTree(Object.fromEntries(fx.files.map((f) => [f.path, f.contentUtf8])));
    const store = join(await tempDir(), 'store');
    const r = await seal({ dir: data, as: 'demo@v1', key, store, now: () => new Date('2026-11-21T10:00:00Z'), jobs: 1 });
    expect(r.merkleRoot).toBe(fx.merkleRoot);
    expect(r.manifestSha256).toBe(fx.manifestSha256);
    expect(r.snapshot).toBe(fx.snapshotId);
    expect(r.keyid).toBe(fx.keyid);
    expect(r.parent).toBeUndefined();
    expect(await fsp.readFile(join(r.dir, 'manifest.jsonl'), 'utf8')).toBe(manifestText);
    expect(await fsp.readFile(join(r.dir, 'statement.json'), 'utf8')).toBe(fx.statement);
    expect(await fsp.readFile(join(r.dir, 'envelope.json'), 'utf8')).toBe(fx.envelope);
  });

  it('gives the same manifest and root with --manifest-only and with more workers', async () => {
    const data = await makeTree(Object.fromEntries(fx.files.map((f) => [f.path, f.contentUtf8])));
    const store = join(await tempDir(), 'store');
    const r = await seal({ dir: data, as: 'demo@v1', key, store, now: () => new Date('2026-11-21T10:00:00Z'), jobs: 2, manifestOnly: true });
    expect(r.merkleRoot).toBe(fx.merkleRoot);
    expect(await fsp.readFile(join(r.dir, 'statement.json'), 'utf8')).toBe(fx.statement);
  });
});
