/**
 * The records of a modified record file of a dataset in S3 (src/s3/record-findings.ts): the object
 * is fetched again and must be the bytes verify hashed. No server is started: the client is a
 * stand-in that serves a body. (The whole path, on moto and Ceph, is in dataset.test.ts.)
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { attachS3RecordFindings } from '../../src/s3/record-findings.js';
import type { RecordProblem } from '../../src/records/verify-records.js';
import type { RecordSetMember } from '../../src/core/records.js';
import { tempDir } from '../helpers/tree.js';

const member = { path: 'train.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label', count: 2, index: { sha256: 'a'.repeat(64), merkleRoot: 'b'.repeat(64) } } as unknown as RecordSetMember;

function serving(body: string): { client: S3Client; asked: string[] } {
  const asked: string[] = [];
  const client = {
    send: async (cmd: { input: { Key: string } }) => {
      asked.push(cmd.input.Key);
      return { Body: Readable.from([Buffer.from(body)]) };
    },
  } as unknown as S3Client;
  return { client, asked };
}

describe('a modified record file of a dataset in S3', () => {
  it('rewritten in the bucket after verify hashed it (now longer) gets records.error FILE_CHANGED, not records of other bytes', async () => {
    const { client, asked } = serving('id,label\n1,spam\n2,ham\n3,eggs\n');
    const p: RecordProblem = { path: 'train.csv', kind: 'modified', actual: { sha256: 'c'.repeat(64), size: 20 } };
    await attachS3RecordFindings([p], [member], { client, location: { bucket: 'b', prefix: 'data/' } }, []);
    expect(asked).toEqual(['data/train.csv']);
    expect(p.records).toMatchObject({ error: { code: 'FILE_CHANGED' } });
  });

  it('with the size it was hashed with but other bytes is not indexed as those bytes: FILE_CHANGED (the digest is checked as it is read)', async () => {
    const body = 'id,label\n1,spam\n';
    const { client } = serving(body);
    const p: RecordProblem = { path: 'train.csv', kind: 'modified', actual: { sha256: 'c'.repeat(64), size: Buffer.byteLength(body) } };
    // The signed index object is looked up first: give it a folder where it is.
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const objects = await tempDir('snap-s3rf-'); // removed when the test ends (it was left in TMPDIR)
    await mkdir(join(objects, 'aa'), { recursive: true });
    await writeFile(join(objects, 'aa', 'a'.repeat(62)), '');
    await attachS3RecordFindings([p], [member], { client, location: { bucket: 'b', prefix: '' } }, [objects]);
    expect(p.records).toMatchObject({ error: { code: 'FILE_CHANGED' } });
  });

  it('fetches nothing when no modified file is a record file', async () => {
    const { client, asked } = serving('x');
    await attachS3RecordFindings([{ path: 'other.txt', kind: 'modified' }, { path: 'train.csv', kind: 'missing' }], [member], { client, location: { bucket: 'b', prefix: '' } }, []);
    expect(asked).toEqual([]);
  });
});
