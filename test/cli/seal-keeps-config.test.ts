/**
 * A seal that keeps no copy of the contents (`--manifest-only`, or a dataset in S3) still keeps the
 * dataset's signed `snap.json` as an object: `diff`, `report` and `check` apply a snapshot's own
 * thresholds and record rules, and refuse one whose signed `snap.json` is not in the store
 * (INTEGRITY_FAILURE). Before, only a seal that indexed record sets kept it, so a snapshot sealed
 * `--manifest-only --no-records`, `--manifest-only` with a `snap.json` of thresholds only, or from
 * S3 could never be diffed at all: README says `snap diff REF s3://BUCKET/PREFIX` compares them.
 */
import { describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, uniqueName } from '../helpers/store.js';
import { useS3Server } from '../helpers/s3-server.js';
import { createS3Client } from '../../src/s3/client.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { CONFIG_LINE_START } from '../../src/ops/seal.js';

const keys = useKeyPair();

const CHECK_ONLY = JSON.stringify({ check: { maxShift: 0.01 } });
const WITH_RULES = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'y' }] });
const FILES = { 'a.txt': 'alpha\n', 'train.csv': 'id,y\n1,spam\n2,ham\n' };

describe('the manifest line of the root snap.json', () => {
  it('is told apart as the manifest passes (CONFIG_LINE_START), so a seal of a dataset without one does not read its manifest again', () => {
    const line = (path: string) => serializeEntry({ path, sha256: 'a'.repeat(64), size: 2 });
    expect(line('snap.json').startsWith(CONFIG_LINE_START)).toBe(true);
    expect(serializeEntry({ path: 'snap.json', target: 'x', type: 'symlink' } as never).startsWith(CONFIG_LINE_START)).toBe(true);
    for (const other of ['x/snap.json', 'snap.json.bak', 'snap.jsonl', 'a"path":"snap.json",', 'Snap.json']) {
      expect(line(other).includes(CONFIG_LINE_START), other).toBe(false);
    }
  });

  it('kept only when there is one: a --manifest-only seal without snap.json keeps no extra object', async () => {
    const data = await makeTree(FILES);
    const store = await newStorePath();
    const s = await snapJson(['seal', data, '--as', `${uniqueName()}@v1`, '--key', keys.key, '--store', store, '--manifest-only']);
    expect(s.code, s.stderr).toBe(0);
    const { readdirSync } = await import('node:fs');
    const objects = readdirSync(`${store}/objects/sha256`, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(objects).toHaveLength(0);
  });
});

describe('a seal that keeps no contents keeps the signed snap.json', () => {
  it.each([
    ['--manifest-only --no-records', WITH_RULES, ['--manifest-only', '--no-records']],
    ['--manifest-only, a snap.json of thresholds only', CHECK_ONLY, ['--manifest-only']],
  ])('sealed %s, the snapshot diffs against its own folder (exit 0, identical)', async (_what, config, flags) => {
    const data = await makeTree({ ...FILES, 'snap.json': config });
    const store = await newStorePath();
    const ref = `${uniqueName()}@v1`;
    const s = await snapJson(['seal', data, '--as', ref, '--key', keys.key, '--store', store, ...flags]);
    expect(s.code, s.stderr).toBe(0);
    const d = await snapJson(['diff', ref, data, '--store', store]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, unchanged: 3 });
  });

  describe('sealed from S3 (moto)', () => {
    const server = useS3Server('moto');

    it('the snapshot diffs against its prefix and against the same files in a folder, and report writes its page', { timeout: 60_000 }, async () => {
      const client = createS3Client(server.env);
      const bucket = `cfg-${Date.now().toString(36)}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      const files = { ...FILES, 'snap.json': WITH_RULES };
      for (const [path, body] of Object.entries(files)) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `train/${path}`, Body: Buffer.from(body) }));
      const url = `s3://${bucket}/train/`;
      const store = await newStorePath();
      const ref = `${uniqueName()}@v1`;
      const s = await snapJson(['seal', url, '--as', ref, '--key', keys.key, '--store', store], { env: server.env });
      expect(s.code, s.stderr).toBe(0);

      const d = await snapJson(['diff', ref, url, '--store', store], { env: server.env });
      expect(d.code, d.stderr).toBe(0);
      expect(d.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, unchanged: 3 });
      const folder = await snapJson(['diff', ref, await makeTree(files), '--store', store]);
      expect(folder.code, folder.stderr).toBe(0);
      const r = await snapJson(['report', ref, url, '--store', store, '-o', `${await makeTree({})}/r.html`], { env: server.env });
      expect(r.code, r.stderr).toBe(0);
    });
  });
});
