/**
 * `prove` (the library function behind `snap prove`): the proof it streams out of a manifest holds
 * exactly the audit path that core `inclusionProof` computes from all the leaves in memory, checks
 * out with only the public key, and is refused for a path that is not in the snapshot or a
 * manifest that does not match its statement.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prove } from '../../src/proofs/prove.js';
import { parseProof, verifyProof } from '../../src/core/proof.js';
import { inclusionProof } from '../../src/core/merkle.js';
import { addSignatures } from '../../src/core/envelope.js';
import { serializeEnvelope } from '../../src/core/envelope.js';
import { toHex } from '../../src/core/encoding.js';
import { fileEntries, testKey, trustedOf, writeSnapshot } from './helpers.js';

const alice = testKey(1);
const bob = testKey(2);

describe('prove on trees of 1 to 40 entries', () => {
  it('gives, for the first, a middle and the last entry, the audit path of core inclusionProof, and the proof checks out', async () => {
    for (let n = 1; n <= 40; n++) {
      const s = await writeSnapshot(fileEntries(n), [alice]);
      for (const m of new Set([0, Math.floor(n / 2), n - 1])) {
        const path = JSON.parse(s.lines[m] as string).path as string;
        const r = await prove({ snapshot: s.location, path });
        const p = parseProof(r.proof);
        expect({ n, m, leafIndex: p.manifest!.leafIndex, treeSize: p.manifest!.treeSize }).toEqual({ n, m, leafIndex: m, treeSize: n });
        expect(p.manifest!.auditPath.map(toHex)).toEqual(inclusionProof(s.leaves, m).map(toHex));
        expect(p.manifest!.entry).toBe(s.lines[m]);
        const v = verifyProof(p, [trustedOf(alice)]);
        expect(v.failure).toBeUndefined();
        expect(v.ok).toBe(true);
        expect(v.snapshot).toBe(s.snapshot);
      }
    }
  });

  it('agrees with inclusionProof for any entry of trees up to 300 entries (property)', async () => {
    const s = await writeSnapshot(fileEntries(300), [alice]);
    // Trees of other sizes are prefixes of this one, written as their own snapshots.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))), async ([n, m]) => {
        const t = n === 300 ? s : await writeSnapshot(fileEntries(n), [alice]);
        const r = await prove({ snapshot: t.location, path: JSON.parse(t.lines[m] as string).path });
        expect(parseProof(r.proof).manifest!.auditPath.map(toHex)).toEqual(inclusionProof(t.leaves, m).map(toHex));
        expect(r.leafIndex).toBe(m);
      }),
      { numRuns: 25 },
    );
  });
});

describe('prove, entries and signatures', () => {
  it('proves a symbolic link entry: its line names the target, and it checks out', async () => {
    const s = await writeSnapshot([...fileEntries(5), { path: 'links/latest', target: '../f/0004.txt', type: 'symlink' }], [alice]);
    const r = await prove({ snapshot: s.location, path: 'links/latest' });
    expect(r.entry).toEqual({ path: 'links/latest', target: '../f/0004.txt', type: 'symlink' });
    const v = verifyProof(parseProof(r.proof), [trustedOf(alice)]);
    expect(v.ok).toBe(true);
    expect(v.entry).toEqual(r.entry);
  });

  it('carries every signature of the envelope by default, and only the given keys’ with trusted keys', async () => {
    const s = await writeSnapshot(fileEntries(3), [alice, bob]);
    const all = await prove({ snapshot: s.location, path: 'f/0001.txt' });
    expect(all.keyids).toEqual([alice.keyid, bob.keyid]);
    // A verifier who trusts only alice cannot check bob's signature: the proof does not pass for it.
    expect(verifyProof(parseProof(all.proof), [trustedOf(alice)]).failure?.check).toBe('signature');
    expect(verifyProof(parseProof(all.proof), [trustedOf(alice), trustedOf(bob)], { threshold: 2 }).ok).toBe(true);
    const mine = await prove({ snapshot: s.location, path: 'f/0001.txt', trusted: [trustedOf(alice)] });
    expect(mine.keyids).toEqual([alice.keyid]);
    expect(verifyProof(parseProof(mine.proof), [trustedOf(alice)]).ok).toBe(true);
  });

  it('refuses trusted keys that did not sign, or fewer than the threshold (SIGNATURE_INVALID)', async () => {
    const s = await writeSnapshot(fileEntries(3), [alice]);
    await expect(prove({ snapshot: s.location, path: 'f/0001.txt', trusted: [trustedOf(bob)] })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(prove({ snapshot: s.location, path: 'f/0001.txt', trusted: [trustedOf(alice), trustedOf(bob)], threshold: 2 })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('writes each trusted signature once, under the keyid of the key that made it', async () => {
    const s = await writeSnapshot(fileEntries(3), [alice]);
    const sig = s.envelope.signatures[0] as { keyid: string; sig: string };
    const messy = { ...s.envelope, signatures: [{ keyid: 'a hint that lies', sig: sig.sig }, sig] };
    await fsp.writeFile(join(s.location.dir, 'envelope.json'), serializeEnvelope(messy));
    const r = await prove({ snapshot: s.location, path: 'f/0002.txt', trusted: [trustedOf(alice)] });
    expect(r.keyids).toEqual([alice.keyid]);
    expect(verifyProof(parseProof(r.proof), [trustedOf(alice)]).ok).toBe(true);
  });

  it('keeps a co-signature added later (the payload and so the snapshot id do not change)', async () => {
    const s = await writeSnapshot(fileEntries(4), [alice]);
    await fsp.writeFile(join(s.location.dir, 'envelope.json'), serializeEnvelope(addSignatures(s.envelope, [bob])));
    const r = await prove({ snapshot: s.location, path: 'f/0003.txt' });
    expect(r.snapshot).toBe(s.snapshot);
    expect(verifyProof(parseProof(r.proof), [trustedOf(bob), trustedOf(alice)], { threshold: 2 }).ok).toBe(true);
  });
});

describe('prove refuses', () => {
  it('a path that is not in the snapshot: PROOF_PATH_NOT_FOUND', async () => {
    const s = await writeSnapshot(fileEntries(7), [alice]);
    await expect(prove({ snapshot: s.location, path: 'f/9999.txt' })).rejects.toMatchObject({ code: 'PROOF_PATH_NOT_FOUND' });
    await expect(prove({ snapshot: s.location, path: 'f' })).rejects.toMatchObject({ code: 'PROOF_PATH_NOT_FOUND' });
  });

  it('a path no manifest can hold, before reading anything: its PATH_* code', async () => {
    const s = await writeSnapshot(fileEntries(2), [alice]);
    await expect(prove({ snapshot: s.location, path: '../f/0000.txt' })).rejects.toMatchObject({ code: 'PATH_DOTDOT_SEGMENT' });
    await expect(prove({ snapshot: s.location, path: '/f/0000.txt' })).rejects.toMatchObject({ code: 'PATH_ABSOLUTE' });
    await expect(prove({ snapshot: s.location, path: '' })).rejects.toMatchObject({ code: 'PATH_EMPTY' });
  });

  it('a manifest that was altered (a line changed, removed, or added): INTEGRITY_FAILURE, no proof', async () => {
    for (const edit of [
      (t: string) => t.replace('"size":3', '"size":4'),
      (t: string) => t.split('\n').filter((_, i) => i !== 5).join('\n'),
      (t: string) => `${t}{"path":"z","sha256":"${'0'.repeat(64)}","size":0}\n`,
      (t: string) => t.replace('"size":3}', '"size":3 }'),
    ]) {
      const s = await writeSnapshot(fileEntries(9), [alice]);
      const file = join(s.location.dir, 'manifest.jsonl');
      await fsp.writeFile(file, edit(await fsp.readFile(file, 'utf8')));
      await expect(prove({ snapshot: s.location, path: 'f/0001.txt' })).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    }
  });

  it('a snapshot whose envelope is not an envelope, or is missing: its code', async () => {
    const s = await writeSnapshot(fileEntries(2), [alice]);
    await fsp.writeFile(join(s.location.dir, 'envelope.json'), '{"payload":"e30=","payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}');
    await expect(prove({ snapshot: s.location, path: 'f/0001.txt' })).rejects.toMatchObject({ code: 'ENVELOPE_MALFORMED' });
    await fsp.rm(join(s.location.dir, 'envelope.json'));
    await expect(prove({ snapshot: s.location, path: 'f/0001.txt' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an unsigned snapshot (an envelope without signatures): SIGNATURE_INVALID', async () => {
    const s = await writeSnapshot(fileEntries(2), [alice]);
    await fsp.writeFile(join(s.location.dir, 'envelope.json'), serializeEnvelope({ ...s.envelope, signatures: [] }));
    await expect(prove({ snapshot: s.location, path: 'f/0001.txt' })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('a snapshot found under a name its statement does not carry: SNAPSHOT_NAME_MISMATCH', async () => {
    const s = await writeSnapshot(fileEntries(2), [alice], 'ds@v1');
    await expect(prove({ snapshot: { ...s.location, name: 'ds', version: 'v2' }, path: 'f/0001.txt' })).rejects.toMatchObject({ code: 'SNAPSHOT_NAME_MISMATCH' });
  });
});
