/**
 * An S3 store's location in what a command prints, on moto_server (started here). A command on an
 * S3 store runs on a local working copy, and its output names the bucket's location in place of
 * that copy's path. A prefix may hold `"`, `\`, a C1 control and a bidirectional control (only C0
 * controls and DEL are refused, s3/location.ts): put in raw, it broke the `--json` document (an
 * unescaped `"` in `"store"`) and reached the terminal raw in human output. Now it is put in as each
 * output writes text: JSON-escaped in a `--json` document, escaped for a terminal in human lines,
 * and raw in an error's message (which `--json` gives exact and stderr escapes).
 */
import { describe, expect, it } from 'vitest';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, useKeyPair } from '../helpers/tree.js';
import { unsafeIn } from '../helpers/terminal.js';
import { clientFor, newBucket } from './s3-fixture.js';

const server = useS3Server('moto');
const keys = useKeyPair('s3-location');

describe('an S3 store whose prefix holds a quote, a backslash, a C1 and a bidirectional control (moto)', () => {
  it('is named exactly in --json (one valid document) and escaped in human output, by list, seal and an error', { timeout: 180_000 }, async () => {
    const bucket = await newBucket(clientFor(server), 'plain');
    const prefix = 'q"b\\c\u009bd\u202ee';
    const store = `s3://${bucket}/${prefix}`;
    const env = { ...server.env, NODE_NO_WARNINGS: '1' };
    const data = await makeTree({ 'a.txt': 'alpha\n' });
    const sealed = await snap(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store], { env });
    expect(sealed.code, sealed.stderr).toBe(0);
    expect(unsafeIn(sealed.stdout + sealed.stderr)).toBeUndefined();
    expect(sealed.stdout).toContain(`s3://${bucket}/q"b\\\\c\\u009bd\\u202ee`);

    const list = await snap(['list', '--store', store, '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).store).toBe(store);

    const human = await snap(['list', '--store', store], { env });
    expect(human.code, human.stderr).toBe(0);
    expect(unsafeIn(human.stdout + human.stderr)).toBeUndefined();

    const missing = await snap(['show', 'ds@v9', '--store', store, '--json'], { env });
    expect(missing.code).toBe(3);
    const doc = JSON.parse(missing.stdout);
    expect(doc.error.code).toBe('REF_NOT_FOUND');
    expect(doc.error.message).toContain(store);
    expect(unsafeIn(missing.stderr)).toBeUndefined();
  });
});
