/**
 * The worked inclusion proof of docs/FORMAT.md §11.7 (made by docs/worked-example.mjs from the
 * format alone, with node:crypto and no project code; kept in test/fixtures/worked-example.json):
 * snap writes exactly those bytes, through the core and through `snap prove` on the sealed
 * example, they check out with the example's public key, and FORMAT.md shows them as they are.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/core/envelope.js';
import { parseProof, serializeProof, verifyProof } from '../../src/core/proof.js';
import { encodeKeyPair, privateKeyFromSeed } from '../../src/core/keys.js';
import { fromHex, utf8 } from '../../src/core/encoding.js';
import { seal } from '../../src/ops/seal.js';
import { REPO, makeTree, snap, snapJson, tempDir } from '../helpers/tree.js';

interface Fixture {
  files: { path: string; contentUtf8: string }[];
  manifestLines: string[];
  leafHashes: string[];
  seedHex: string;
  keyid: string;
  envelope: string;
  inclusionProof: { path: string; text: string };
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/worked-example.json', import.meta.url), 'utf8')) as Fixture;
const key = privateKeyFromSeed(fromHex(fx.seedHex));
const trusted = [{ publicKey: key.publicKey, keyid: key.keyid }];

describe('the worked inclusion proof', () => {
  it('is what serializeProof writes for spam/b.txt: leaf 1 of 2, audit path [leaf 0]', () => {
    const bytes = serializeProof(parseEnvelope(fx.envelope), { entry: fx.manifestLines[1] as string, leafIndex: 1, treeSize: 2, auditPath: [fromHex(fx.leafHashes[0] as string)] });
    expect(Buffer.from(bytes).toString('utf8')).toBe(fx.inclusionProof.text);
    expect(fx.inclusionProof.path).toBe('spam/b.txt');
  });

  it('checks out with the example key alone', () => {
    const v = verifyProof(parseProof(utf8(fx.inclusionProof.text)), trusted, { expect: 'demo@v1' });
    expect(v.failure).toBeUndefined();
    expect(v.ok).toBe(true);
    expect(v.entry?.path).toBe('spam/b.txt');
  });

  it('is what snap prove writes for the sealed example, and snap verify-proof accepts it with the public key file', async () => {
    const data = await makeTree(Object.fromEntries(fx.files.map((f) => [f.path, f.contentUtf8])));
    const work = await tempDir();
    const store = join(work, 'store');
    await seal({ dir: data, as: 'demo@v1', key, store, now: () => new Date('2026-11-21T10:00:00Z'), jobs: 1 });
    const r = await snap(['prove', 'demo@v1', 'spam/b.txt', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(fx.inclusionProof.text);
    await fsp.writeFile(join(work, 'proof.json'), r.stdout);
    await fsp.writeFile(join(work, 'demo.pub'), encodeKeyPair(key).publicPem);
    const v = await snapJson(['verify-proof', 'proof.json', '--pubkey', 'demo.pub', '--file', join(data, 'spam', 'b.txt')], { cwd: work });
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ ok: true, ref: 'demo@v1', leafIndex: 1, treeSize: 2, signers: [{ keyid: fx.keyid, trusted: true }] });
  });

  it('appears byte for byte in docs/FORMAT.md, with its length and SHA-256', () => {
    const doc = readFileSync(join(REPO, 'docs', 'FORMAT.md'), 'utf8');
    expect(doc).toContain(`\n${fx.inclusionProof.text.trimEnd()}\n`);
    expect(doc).toContain(`(${Buffer.byteLength(fx.inclusionProof.text).toLocaleString('en-US')} bytes`);
    expect(doc).toContain(createHash('sha256').update(fx.inclusionProof.text).digest('hex'));
  });
});
