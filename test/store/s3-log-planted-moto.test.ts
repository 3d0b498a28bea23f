/**
 * Audit log keys planted in an S3 store (docs/FORMAT.md §23.5, §23.9), on moto_server (started
 * here; never skipped). Someone with write access to the bucket and no key puts a line key far ahead
 * of the log (`log/000000000500.jsonl`, junk, within MAX_SEQ_FLOOR_JUMP of the end): the log is read in key order, so that key stayed last
 * in every later pull and every later line chained to it — none to the line before it. Now each new
 * line goes past it, and chains to the line before it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';
import { MAX_SEQ_FLOOR_JUMP } from '../../src/io/audit-log.js';

const server = useS3Server('moto');
const kp = useKeyPair('log-planted');
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** A versioned bucket with a store at prefix p holding ds@v1 (a.txt), and `run` for snap there with its own state. */
async function sealedInVersionedBucket() {
  const c = clientFor(server);
  const bucket = await newBucket(c, 'versioned');
  const store = `s3://${bucket}/p`;
  const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(await tempDir('snap-s3-logplant-'), 'state') };
  const run = (args: string[]) => snapJson(args, { env });
  const data = await makeTree({ 'a.txt': 'alpha\n' });
  expect((await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', store])).code).toBe(0);
  return { c, bucket, store, run, data };
}

describe('a line key planted far ahead of an S3 store\'s audit log (moto)', () => {
  it('later lines go past it, each chained to the line before it; log --verify names the junk (exit 1) and nothing edited', { timeout: 180_000 }, async () => {
    const { c, bucket, store, run, data } = await sealedInVersionedBucket();
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/log/000000000500.jsonl', Body: 'junk\n' }));

    for (let i = 0; i < 2; i++) expect((await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store])).code).toBe(0);
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'p/log/' }))).Contents ?? []).map((o) => o.Key as string).sort();
    expect(keys.slice(-3)).toEqual(['p/log/000000000500.jsonl', 'p/log/000000000501.jsonl', 'p/log/000000000502.jsonl']);
    const line = async (key: string) => Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    const [junk, first, second] = [await line(keys.at(-3)!), await line(keys.at(-2)!), await line(keys.at(-1)!)];
    expect(JSON.parse(first.toString()).prev).toBe(sha(junk));
    expect(JSON.parse(second.toString())).toMatchObject({ seq: 502, prev: sha(first) });

    const v = await run(['log', '--verify', '--store', store]);
    expect(v.code).toBe(1);
    // The junk is named (a gap after a malformed line is its own: not reported again), and the lines
    // after it hold together: nothing is called edited.
    expect((v.json.problems as { kind: string }[]).map((p) => p.kind)).toEqual(['malformed']);
  });

  it(`a key planted at the last seq, 999999999999, or further than ${MAX_SEQ_FLOOR_JUMP} past the log's end, is not followed: later lines are still written below it`, { timeout: 180_000 }, async () => {
    const { c, bucket, store, run, data } = await sealedInVersionedBucket();
    const list = async () => ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'p/log/' }))).Contents ?? []).map((o) => o.Key as string).sort();
    const before = await list();
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/log/999999999999.jsonl', Body: 'junk\n' }));
    const v = await run(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', store]);
    expect(v.code).toBe(0);
    expect(v.stderr).not.toContain('audit log not written');
    // One line more, below the planted key (its seq counts the junk as a line, as a local store's appender does).
    const after = await list();
    expect(after).toHaveLength(before.length + 2);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.at(-1)).toBe('p/log/999999999999.jsonl');
    expect(after.at(-2)! > before.at(-1)!).toBe(true);
  });
});
