/**
 * Buckets and direct SDK access for the S3 store tests (the server itself: test/helpers/s3-server.ts).
 */
import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
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
