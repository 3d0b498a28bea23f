/**
 * Two S3 stores at the same `s3://BUCKET/PREFIX/` on two endpoints (AWS_ENDPOINT_URL: a staging
 * MinIO and the production service, say) are two stores to the trusted state's `latestByStore`
 * (docs/FORMAT.md §17): each may seal a NAME@VERSION of its own under one key; and to its
 * `logOrigins` (§16.5): each audit log has an origin of its own. Two moto_servers.
 */
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { clientFor } from './s3-fixture.js';

const prod = useS3Server('moto');
const staging = useS3Server('moto', 1); // another server, not this process's first moto
const keys = useKeyPair('two-endpoints');

describe('the same s3://BUCKET/PREFIX/ on two endpoints', () => {
  it("is two stores: each one's own ds@v2, under one key, verifies (exit 0); the second was SNAPSHOT_ROLLBACK, as the first's replaced", { timeout: 180_000 }, async () => {
    const bucket = `t${process.pid}-${Date.now().toString(36)}-two-endpoints`;
    for (const server of [prod, staging]) await clientFor(server).send(new CreateBucketCommand({ Bucket: bucket }));
    const state = join(await tempDir('snap-s3-two-endpoints-'), 'state');
    const url = `s3://${bucket}/store`;
    const runs = [];
    for (const [server, file] of [[prod, 'p.txt'], [staging, 's.txt']] as const) {
      const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: state };
      const data = await makeTree({ [file]: `${file}\n` });
      const sealed = await snapJson(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', url], { env });
      expect(sealed.code, sealed.stderr).toBe(0);
      runs.push({ env, data });
    }
    for (const { env, data } of [...runs, ...runs]) {
      const r = await snapJson(['verify', data, '--against', 'ds@v2', '--pubkey', keys.pub, '--store', url], { env });
      expect(r.code, r.stdout).toBe(0);
    }
  });

  it("is two audit logs: each one's checkpoint is kept as its own origin, and log --verify passes on each (the second was held to the first's origin, exit 1)", { timeout: 180_000 }, async () => {
    const bucket = `t${process.pid}-${Date.now().toString(36)}-two-logs`;
    for (const server of [prod, staging]) await clientFor(server).send(new CreateBucketCommand({ Bucket: bucket }));
    const state = join(await tempDir('snap-s3-two-logs-'), 'state');
    const url = `s3://${bucket}/store`;
    const origins = [];
    for (const server of [prod, staging]) {
      const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: state };
      expect((await snapJson(['seal', await makeTree({ 'a.txt': 'a\n' }), '--as', 'ds@v1', '--key', keys.key, '--store', url], { env })).code).toBe(0);
      const cp = await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', url], { env });
      expect(cp.code, cp.stderr).toBe(0);
      origins.push(cp.json.origin as string);
    }
    expect(origins[0]).not.toBe(origins[1]);
    for (const server of [prod, staging, prod]) {
      const env = { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: state };
      const v = await snapJson(['log', '--verify', '--pubkey', keys.pub, '--store', url], { env });
      expect(v.code, JSON.stringify(v.json.checkpoints?.problems)).toBe(0);
    }
  });
});
