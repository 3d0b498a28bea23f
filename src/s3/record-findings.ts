/**
 * Record findings for a dataset in S3 (docs/DESIGN.md, "Datasets in S3"): `verify s3://…` hashes
 * each object as it streams and keeps none of it, so a modified record file — a CSV, TSV, JSONL or
 * Parquet file the signed statement indexes — is fetched once more, into a private scratch folder
 * (streamed to disk, at most the bytes it was hashed with), and given records exactly as a
 * folder's verify gives them (`records/verify-records.ts`): indexed there against the digest it
 * was hashed with (a different object now is `FILE_CHANGED`), and compared with the signed index.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SnapError, isSnapError } from '../core/errors.js';
import type { RecordSetMember } from '../core/records.js';
import { makeScratchDir, removeWhenDone } from '../io/scratch-dir.js';
import { attachRecordFindings, type RecordProblem } from '../records/verify-records.js';
import type { S3Dataset } from './dataset.js';
import { s3Error } from './read-objects.js';

/**
 * Copy object `key` to `file`, refusing more than `size` bytes (the object changed since it was
 * hashed: the copy would not be the bytes verify judged).
 * @throws SnapError `FILE_CHANGED` (longer than `size`) | `IO_ERROR`
 */
async function fetchObject(ds: S3Dataset, key: string, file: string, size: number, path: string): Promise<void> {
  let body: NodeJS.ReadableStream;
  try {
    const r = await ds.client.send(new GetObjectCommand({ Bucket: ds.location.bucket, Key: key }));
    body = r.Body as NodeJS.ReadableStream;
  } catch (e) {
    throw s3Error(e, `read s3://${ds.location.bucket}/${key}`);
  }
  let seen = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > size) cb(new SnapError('FILE_CHANGED', `${path} changed in the bucket after it was hashed (it is now longer than ${size} bytes)`, { path }));
      else cb(null, chunk);
    },
  });
  await fsp.mkdir(dirname(file), { recursive: true });
  try {
    await pipeline(body, bounded, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    if (isSnapError(e)) throw e;
    throw s3Error(e, `copy s3://${ds.location.bucket}/${key}`);
  }
}

/**
 * Add record findings (`records`) to the `modified` problems of record files of a dataset in S3, in
 * place. Never throws for one file: a file that cannot be fetched or indexed gets `records.error`
 * (it is reported as modified anyway).
 * @param members the signed statement's record sets
 * @param objectDirs `objects/sha256` folders that may hold the signed index objects
 * @param opts.jobs at most this many files are indexed at once (default: the cores)
 */
export async function attachS3RecordFindings(problems: RecordProblem[], members: readonly RecordSetMember[], ds: S3Dataset, objectDirs: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
  const tabular = new Set(members.filter((m) => m.path !== undefined).map((m) => m.path as string));
  const modified = problems.filter((p) => p.kind === 'modified' && tabular.has(p.path));
  if (modified.length === 0) return;
  const scratch = await makeScratchDir('snap-verify-records-');
  const remove = removeWhenDone(scratch);
  try {
    const fetched: RecordProblem[] = [];
    for (const p of modified) {
      const size = (p.actual as { size?: number } | undefined)?.size ?? 0;
      try {
        await fetchObject(ds, ds.location.prefix + p.path, join(scratch, ...p.path.split('/')), size, p.path);
        fetched.push(p);
      } catch (e) {
        if (!isSnapError(e)) throw e;
        p.records = { error: { code: e.code, message: e.message } };
      }
    }
    await attachRecordFindings(fetched, members, scratch, objectDirs, opts);
  } finally {
    await remove();
  }
}
