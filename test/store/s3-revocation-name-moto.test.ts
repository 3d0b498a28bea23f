/**
 * A revocation's file is named by its bytes (`revocations/<snapshot id>/<SHA-256>.json`), and a
 * revocation made in one store travels as a file to the others (`snap import FILE.json`): whoever
 * can write the S3 store, and has that file, can put other bytes under its name first — a valid
 * revocation of the same snapshot signed by a key of their own, which counts for nobody. On
 * moto_server (started here; never skipped), and on a local store for comparison.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const producer = useKeyPair('revname-producer');
const writer = useKeyPair('revname-writer');

describe('a revocation whose name was taken by other bytes before it was imported', () => {
  it('in a versioned S3 bucket and in a local store: import does not call it already there, and verify on a machine that never saw it refuses the revoked snapshot (exit 1), never passes it', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const s3store = `s3://${bucket}/st`;
    const dir = await tempDir('snap-revocation-name-');
    const run = (args: string[], state = 'state') => snap(args, { env: { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, state) } });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', s3store])).code).toBe(0);
    const archive = join(dir, 'ds.snap.tar');
    expect((await run(['export', 'ds@v1', '-o', archive, '--store', s3store])).code).toBe(0);
    /** A revocation of ds@v1 by `key`, made in a store of its own: its file's folder and name, and bytes. */
    const revocationBy = async (key: string, store: string) => {
      expect((await run(['import', archive, '--pubkey', producer.pub, '--store', store])).code).toBe(0);
      expect((await run(['revoke', 'ds@v1', '--key', key, '--reason', 'poisoned', '--store', store])).code).toBe(0);
      const [id] = await fsp.readdir(join(store, 'revocations'));
      const [name] = await fsp.readdir(join(store, 'revocations', id as string));
      const path = join(store, 'revocations', id as string, name as string);
      return { rel: `revocations/${id}/${name}`, path, bytes: await fsp.readFile(path) };
    };
    const genuine = await revocationBy(producer.key, join(dir, 'producer-store'));
    const impostor = await revocationBy(writer.key, join(dir, 'writer-store'));

    // The local store that will import the genuine revocation, its name taken first.
    const local = join(dir, 'local-store');
    expect((await run(['import', archive, '--pubkey', producer.pub, '--store', local])).code).toBe(0);
    await fsp.mkdir(join(local, genuine.rel, '..'), { recursive: true });
    await fsp.writeFile(join(local, genuine.rel), impostor.bytes);
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/${genuine.rel}`, Body: impostor.bytes }));

    // The local store's file is replaced by the revocation: it counts. The bucket keeps the first
    // version, the other bytes, which every command reads: refused as not the revocation its name
    // says, and nothing is trusted (fail closed) until it is removed.
    for (const [store, machine, code] of [[s3store, 'fresh-s3', 'REVOCATION_MALFORMED'], [local, 'fresh-local', 'SNAPSHOT_REVOKED']] as const) {
      const imported = await run(['import', genuine.path, '--pubkey', producer.pub, '--store', store]);
      expect(imported.code, imported.stdout + imported.stderr).toBe(0);
      expect(imported.stdout).not.toContain('already in');
      const v = await run(['verify', data, '--against', 'ds@v1', '--pubkey', producer.pub, '--store', store, '--json'], machine);
      expect(v.code, `${store}: ${v.stdout}${v.stderr}`).toBe(1);
      expect(JSON.parse(v.stdout).failure.code).toBe(code);
    }
  });
});
