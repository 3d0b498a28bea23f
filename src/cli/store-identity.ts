/**
 * How the trusted state names a store (docs/FORMAT.md §16.5): the key of its records in
 * `latestByStore` (the versions verified from it) and in `logOrigins` (its audit log's origin).
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo } from './common.js';

/**
 * The name a store goes by in the trusted state: for an S3 store (run on a working copy,
 * `io.givenStore`), its URL as the S3 store resolves it, `s3://BUCKET/PREFIX/` — whether given as
 * `s3://BUCKET/PREFIX` or with the "/", by `--store` or `$SNAP_STORE` (s3/location.ts
 * `parseS3Url`) — followed by ` at ENDPOINT` when AWS_ENDPOINT_URL(_S3) is set: the same URL on
 * another server (a staging MinIO beside the production service) is another store. Else the
 * store folder's absolute path as given (`root`, resolved) — not its real path, which whoever can
 * write where the store is could change (the folder made a link to a copy holding another store's
 * log or older snapshots, whose real path this machine has recorded nothing for).
 */
export function storeIdentity(root: string, io: Pick<CliIo, 'givenStore'>): string {
  if (!io.givenStore) return resolve(root);
  const { url, endpoint } = io.givenStore;
  return endpoint !== undefined ? `${url} at ${endpoint}` : url;
}

/**
 * The names a store is recorded under and held to: {@link storeIdentity}, and for a store folder
 * its real path too, when that is another. The records of both hold it, so a store reached by a
 * link one day and by its real path the next is one store; and the path as given still holds it
 * when its folder is made a link to a copy (whose real path has no record).
 */
export async function storeIdentities(root: string, io: Pick<CliIo, 'givenStore'>): Promise<string[]> {
  const id = storeIdentity(root, io);
  if (io.givenStore) return [id];
  const real = await fsp.realpath(root).catch(() => id);
  return real === id ? [id] : [id, real];
}

/**
 * The names under which a record of the store is looked up: {@link storeIdentities}, then, for an
 * S3 store, the names an earlier snap kept it under — its URL alone (before 2026-12-01, whatever
 * the endpoint: such a record may be another server's store of the same URL, and is still held to,
 * a false alarm rather than a pin forgotten) and as typed without its last "/" — so that an
 * upgrade forgets nothing.
 */
export async function storeLookupNames(root: string, io: Pick<CliIo, 'givenStore'>): Promise<string[]> {
  const ids = await storeIdentities(root, io);
  if (!io.givenStore) return ids;
  const { url } = io.givenStore;
  return [...new Set([...ids, url, url.replace(/\/$/, '')])];
}
