/**
 * `seal` and `verify` with an s3:// dataset refuse malformed arguments as usage errors (exit 2)
 * before any request is made (no server is needed for these).
 */
import { describe, expect, it } from 'vitest';
import { snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();
/** Points the SDK at a port where nothing listens: a test that reached the network would fail with exit 3, not 2. */
const NOWHERE = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1' };

describe('an s3:// dataset argument', () => {
  it('that is malformed is a usage error (S3_URL_MALFORMED, exit 2) for seal and verify', async () => {
    for (const url of ['s3://Bad_Bucket/x', 's3://bucket/a/../b', 's3://bucket//x', 's3://']) {
      const s = await snapJson(['seal', url, '--as', 'x@v1', '--key', keys.key, '--store', await newStorePath()], { env: NOWHERE });
      expect([url, s.code, s.json.error.code]).toEqual([url, 2, 'S3_URL_MALFORMED']);
      const v = await snapJson(['verify', url, '--against', 'x@v1', '--pubkey', keys.pub, '--store', await newStorePath()], { env: NOWHERE });
      expect([url, v.code, v.json.error.code]).toEqual([url, 2, 'S3_URL_MALFORMED']);
    }
  });

  it('with --out or --records is a usage error for seal (--exclude is not: it leaves keys out as it leaves files out of a folder)', async () => {
    for (const extra of [['--out', 'x.snap.tar'], ['--records', 'a.csv key=id']]) {
      const s = await snapJson(['seal', 's3://bucket/x', '--as', 'x@v1', '--key', keys.key, '--store', await newStorePath(), ...extra], { env: NOWHERE });
      expect([extra[0], s.code, s.json.error.code]).toEqual([extra[0], 2, 'USAGE']);
    }
  });

  it('needs --against for verify', async () => {
    const v = await snapJson(['verify', 's3://bucket/x', '--pubkey', keys.pub], { env: NOWHERE });
    expect(v.code).toBe(2);
    expect(v.json.error.code).toBe('USAGE');
  });

  it('refuses a malformed SNAP_S3_PATH_STYLE, AWS_ENDPOINT_URL or SNAP_S3_PART_BYTES (exit 2)', async () => {
    for (const env of [{ SNAP_S3_PATH_STYLE: 'true' }, { AWS_ENDPOINT_URL: 'localhost:9000' }, { SNAP_S3_PART_BYTES: '12' }, { SNAP_S3_CONCURRENCY: '1000' }]) {
      const s = await snapJson(['seal', 's3://bucket/x', '--as', 'x@v1', '--key', keys.key, '--store', await newStorePath()], { env: { ...NOWHERE, ...env } });
      expect([env, s.code]).toEqual([env, 2]);
    }
  });

  it('whose server cannot be reached is an input/environment error (IO_ERROR, exit 3)', async () => {
    const s = await snapJson(['seal', 's3://bucket/x', '--as', 'x@v1', '--key', keys.key, '--store', await newStorePath()], { env: NOWHERE });
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('IO_ERROR');
  });
});
