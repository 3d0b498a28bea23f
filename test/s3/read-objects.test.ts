/**
 * The ranged reads of a dataset in S3 (src/s3/read-objects.ts) against a server that answers with
 * more bytes than asked: no server is started, the client is a stand-in that serves the body.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { ObjectReader, type ListedObject, type ReadResult } from '../../src/s3/read-objects.js';

const CHUNK = 64 * 1024;

/**
 * A client whose every GetObject answers with `bodyBytes` bytes (in 64 KiB chunks, made as they
 * are read), as a server that ignores the Range header, or a hostile one, would; `pulled()` says how
 * many bytes the reader took from it. `contentLength` is the header it sends (none when undefined).
 */
function oversizedServer(bodyBytes: number, contentLength: number | undefined): { client: S3Client; pulled: () => number } {
  let pulled = 0;
  const client = {
    send: async () => {
      let left = bodyBytes;
      const body = Readable.from(
        (function* () {
          while (left > 0) {
            const n = Math.min(CHUNK, left);
            left -= n;
            pulled += n;
            yield Buffer.alloc(n, 0x61);
          }
        })(),
      );
      // As the SDK's stream mixin has it in Node.
      (body as unknown as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray = async () => {
        const parts: Buffer[] = [];
        for await (const c of body) parts.push(c as Buffer);
        return new Uint8Array(Buffer.concat(parts));
      };
      return { Body: body, ETag: '"e"', ...(contentLength !== undefined ? { ContentLength: contentLength } : {}) };
    },
  } as unknown as S3Client;
  return { client, pulled: () => pulled };
}

async function readOne(client: S3Client, obj: ListedObject): Promise<ReadResult[]> {
  const results: ReadResult[] = [];
  const reader = new ObjectReader<null>(client, 'b', (_o, _t, r) => void results.push(r), { partBytes: 1 << 16, concurrency: 1 });
  await reader.add(obj, null);
  await reader.finish();
  return results;
}

describe('ranged reads of a dataset in S3 against a server that sends more than asked', () => {
  const obj: ListedObject = { key: 'a.txt', path: 'a.txt', size: 100, etag: '"e"' };

  it.each([
    ['says so in its Content-Length', 64 << 20],
    ['says nothing of its length', undefined],
  ])('a 64 MiB answer to a 100-byte range, from a server that %s, is read no further than a few chunks (not 64 MiB) and is reported changed', async (_why, contentLength) => {
    const { client, pulled } = oversizedServer(64 << 20, contentLength);
    const results = await readOne(client, obj);
    expect(results).toEqual([expect.objectContaining({ ok: false, kind: 'changed' })]);
    expect(pulled()).toBeLessThan(2 << 20); // the stream may read ahead a few chunks, never the body
  });

  it('an object listed as empty, answered with 64 MiB, is read no further than a few chunks', async () => {
    const { client, pulled } = oversizedServer(64 << 20, undefined);
    const results = await readOne(client, { ...obj, size: 0 });
    expect(results).toEqual([expect.objectContaining({ ok: false, kind: 'changed' })]);
    expect(pulled()).toBeLessThan(2 << 20); // the stream may read ahead a few chunks, never the body
  });

  it('a body of exactly the range is read whole and hashed', async () => {
    const { client } = oversizedServer(100, 100);
    const results = await readOne(client, obj);
    const { createHash } = await import('node:crypto');
    expect(results).toEqual([{ ok: true, size: 100, sha256: createHash('sha256').update(Buffer.alloc(100, 0x61)).digest('hex') }]);
  });
});
