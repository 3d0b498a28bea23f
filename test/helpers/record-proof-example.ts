/**
 * The worked example of docs/FORMAT.md §11.5: the §19.9 dataset (`train.csv` alone) sealed as
 * `demo@v1` at 2026-11-21T10:00:00Z, signed with the RFC 8032 §7.1 TEST 1 key (§7.6), and the record
 * proof of the record with key `["10"]`. Everything is built here from the core functions, so the
 * test can compare it with the kept bytes (`test/fixtures/record-proof.json`).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { serializeEntry } from '../../src/core/manifest.js';
import { inclusionProof, leafHash } from '../../src/core/merkle.js';
import { buildStatement, serializeStatement } from '../../src/core/statement.js';
import { serializeEnvelope, signEnvelope } from '../../src/core/envelope.js';
import { privateKeyFromSeed } from '../../src/core/keys.js';
import { fromHex, utf8 } from '../../src/core/encoding.js';
import { serializeRecordProof } from '../../src/core/proof.js';
import type { RecordSetMember } from '../../src/core/records.js';
import { EXAMPLE, TRAIN_CSV } from './records-example.js';
import { tempDir } from './tree.js';

/** RFC 8032 §7.1 TEST 1 (docs/FORMAT.md §7.6): a published key, for examples only. */
export const TEST1_SEED_HEX = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
export const TEST1_KEY = privateKeyFromSeed(fromHex(TEST1_SEED_HEX));

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every value of the example. */
export function recordProofExample() {
  const line = serializeEntry({ path: 'train.csv', sha256: EXAMPLE.fileSha256, size: Buffer.byteLength(TRAIN_CSV) });
  const manifest = `${line}\n`;
  const member = JSON.parse(EXAMPLE.memberWithoutSummary) as RecordSetMember;
  const statement = buildStatement({
    dataset: 'demo', version: 'v1', merkleRoot: Buffer.from(leafHash(utf8(line))).toString('hex'), manifestSha256: sha256(manifest),
    fileCount: 1, totalBytes: Buffer.byteLength(TRAIN_CSV), createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' }, records: [member],
  });
  const statementBytes = serializeStatement(statement);
  const envelope = signEnvelope(statementBytes, [TEST1_KEY]);
  const leaves = EXAMPLE.index.map((l) => leafHash(utf8(l)));
  const proven = 1; // ["10"]: the second line in key order
  const proof = serializeRecordProof(envelope, { set: 'train.csv', entry: EXAMPLE.index[proven] as string, leafIndex: proven, treeSize: 3, auditPath: inclusionProof(leaves, proven) });
  return { manifest, statement, statementBytes, envelope, leaves, proven, proof };
}

/** The example as a snapshot folder with its record index in `objects/sha256` beside it (for `proveRecord`). */
export async function writeRecordProofExample(): Promise<{ dir: string; objectsDir: string; indexPath: string }> {
  const x = recordProofExample();
  const root = await tempDir('snap-record-proof-');
  const dir = join(root, 'snapshot');
  await fsp.mkdir(dir);
  await fsp.writeFile(join(dir, 'manifest.jsonl'), x.manifest);
  await fsp.writeFile(join(dir, 'statement.json'), x.statementBytes);
  await fsp.writeFile(join(dir, 'envelope.json'), serializeEnvelope(x.envelope));
  const objectsDir = join(root, 'objects', 'sha256');
  const indexPath = join(objectsDir, EXAMPLE.indexSha256.slice(0, 2), EXAMPLE.indexSha256.slice(2));
  await fsp.mkdir(join(indexPath, '..'), { recursive: true });
  await fsp.writeFile(indexPath, EXAMPLE.index.join('\n') + '\n');
  return { dir, objectsDir, indexPath };
}
