/**
 * The scan of an S3 store's staged leftovers (docs/FORMAT.md §23.5, store/s3-leftovers.ts) against
 * someone who can write the bucket and holds no key, on moto (started here; never skipped): staged-
 * looking keys planted under many NAME/VERSIONs would each cost the scan a look-up of that
 * NAME@VERSION's commit object. The look-ups are capped; the folders past the cap are counted, kept
 * and said, and the next `fsck --clean` goes on where this one stopped.
 */
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutObjectCommand, type DeleteObjectsCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { clientFor, newBucket, plantOnMoto, spiedClient } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { clearStagedLeftovers, findStagedLeftovers } from '../../src/store/s3-leftovers.js';

const server = useS3Server('moto');
const token = (i: number): string => i.toString(16).padStart(32, '0');
/** Past the 15 minutes an uncommitted seal's staged files are left alone: every folder is removable. */
const later = (): number => Date.now() + 60 * 60_000;

/** A client that counts the commit objects looked up (a listing whose prefix is a commit object's key). */
function countingClient(): { client: S3Client; lookups: () => number } {
  let n = 0;
  const client = spiedClient(server, (cmd) => {
    if ((cmd instanceof ListObjectsV2Command || cmd instanceof ListObjectVersionsCommand) && (cmd.input.Prefix ?? '').endsWith('/commit.json')) n++;
  });
  return { client, lookups: () => n };
}

