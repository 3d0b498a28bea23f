/**
 * `seal` with more signing keys than an envelope may carry (MAX_SIGNATURES, core/envelope.ts): it
 * wrote an envelope that verify then refused as malformed. It now stops before committing anything
 * (SIGNATURE_LIMIT, exit 3).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snapJson } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { MAX_SIGNATURES } from '../../src/core/envelope.js';

describe('seal with more keys than an envelope may carry', () => {
  it(`is refused (SIGNATURE_LIMIT, exit 3) with ${MAX_SIGNATURES + 1} keys, and no snapshot is committed`, { timeout: 120_000 }, async () => {
    const keys = [];
    for (let i = 0; i <= MAX_SIGNATURES; i++) keys.push(await makeKeyPair(`k${i}`));
    const data = await makeTree({ 'a.txt': 'a\n' });
    const store = await newStorePath();
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--store', store, ...keys.flatMap((k) => ['--key', k.key])]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('SIGNATURE_LIMIT');
    expect(r.json.error.message).toMatch(new RegExp(`at most ${MAX_SIGNATURES} signatures`));
    const snapshots = await fsp.readdir(join(store, 'snapshots')).catch(() => []);
    expect(snapshots).toEqual([]);
  });
});
