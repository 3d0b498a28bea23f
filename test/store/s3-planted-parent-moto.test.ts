/**
 * A snapshot planted in an S3 store by someone who can write the bucket and seals with a key of
 * their own (no private key of the owner's), as the newest version of a NAME, on moto_server
 * (started here; never skipped). The owner's next seal takes the newest snapshot of NAME as its
 * parent by default and signs its id into the new statement: it says, on stdout and in `--json`,
 * that this parent is signed by none of the keys the seal signs with, so the planted lineage does
 * not go in unseen. A parent one of the seal's keys signed gives no such note.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const owner = useKeyPair('planted-parent-owner');
const intruder = useKeyPair('planted-parent-intruder');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });

describe('a seal whose default parent was planted in an S3 store (moto)', () => {
  it('names the parent signed by none of its keys, in human output and --json; a parent it signed gives no note', { timeout: 120_000 }, async () => {
    const store = `s3://${await newBucket(clientFor(server), 'plain')}/st`;
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const first = await snap(['seal', data, '--as', 'ds@v1', '--key', owner.key, '--store', store], { env: env() });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await fsp.writeFile(join(data, 'b.txt'), 'bravo\n');
    const own = await snapJson(['seal', data, '--as', 'ds@v2', '--key', owner.key, '--store', store], { env: env() });
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.json.unsignedParent).toBeUndefined();

    const planted = await makeTree({ 'x.txt': 'pwned\n' });
    expect((await snap(['seal', planted, '--as', 'ds@v99', '--key', intruder.key, '--store', store], { env: env() })).code).toBe(0);
    await fsp.writeFile(join(data, 'c.txt'), 'charlie\n');
    const next = await snap(['seal', data, '--as', 'ds@v3', '--key', owner.key, '--store', store], { env: env() });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toContain('the parent ds@v99 (the newest snapshot of ds) is signed by none of the keys this seal signs with');
    await fsp.writeFile(join(data, 'd.txt'), 'delta\n');
    const json = await snapJson(['seal', data, '--as', 'ds@v4', '--key', owner.key, '--parent', 'ds@v99', '--store', store], { env: env() });
    expect(json.code, json.stdout + json.stderr).toBe(0);
    expect(json.json.unsignedParent).toBe('ds@v99');
  });
});