describe('staged leftovers planted under many NAME/VERSIONs (moto)', () => {
  it.each(['plain', 'versioned'] as const)('in a %s bucket, the scan looks up at most the cap of NAME@VERSIONs; the folders past it are one entry, kept, naming how many were not looked at; fsck --clean run again removes them', { timeout: 120_000 }, async (kind) => {
    const c = clientFor(server);
    const bucket = await newBucket(c, kind);
    // Six NAME/VERSIONs without a commit object, one staged folder each (two keys).
    for (let i = 0; i < 6; i++) for (const f of ['manifest.jsonl', 'statement.json']) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/snapshots/ghost${i}/v1/staged/${token(i)}/${f}`, Body: 'junk' }));

    const counted = countingClient();
    const remote = new S3Backend(counted.client, { bucket, prefix: 'st/' });
    const found = await findStagedLeftovers(remote, later(), { maxLookups: 2 });
    expect(counted.lookups()).toBe(2);
    expect(found.map((l) => [l.path, l.removable])).toEqual([
      [`snapshots/ghost0/v1/staged/${token(0)}/`, true],
      [`snapshots/ghost1/v1/staged/${token(1)}/`, true],
      ['snapshots/…', false],
    ]);
    expect(found[2]).toMatchObject({ kind: 'staged', entries: 8, bytes: 32 });
    expect(found[2]?.message).toBe('snapshots/…: 4 staged folder(s) of 4 NAME@VERSION(s) (8 keys, 32 bytes) not looked at: whether a commit object names them was looked up for the first 2 NAME@VERSIONs only (MAX_COMMIT_LOOKUPS), so that keys planted under many names cost no more requests; kept — run snap fsck --clean again once the others are removed');

    const first = await clearStagedLeftovers(remote, later(), { maxLookups: 2 });
    expect(first.removed.map((l) => l.path)).toEqual([`snapshots/ghost0/v1/staged/${token(0)}/`, `snapshots/ghost1/v1/staged/${token(1)}/`]);
    expect(first.kept.map((l) => [l.path, l.entries])).toEqual([['snapshots/…', 8]]);
    expect(counted.lookups()).toBe(4);
    const second = await clearStagedLeftovers(remote, later(), { maxLookups: 2 });
    expect(second.removed.map((l) => l.path)).toEqual([`snapshots/ghost2/v1/staged/${token(2)}/`, `snapshots/ghost3/v1/staged/${token(3)}/`]);
    const third = await clearStagedLeftovers(remote, later(), { maxLookups: 2 });
    expect(third.removed.map((l) => l.path)).toEqual([`snapshots/ghost4/v1/staged/${token(4)}/`, `snapshots/ghost5/v1/staged/${token(5)}/`]);
    expect(third.kept).toEqual([]);
    expect(await findStagedLeftovers(remote, later(), { maxLookups: 2 })).toEqual([]);
  });
});

describe('fsck --clean removes staged folders with DeleteObjects (moto)', () => {
  /** A client that counts the removal requests and the keys each DeleteObjects names; `answer` may change DeleteObjects' answer. */
  function deletingClient(answer?: (r: DeleteObjectsCommandOutput, cmd: DeleteObjectsCommand) => DeleteObjectsCommandOutput): { client: S3Client; deleteObject: () => number; batches: number[]; relisted: string[] } {
    const seen = { deleteObject: 0, batches: [] as number[], relisted: [] as string[] };
    const client = clientFor(server);
    const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
    (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
      if (cmd instanceof DeleteObjectCommand) seen.deleteObject++;
      if (cmd instanceof ListObjectsV2Command && /\/staged\/[0-9a-f]{32}\/$/.test(cmd.input.Prefix ?? '')) seen.relisted.push(cmd.input.Prefix as string);
      if (!(cmd instanceof DeleteObjectsCommand)) return send(cmd);
      seen.batches.push(cmd.input.Delete?.Objects?.length ?? 0);
      const r = (await send(cmd)) as DeleteObjectsCommandOutput;
      return answer ? answer(r, cmd) : r;
    };
    return { client, deleteObject: () => seen.deleteObject, batches: seen.batches, relisted: seen.relisted };
  }

  it.each(['plain', 'versioned'] as const)('in a %s bucket, 1,005 keys of three folders (one of 1,001 keys) go in two DeleteObjects requests of at most 1,000 keys, none with DeleteObject; only the folder of more than 1,000 keys is listed again', { timeout: 120_000 }, async (kind) => {
    const c = clientFor(server);
    const bucket = await newBucket(c, kind);
    const big = Array.from({ length: 1001 }, (_, i) => `st/snapshots/ghost/v1/staged/${token(0)}/f${String(i).padStart(4, '0')}`);
    const small = [1, 2].flatMap((t) => ['manifest.jsonl', 'statement.json'].map((f) => `st/snapshots/ghost/v1/staged/${token(t)}/${f}`));
    await plantOnMoto(server, bucket, [...big, ...small]);
    const d = deletingClient();
    const cleaned = await clearStagedLeftovers(new S3Backend(d.client, { bucket, prefix: 'st/' }), later());
    expect(cleaned.removed.map((l) => [l.path, l.entries])).toEqual([0, 1, 2].map((t) => [`snapshots/ghost/v1/staged/${token(t)}/`, t === 0 ? 1001 : 2]));
    expect(cleaned.kept).toEqual([]);
    expect([d.deleteObject(), d.batches]).toEqual([0, [1000, 5]]);
    // Its two pages (1,000 keys and 1); the folders of two keys were held from the scan.
    expect(d.relisted).toEqual([`st/snapshots/ghost/v1/staged/${token(0)}/`, `st/snapshots/ghost/v1/staged/${token(0)}/`]);
    expect((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/' }))).KeyCount).toBe(0);
  });

  it('a key DeleteObjects answers it could not remove is an IO_ERROR naming the key and the reason, not a folder said removed', { timeout: 60_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const keys = ['manifest.jsonl', 'statement.json'].map((f) => `st/snapshots/ghost/v1/staged/${token(7)}/${f}`);
    await plantOnMoto(server, bucket, keys);
    // The server's answer as S3 gives it for a key it refused (HTTP 200, the key under <Error>).
    const d = deletingClient((r) => ({ ...r, Errors: [{ Key: keys[1], Code: 'AccessDenied', Message: 'Access Denied' }] }));
    await expect(clearStagedLeftovers(new S3Backend(d.client, { bucket, prefix: 'st/' }), later())).rejects.toMatchObject({
      code: 'IO_ERROR',
      message: expect.stringContaining(`${keys[1]}: AccessDenied: Access Denied`),
    });
  });

  it('on a server without DeleteObjects (it answers 501 NotImplemented), the keys are removed one DeleteObject each', { timeout: 60_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const keys = [1, 2].flatMap((t) => ['manifest.jsonl', 'statement.json'].map((f) => `st/snapshots/ghost/v1/staged/${token(t)}/${f}`));
    await plantOnMoto(server, bucket, keys);
    let deleteObject = 0;
    const client = clientFor(server);
    const send = client.send.bind(client) as (cmd: unknown) => Promise<unknown>;
    (client as unknown as { send: (cmd: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
      if (cmd instanceof DeleteObjectsCommand) throw Object.assign(new Error('A header you provided implies functionality that is not implemented'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
      if (cmd instanceof DeleteObjectCommand) deleteObject++;
      return send(cmd);
    };
    const cleaned = await clearStagedLeftovers(new S3Backend(client, { bucket, prefix: 'st/' }), later());
    expect(cleaned.removed.map((l) => l.path)).toEqual([1, 2].map((t) => `snapshots/ghost/v1/staged/${token(t)}/`));
    expect(deleteObject).toBe(4);
    expect((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'st/' }))).KeyCount).toBe(0);
  });
});
