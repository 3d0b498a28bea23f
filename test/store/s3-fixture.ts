/**
 * Buckets and direct SDK access for the S3 store tests (the server itself: test/helpers/s3-server.ts).
 */
import { request } from 'node:http';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  S3Client,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import type { S3Server } from '../helpers/s3-server.js';

/**
 * An SDK client for the server (path-style). The SDK's Node-version notice is switched off the
 * documented way, as src/s3/client.ts does for snap's own clients (other warnings still show).
 */
export function clientFor(server: S3Server): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
}

/** An SDK client for the server that hands each command to `spy` before sending it. */
export function spiedClient(server: S3Server, spy: (cmd: unknown) => void): S3Client {
  const client = clientFor(server);
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = (cmd: unknown) => {
    spy(cmd);
    return send(cmd);
  };
  return client;
}

/** What a {@link watchedClient} saw. */
export interface Watched {
  client: S3Client;
  /** Body bytes that GetObject's consumers pulled from the server (in whole chunks). */
  bodyBytes(): number;
  /** How many times each key was listed (ListObjectsV2 and ListObjectVersions, each version once). */
  listed: Map<string, number>;
  /** The prefixes of the listing requests, in order (one per page). */
  listings: string[];
}

/**
 * A client for the server that counts what came back: the body bytes of each GetObject its
 * consumer read (the body is passed on through a counting generator: a consumer that stops early
 * stops the download as before), and the keys of each listing.
 */
export function watchedClient(server: S3Server): Watched {
  const client = clientFor(server);
  const w: Watched = { client, bodyBytes: () => bytes, listed: new Map(), listings: [] };
  let bytes = 0;
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  (client as unknown as { send: (c: unknown) => Promise<unknown> }).send = async (cmd: unknown) => {
    const r = (await send(cmd)) as { Body?: unknown; Contents?: { Key?: string }[]; Versions?: { Key?: string }[] };
    if (cmd instanceof ListObjectsV2Command || cmd instanceof ListObjectVersionsCommand) {
      w.listings.push(cmd.input.Prefix ?? '');
      for (const o of [...(r.Contents ?? []), ...(r.Versions ?? [])]) if (o.Key) w.listed.set(o.Key, (w.listed.get(o.Key) ?? 0) + 1);
    }
    if (cmd instanceof GetObjectCommand && r.Body) {
      const body = r.Body as AsyncIterable<Buffer> & Readable;
      r.Body = Readable.from(
        (async function* () {
          try {
            for await (const c of body) {
              bytes += c.length;
              yield c;
            }
          } finally {
            body.destroy();
          }
        })(),
      );
    }
    return r;
  };
  return w;
}

let n = 0;
/**
 * A new bucket: `plain` (no versioning), `versioned`, or `locked` (Object Lock, hence versioned).
 * @returns its name
 */
export async function newBucket(client: S3Client, kind: 'plain' | 'versioned' | 'locked'): Promise<string> {
  const name = `t${process.pid}-${Date.now().toString(36)}-${n++}-${kind}`;
  await client.send(new CreateBucketCommand({ Bucket: name, ...(kind === 'locked' ? { ObjectLockEnabledForBucket: true } : {}) }));
  if (kind === 'versioned') await client.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
  return name;
}

/** Every version of every key under `prefix` (delete markers left out). */
export async function allVersions(client: S3Client, bucket: string, prefix: string): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let km: string | undefined;
  let vm: string | undefined;
  for (;;) {
    const r = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...(km ? { KeyMarker: km } : {}), ...(vm ? { VersionIdMarker: vm } : {}) }));
    out.push(...(r.Versions ?? []));
    if (!r.IsTruncated) return out;
    km = r.NextKeyMarker;
    vm = r.NextVersionIdMarker;
  }
}

/** Drop what differs between two seals of the same data at different times or places. */
export function comparable(v: unknown): unknown {
  const volatile = new Set(['snapshot', 'createdAt', 'seconds', 'store', 'storeCreated', 'log', 'head', 'time', 'archive', 'out', 'dir', 'target', 'user', 'host', 'pid', 'prev', 'took', 'manifestSha256', 'parent', 'id']);
  if (Array.isArray(v)) return v.map(comparable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !volatile.has(k)).map(([k, x]) => [k, comparable(x)]));
  return v;
}

/** Keys {@link plantOnMoto} sends in one request (a bounded body: about 100 bytes a key). */
const PLANT_BATCH = 5000;

/**
 * Put each key into `bucket` of a moto_server with `body` (default `junk`), many keys a request,
 * through the route scripts/moto-plant-server.py adds to moto_server for the tests (its S3
 * backend's put_object, which moto's own PUT handler ends in): what a test plants is the keys in the
 * bucket, not how they came there, and 10,001 PUTs cost about 30 s of moto's CPU (3 ms each), the
 * larger part of the S3 tests' time. The commands under test then list and read the keys through
 * moto's S3 API as they would any others. Not for Ceph.
 * @throws Error naming the bucket and moto's answer when the route does not answer 200 (the
 *   server was not started with SNAP_MOTO_PLANT=1, or there is no such bucket)
 */
export async function plantOnMoto(server: S3Server, bucket: string, keys: readonly string[], body: string | Buffer = 'junk'): Promise<void> {
  if (server.kind !== 'moto') throw new Error(`plantOnMoto needs moto_server, not ${server.kind}`);
  const url = new URL(server.endpoint);
  const bodyBase64 = Buffer.from(body).toString('base64');
  const post = (batch: readonly string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify({ bucket, keys: batch, body: bodyBase64 });
      const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/_snap_test/plant', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        let answer = '';
        res.on('data', (d: Buffer) => (answer += d.toString('utf8')));
        res.on('end', () =>
          res.statusCode === 200 && answer === String(batch.length)
            ? resolve()
            : reject(new Error(`planting ${batch.length} keys in ${bucket}: HTTP ${res.statusCode} ${answer.slice(0, 500)}`)),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  for (let i = 0; i < keys.length; i += PLANT_BATCH) await post(keys.slice(i, i + PLANT_BATCH));
}
