/**
 * A key that signed counts once (SPEC §5), and the verdict names it once. An envelope may carry the
 * same signature twice — the same bytes in the other base64 alphabet, another keyid hint — which
 * anyone who can write the store can add: the human verdict listed such a key once per signature
 * ("signed by e09f…, 5e12…, e09f…"), as if more keys had signed than did.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';

const alice = useKeyPair('alice');
const bob = useKeyPair('bob');

describe('the verdict of a snapshot whose envelope repeats a signature', () => {
  it('names each trusted key once, in verify and in restore', async () => {
    const work = await tempDir('snap-signers-once-');
    const store = join(work, 'store');
    const data = await makeTree({ 'a.txt': 'one\n' });
    expect((await snap(['seal', data, '--as', 'ds@v1', '--key', alice.key, '--store', store])).code).toBe(0);
    expect((await snap(['sign', 'ds@v1', '--key', bob.key, '--store', store])).code).toBe(0);
    const file = join(store, 'snapshots', 'ds', 'v1', 'envelope.json');
    const env = JSON.parse(await fsp.readFile(file, 'utf8'));
    const first = env.signatures[0];
    const urlSafe = first.sig.replace(/\+/g, '-').replace(/\//g, '_');
    env.signatures.push({ keyid: first.keyid.toUpperCase(), sig: urlSafe === first.sig ? first.sig : urlSafe });
    await fsp.chmod(file, 0o644);
    await fsp.writeFile(file, JSON.stringify(env));
    const args = ['--pubkey', alice.pub, '--pubkey', bob.pub, '--threshold', '2', '--store', store];
    const v = await snap(['verify', data, '--against', 'ds@v1', ...args]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const line = v.stdout.split('\n')[0] as string;
    expect(line).toMatch(/signed by [0-9a-f]{16}, [0-9a-f]{16}$/);
    expect(line.split(alice.keyid.slice(0, 16)).length - 1).toBe(1);
    const r = await snap(['restore', 'ds@v1', join(work, 'out'), ...args]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.split(alice.keyid.slice(0, 16)).length - 1).toBe(1);
  });
});
