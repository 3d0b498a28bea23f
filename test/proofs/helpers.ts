/**
 * Test helpers for inclusion proofs: deterministic keys, and snapshot folders (manifest, statement,
 * envelope) written straight from the core functions — far faster than sealing a tree, so that
 * many tree sizes can be proven in one test.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { serializeEntry, sortEntries, type ManifestEntry } from '../../src/core/manifest.js';
import { leafHash, merkleRoot } from '../../src/core/merkle.js';
import { buildStatement, serializeStatement, snapshotId } from '../../src/core/statement.js';
import { serializeEnvelope, signEnvelope, type Envelope, type TrustedKey } from '../../src/core/envelope.js';
import { privateKeyFromSeed, type PrivateKey } from '../../src/core/keys.js';
import { utf8 } from '../../src/core/encoding.js';
import type { SnapshotLocation } from '../../src/io/store.js';
import { tempDir } from '../helpers/tree.js';

/** A signing key from a one-byte seed pattern (tests only). */
export function testKey(n: number): PrivateKey {
  return privateKeyFromSeed(new Uint8Array(32).fill(n));
}

/** The public half of a key, as a verifier holds it. */
export function trustedOf(k: PrivateKey): TrustedKey {
  return { publicKey: k.publicKey, keyid: k.keyid };
}

/** `n` file entries `f/0000.txt` … with made-up digests, in manifest order. */
export function fileEntries(n: number): ManifestEntry[] {
  return Array.from({ length: n }, (_, i) => ({ path: `f/${String(i).padStart(4, '0')}.txt`, sha256: i.toString(16).padStart(64, '0'), size: i }));
}

/** A snapshot written as a folder. */
export interface TestSnapshot {
  location: SnapshotLocation;
  /** The manifest lines (without `\n`) and their leaf hashes, in order. */
  lines: string[];
  leaves: Uint8Array[];
  root: Uint8Array;
  statementBytes: Uint8Array;
  envelope: Envelope;
  snapshot: string;
}

/** Write a snapshot of `entries` (sorted here), signed by `signers`, into a new temporary folder. */
export async function writeSnapshot(entries: ManifestEntry[], signers: PrivateKey[], as = 'ds@v1'): Promise<TestSnapshot> {
  const sorted = sortEntries([...entries]);
  const lines = sorted.map(serializeEntry);
  const leaves = lines.map((l) => leafHash(utf8(l)));
  const root = merkleRoot(leaves);
  const manifest = lines.map((l) => `${l}\n`).join('');
  const { createHash } = await import('node:crypto');
  const [dataset, version] = as.split('@') as [string, string];
  const statement = buildStatement({
    dataset,
    version,
    merkleRoot: Buffer.from(root).toString('hex'),
    manifestSha256: createHash('sha256').update(manifest).digest('hex'),
    fileCount: lines.length,
    totalBytes: sorted.reduce((s, e) => s + ('size' in e ? e.size : 0), 0),
    createdAt: '2026-11-21T10:00:00Z',
    tool: { name: 'snap', version: '0.1.0' },
  });
  const statementBytes = serializeStatement(statement);
  const envelope = signEnvelope(statementBytes, signers);
  const dir = await tempDir('snap-proof-snapshot-');
  await fsp.writeFile(join(dir, 'manifest.jsonl'), manifest);
  await fsp.writeFile(join(dir, 'statement.json'), statementBytes);
  await fsp.writeFile(join(dir, 'envelope.json'), serializeEnvelope(envelope));
  return { location: { dir, ref: dir }, lines, leaves, root, statementBytes, envelope, snapshot: snapshotId(statementBytes) };
}
