/**
 * A model attestation of an S3 store written over or deleted by someone who can write the bucket
 * and holds no key (docs/FORMAT.md §13, §23.5), on moto_server (started here; never skipped). An
 * attestation is written once under its MODEL@VERSION, so in a versioned bucket (every Object Lock
 * bucket is) its first version is the attestation: a version written over it (another statement,
 * signed by the writer's own key, naming other training data) or a delete marker on it is someone
 * else's. Every command reads the first version and says on stderr what happened to the file, and
 * `attest` writes its files only where no key is (a key planted between its pull and its push
 * would otherwise be the first version).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { allVersions, clientFor, newBucket } from './s3-fixture.js';
import { S3Backend } from '../../src/store/s3.js';
import { openRemoteSession } from '../../src/store/remote-session.js';
import { SnapError } from '../../src/core/errors.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const server = useS3Server('moto');
const producer = useKeyPair('attamper-producer');
const writer = useKeyPair('attamper-writer');
const reviewer = useKeyPair('attamper-reviewer');

describe('a model attestation of an S3 store written over or deleted (moto)', () => {
  it('in a versioned bucket, an attestation written over with the writer\'s own, or hidden by delete markers, is still read at its first version: impact lists its model as trained on the revoked data (exit 0), bom names that data, and the command says what happened to the file', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const dir = await tempDir('snap-attestation-tamper-');
    const run = (args: string[]) => snap(args, { env: { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, 'state') } });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const other = await makeTree({ 'b.txt': 'bravo\n' });
    const model = await makeTree({ 'weights.bin': 'W' });
    for (const [tree, as] of [[data, 'ds@v1'], [other, 'other@v1']] as const) expect((await run(['seal', tree, '--as', as, '--key', producer.key, '--store', store])).code).toBe(0);
    const attested = await run(['attest', model, '--data', 'ds@v1', '--key', producer.key, '--as', 'm@v1', '--store', store, '--json']);
    expect(attested.code, attested.stderr).toBe(0);
    const genuine = JSON.parse(attested.stdout).attestation as string;
    expect((await run(['revoke', 'ds@v1', '--key', producer.key, '--reason', 'poisoned', '--store', store])).code).toBe(0);
    const ids = JSON.parse((await run(['list', '--store', store, '--json'])).stdout).snapshots as { ref: string; id: string }[];
    const dsId = ids.find((s) => s.ref === 'ds@v1')?.id as string;
    const otherId = ids.find((s) => s.ref === 'other@v1')?.id as string;
    expect(dsId).toMatch(/^sha256:/);

    // The writer's own attestation of the same model as m@v1, trained on other@v1 (made in a local store).
    const local = join(dir, 'writer-store');
    expect((await run(['export', 'other@v1', '-o', join(dir, 'other.snap.tar'), '--store', store])).code).toBe(0);
    expect((await run(['import', join(dir, 'other.snap.tar'), '--pubkey', producer.pub, '--store', local])).code).toBe(0);
    expect((await run(['attest', model, '--data', 'other@v1', '--key', writer.key, '--as', 'm@v1', '--store', local])).code).toBe(0);
    for (const f of ['statement.json', 'envelope.json']) {
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/attestations/m/v1/${f}`, Body: await fsp.readFile(join(local, 'attestations', 'm', 'v1', f)) }));
    }

    const judged = async (how: string) => {
      const impact = await run(['impact', 'ds@v1', '--store', store, '--json']);
      expect(impact.code, impact.stdout + impact.stderr).toBe(0);
      const r = JSON.parse(impact.stdout);
      expect(r.models.map((m: { ref: string; attestation: string }) => [m.ref, m.attestation])).toEqual([['m@v1', genuine]]);
      expect(r.missingAttestations).toEqual([]);
      for (const f of ['statement.json', 'envelope.json']) expect(impact.stderr).toContain(`attestation file attestations/m/v1/${f} was ${how} in the bucket after it was written: its first version is read`);
      const bom = await run(['bom', '--model', 'm@v1', '--store', store]);
      expect(bom.code, bom.stderr).toBe(0);
      expect(bom.stdout).toContain(dsId);
      expect(bom.stdout).not.toContain(otherId);
      // The gate's verdict is the genuine attestation's: trained on revoked data.
      const gate = await run(['verify-model', model, '--pubkey', producer.pub, '--store', store, '--json']);
      expect(gate.code).toBe(1);
      const g = JSON.parse(gate.stdout);
      expect(g.failure.code).toBe('SNAPSHOT_REVOKED');
      expect(g.missingAttestations).toEqual([]);
    };
    await judged('written over');
    for (const f of ['statement.json', 'envelope.json']) await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: `st/attestations/m/v1/${f}` }));
    await judged('deleted');
  });

  it('attest writes its files only where the bucket has no key: one planted there after the command read the store fails it (ATTESTATION_EXISTS), and the planted version stays the only one', { timeout: 120_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const session = await openRemoteSession(new S3Backend(c, { bucket, prefix: 'st/' }), { create: true, objects: 'none', note: () => {} });
    let pushed: unknown;
    try {
      const folder = join(session.root, 'attestations', 'm', 'v2');
      await fsp.mkdir(folder, { recursive: true });
      await fsp.writeFile(join(folder, 'statement.json'), '{"snap":"statement"}\n');
      await fsp.writeFile(join(folder, 'envelope.json'), '{"snap":"envelope"}\n');
      await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/attestations/m/v2/envelope.json', Body: 'planted' }));
      pushed = await session.finish(true).then(() => 'pushed', (e: unknown) => e);
    } finally {
      await session.finish(false).catch(() => {});
    }
    expect(pushed).toBeInstanceOf(SnapError);
    expect((pushed as SnapError).code).toBe('ATTESTATION_EXISTS');
    expect((await allVersions(c, bucket, 'st/attestations/m/v2/envelope.json')).length).toBe(1);
  });
  it('fsck fails naming each revocation, co-signature and attestation file written over or deleted in a versioned bucket (every command reads its first version, but someone changed what was written once)', { timeout: 180_000 }, async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'versioned');
    const store = `s3://${bucket}/st`;
    const dir = await tempDir('snap-attestation-tamper-fsck-');
    const run = (args: string[]) => snap(args, { env: { ...server.env, NODE_NO_WARNINGS: '1', SNAP_STATE_DIR: join(dir, 'state') } });
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const model = await makeTree({ 'weights.bin': 'W' });
    expect((await run(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', store])).code).toBe(0);
    expect((await run(['sign', 'ds@v1', '--key', reviewer.key, '--store', store])).code).toBe(0);
    expect((await run(['attest', model, '--data', 'ds@v1', '--key', producer.key, '--as', 'm@v1', '--store', store])).code).toBe(0);
    expect((await run(['revoke', 'ds@v1', '--key', producer.key, '--reason', 'poisoned', '--store', store])).code).toBe(0);
    const clean = await run(['fsck', '--store', store, '--json']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout).changedFiles).toBeUndefined();

    const keyOf = async (prefix: string) => (await allVersions(c, bucket, prefix))[0]?.Key as string;
    const revocation = await keyOf('st/revocations/');
    const cosignature = await keyOf('st/signatures/');
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: revocation, Body: '{}\n' }));
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: cosignature }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/attestations/m/v1/envelope.json', Body: '{}\n' }));
    const f = await run(['fsck', '--store', store, '--json']);
    expect(f.code, f.stdout + f.stderr).toBe(1);
    const doc = JSON.parse(f.stdout);
    expect(doc.ok).toBe(false);
    expect(schemaErrors('fsck', doc)).toBe('');
    expect(doc.changedFiles).toEqual([
      { path: 'attestations/m/v1/envelope.json', change: 'written over' },
      { path: revocation.slice('st/'.length), change: 'written over' },
      { path: cosignature.slice('st/'.length), change: 'deleted' },
    ]);
    const human = await run(['fsck', '--store', store]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`FAIL  ${store}/attestations/m/v1/envelope.json was written over in the bucket after it was written once: every command reads its first version; someone with write access to the bucket changed it`);
    expect(human.stdout).toContain(`FAIL  ${store}/${cosignature.slice('st/'.length)} was deleted in the bucket after it was written once`);
  });
});
