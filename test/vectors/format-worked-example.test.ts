/**
 * The worked example of docs/FORMAT.md §7, checked against the text of the document itself: each
 * value the section shows (digests, sizes, the Merkle tree, the statement, the snapshot id, the
 * PAE, the key, the signature, the envelope, the object paths) is computed here by snap — `snap
 * seal` of the section's files with the section's key, then the core functions for what depends on
 * the fixed `createdAt` — and must appear in the section as computed. (test/core/statement.test.ts
 * and envelope.test.ts compare the code with test/fixtures/worked-example.json; this compares the
 * code with the prose a reader follows.)
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, snap, snapJson, tempDir } from '../helpers/tree.js';
import { parseManifest, serializeManifest } from '../../src/core/manifest.js';
import { leafHash, merkleRoot } from '../../src/core/merkle.js';
import { buildStatement, parseStatement, serializeStatement, snapshotId } from '../../src/core/statement.js';
import { PAYLOAD_TYPE, pae, serializeEnvelope, signEnvelope } from '../../src/core/envelope.js';
import { encodeKeyPair, encodePrivateKeyDer, encodePublicKeyDer, parsePrivateKeyPem } from '../../src/core/keys.js';
import { sign } from '../../src/core/ed25519.js';
import { toBase64, toHex, utf8 } from '../../src/core/encoding.js';
import { SHARD_REPORT_PAYLOAD_TYPE } from '../../src/shards/signed-report.js';
import { FILE_WEIGHT } from '../../src/shards/assign.js';

const doc = readFileSync(join(REPO, 'docs', 'FORMAT.md'), 'utf8');

/** The text of the section starting with `heading`, up to the next `## ` heading. */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}`);
  expect(start, heading).toBeGreaterThan(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

const s7 = section('## 7. Worked example');
const hex = (b: Uint8Array) => toHex(b);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
/** A fenced block holding exactly `text` (one or more lines). */
const fenced = (text: string) => `\`\`\`\n${text.endsWith('\n') ? text : `${text}\n`}\`\`\``;

describe('docs/FORMAT.md §7 worked example, as snap computes it', () => {
  it('seals the files of §7.1 with the key of §7.6 into the manifest, Merkle tree and objects the section shows', async () => {
    // §7.1: the files, by their exact bytes (hex), size and SHA-256.
    const rows = [...s7.matchAll(/^\| `([^`]+)` \| `[^`]*` = `([0-9a-f ]+)` \| (\d+) \| `([0-9a-f]{64})` \|$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['ham/a.txt', 'spam/b.txt']);
    const work = await tempDir('snap-format-7-');
    const data = join(work, 'data');
    for (const [, path, bytes] of rows) {
      await fsp.mkdir(join(data, path!, '..'), { recursive: true });
      await fsp.writeFile(join(data, path!), Buffer.from(bytes!.replace(/ /g, ''), 'hex'));
    }
    const pem = /```\n(-----BEGIN PRIVATE KEY-----\n[\s\S]*?-----END PRIVATE KEY-----\n)```/.exec(s7)?.[1];
    expect(pem).toBeDefined();
    await fsp.writeFile(join(work, 'demo.key'), pem!, { mode: 0o600 });
    const store = join(work, 'store');
    const sealed = await snapJson(['seal', data, '--as', 'demo@v1', '--key', join(work, 'demo.key'), '--store', store]);
    expect(sealed.code, sealed.stderr).toBe(0);

    // The manifest snap wrote: its lines, length and SHA-256 (§7.2); each file's size and digest (§7.1).
    const manifest = await fsp.readFile(join(store, 'snapshots', 'demo', 'v1', 'manifest.jsonl'));
    const entries = parseManifest(manifest.toString('utf8'));
    expect(entries.map((e) => [e.path, String((e as { size: number }).size), (e as { sha256: string }).sha256])).toEqual(rows.map((r) => [r[1], r[3], r[4]]));
    expect(serializeManifest(entries)).toBe(manifest.toString('utf8'));
    expect(s7).toContain(fenced(manifest.toString('utf8')));
    expect(s7).toContain(`### 7.2 \`manifest.jsonl\` (${manifest.length} bytes;`);
    expect(s7).toContain(`manifestSha256 = SHA-256 of those ${manifest.length} bytes =\n\`${sha256(manifest)}\``);

    // §7.3: the leaf hashes and the root, as sealed and signed.
    const lines = manifest.toString('utf8').split('\n').slice(0, -1);
    const leaves = lines.map((l) => leafHash(utf8(l)));
    const root = hex(merkleRoot(leaves));
    expect([sealed.json.merkleRoot, sealed.json.manifestSha256, sealed.json.signers]).toEqual([root, sha256(manifest), [/^keyid +([0-9a-f]{64})$/m.exec(s7)?.[1]]]);
    const stored = parseStatement(await fsp.readFile(join(store, 'snapshots', 'demo', 'v1', 'statement.json')));
    expect(stored.predicate.merkleRoot).toBe(root);
    expect(stored.predicate.manifestSha256).toBe(sha256(manifest));
    leaves.forEach((l, i) => expect(s7).toMatch(new RegExp(`^\\| leaf ${i} \\| .* \\| \`${hex(l)}\` \\|$`, 'm')));
    expect(s7).toMatch(new RegExp(`^\\| root \\| .* \\| \`${root}\` \\|$`, 'm'));

    // The objects of the store (the end of §7.8), and the same path in an S3 store (§23.7).
    for (const e of entries) {
      const d = (e as { sha256: string }).sha256;
      await fsp.access(join(store, 'objects', 'sha256', d.slice(0, 2), d.slice(2)));
      expect(s7).toContain(`\`objects/sha256/${d.slice(0, 2)}/${d.slice(2, 8)}…${d.slice(-4)}\``);
    }
    const a = (entries[0] as { sha256: string }).sha256;
    expect(section('## 23. S3 store')).toContain(`snap/objects/sha256/${a.slice(0, 2)}/${a.slice(2)}   ham/a.txt`);
  });

  it('gives the statement, snapshot id, PAE, key, signature and envelope of §7.4–§7.8', () => {
    // §7.4 inputs: name demo, version v1, createdAt 2026-11-21T10:00:00Z, tool snap 0.1.0, 2 files, 12 bytes.
    const root = /^\| root \| .* \| `([0-9a-f]{64})` \|$/m.exec(s7)?.[1] as string;
    const manifestSha256 = /manifestSha256 = SHA-256 of those \d+ bytes =\n`([0-9a-f]{64})`/.exec(s7)?.[1] as string;
    expect(s7).toContain('Inputs: name `demo`, version `v1`, createdAt `2026-11-21T10:00:00Z`, no parent, no excludes,\ntool `snap` `0.1.0`, fileCount 2, totalBytes 12.');
    const statement = serializeStatement(
      buildStatement({ dataset: 'demo', version: 'v1', merkleRoot: root, manifestSha256, fileCount: 2, totalBytes: 12, createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' } }),
    );
    expect(s7).toContain(`### 7.4 \`statement.json\` (${statement.length} bytes, no trailing newline)`);
    expect(s7).toContain(fenced(new TextDecoder().decode(statement)));
    expect(s7).toContain(`Snapshot id = \`${snapshotId(statement)}\``);

    // §7.5: the PAE, its header, length and SHA-256.
    const p = pae(PAYLOAD_TYPE, statement);
    const header = new TextDecoder().decode(p.subarray(0, p.length - statement.length));
    expect(s7).toContain(`### 7.5 PAE (${p.length} bytes)`);
    expect(s7).toContain(`The ${header.length}-byte header, literally`);
    expect(s7).toContain(fenced(header));
    expect(s7).toContain(`Total ${header.length} + ${statement.length} = ${p.length} bytes; SHA-256 of the PAE =\n\`${sha256(p)}\``);

    // §7.6: the key, from its seed.
    const seedHex = /^seed +([0-9a-f]{64})$/m.exec(s7)?.[1] as string;
    const pem = /```\n(-----BEGIN PRIVATE KEY-----\n[\s\S]*?-----END PRIVATE KEY-----\n)```/.exec(s7)?.[1] as string;
    const key = parsePrivateKeyPem(pem);
    expect(hex(key.seed)).toBe(seedHex);
    const der = (b: Uint8Array, n: number) => `${hex(b.subarray(0, b.length - n))} ${hex(b.subarray(b.length - n))}`;
    expect(s7).toMatch(new RegExp(`^public key  ${hex(key.publicKey)}$`, 'm'));
    expect(s7).toMatch(new RegExp(`^PKCS#8 DER  ${der(encodePrivateKeyDer(key.seed), 32)}$`, 'm'));
    expect(s7).toMatch(new RegExp(`^SPKI DER    ${der(encodePublicKeyDer(key.publicKey), 32)}$`, 'm'));
    expect(s7).toMatch(new RegExp(`^keyid       ${key.keyid}$`, 'm'));
    const pems = encodeKeyPair(key);
    expect(s7).toContain(fenced(pems.privatePem));
    expect(s7).toContain(fenced(pems.publicPem));

    // §7.7 and §7.8: the signature over the PAE, and the envelope.
    const sig = sign(p, key.seed);
    expect(s7).toMatch(new RegExp(`^hex     ${hex(sig)}$`, 'm'));
    expect(s7).toContain(`base64  ${toBase64(sig)}\n`);
    expect(s7).toContain(fenced(new TextDecoder().decode(serializeEnvelope(signEnvelope(statement, [key])))));
  });
});

describe('docs/FORMAT.md §20.8 worked example (a signed shard report), as snap computes it', () => {
  const s208 = section('### 20.8 Worked example: a signed report');
  const fixture = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'worked-example.json'), 'utf8')) as { files: { path: string; contentUtf8: string }[]; manifestLines: string[]; statement: string; envelope: string };

  it("gives the report, PAE, signature, envelope and merge output that verify --shard 2/2 --report-key and verify --merge produce for §7's snapshot", async () => {
    // §7's snapshot demo@v1 in a store (its files as the fixture holds them, which §7's test compares with the code), and its data.
    const work = await tempDir('snap-format-20-8-');
    const snapDir = join(work, 'store', 'snapshots', 'demo', 'v1');
    await fsp.mkdir(snapDir, { recursive: true });
    await fsp.writeFile(join(work, 'store', 'store.json'), '{"format":"snap-store/1"}');
    await fsp.writeFile(join(snapDir, 'manifest.jsonl'), fixture.manifestLines.join('\n') + '\n');
    await fsp.writeFile(join(snapDir, 'statement.json'), fixture.statement);
    await fsp.writeFile(join(snapDir, 'envelope.json'), fixture.envelope);
    expect(s7).toContain(fenced(fixture.envelope));
    for (const f of fixture.files) {
      await fsp.mkdir(join(work, 'data', f.path, '..'), { recursive: true });
      await fsp.writeFile(join(work, 'data', f.path), f.contentUtf8);
    }
    const demoPub = /```\n(-----BEGIN PUBLIC KEY-----\n[\s\S]*?-----END PUBLIC KEY-----\n)```/.exec(s7)?.[1] as string;
    await fsp.writeFile(join(work, 'demo.pub'), demoPub);
    await fsp.mkdir(join(work, 'keys.example'));
    const exampleKey = readFileSync(join(REPO, 'keys.example', 'example-DO-NOT-USE.key'), 'utf8');
    await fsp.writeFile(join(work, 'keys.example', 'example-DO-NOT-USE.key'), exampleKey, { mode: 0o600 });
    await fsp.copyFile(join(REPO, 'keys.example', 'example-DO-NOT-USE.pub'), join(work, 'keys.example', 'example-DO-NOT-USE.pub'));
    const key = parsePrivateKeyPem(exampleKey);
    expect(s208).toContain(`keyid\n\`${key.keyid}\``);

    // The split: W and where shard 2's leaf starts.
    expect(s208).toContain(`\`W = 12 + 2 × ${FILE_WEIGHT.toLocaleString('en')} = ${(12 + 2 * FILE_WEIGHT).toLocaleString('en')}\`; \`spam/b.txt\` starts at ${(6 + FILE_WEIGHT).toLocaleString('en')}`);

    // The two workers, exactly as the section runs worker 2 (the store given by --store).
    const args = (/```\nsnap (verify data [^\n]*\\\n[^\n]*)\n```/.exec(s208)?.[1] as string).replace('\\\n', ' ').split(/ +/);
    const worker = (k: number) => snap([...args.map((a) => (a === 's2.json' ? `s${k}.json` : a === '2/2' ? `${k}/2` : a)), '--store', 'store'], { cwd: work });
    for (const k of [1, 2]) expect((await worker(k)).code).toBe(0);
    const envelope = await fsp.readFile(join(work, 's2.json'), 'utf8');
    const env = JSON.parse(envelope) as { payload: string; signatures: { sig: string }[] };
    const payload = Buffer.from(env.payload, 'base64');

    // The payload, its PAE, the signature, the envelope.
    expect(s208).toContain(`The report, the payload (${payload.length} bytes, ending in one LF):\n\n\`\`\`json\n${payload.toString('utf8')}\`\`\``);
    const p = pae(SHARD_REPORT_PAYLOAD_TYPE, payload);
    const header = new TextDecoder().decode(p.subarray(0, p.length - payload.length));
    expect(s208).toContain(`PAE (${p.length} bytes) = the ${header.length}-byte ASCII header \`${header}\`\n(the payload type is ${utf8(SHARD_REPORT_PAYLOAD_TYPE).length} bytes, the payload ${payload.length})`);
    expect(s208).toContain(`its SHA-256 is\n\`${sha256(p)}\``);
    const sig = sign(p, key.seed);
    expect(env.signatures).toEqual([{ keyid: key.keyid, sig: toBase64(sig) }]);
    expect(s208).toContain(`hex     ${hex(sig)}\nbase64  ${toBase64(sig)}\n`);
    expect(new TextDecoder().decode(serializeEnvelope(signEnvelope(payload, [key], SHARD_REPORT_PAYLOAD_TYPE)))).toBe(envelope);
    expect(s208).toContain(`\`s2.json\`, the envelope (${Buffer.byteLength(envelope)} bytes, canonical JSON, no trailing newline):\n\n${fenced(envelope)}`);

    // The merge, as the section runs it, prints what it shows.
    const mergeArgs = (/```\nsnap (verify --merge [^\n]*)\n```/.exec(s208)?.[1] as string).split(' ');
    const merged = await snap(mergeArgs, { cwd: work });
    expect(merged.code).toBe(0);
    expect(s208).toContain(`prints (exit 0):\n\n${fenced(merged.stdout)}`);

    // And fails as the section says: a changed byte, another key, no key, another run.
    const findingsFor = async (): Promise<string[]> => {
      const r = await snap([...mergeArgs, '--json'], { cwd: work });
      expect(r.code).toBe(1);
      return (JSON.parse(r.stdout).findings as { kind: string }[]).map((f) => f.kind);
    };
    const flipped = Buffer.from(payload);
    const at = flipped.indexOf('"bytes": 6') + '"bytes": '.length;
    flipped[at] = '7'.charCodeAt(0);
    await fsp.writeFile(join(work, 's2.json'), JSON.stringify({ ...env, payload: flipped.toString('base64') }));
    expect(await findingsFor()).toEqual(['signature', 'missing']);
    // Worker 2 again with one of the section's flags changed (to: undefined leaves the flag out).
    const again = (from: string, to: string | undefined) => {
      const i = args.indexOf(from);
      return snap([...args.slice(0, to === undefined ? i - 1 : i), ...(to === undefined ? [] : [to]), ...args.slice(i + 1), '--store', 'store'], { cwd: work });
    };
    await fsp.writeFile(join(work, 'demo.key'), /```\n(-----BEGIN PRIVATE KEY-----\n[\s\S]*?-----END PRIVATE KEY-----\n)```/.exec(s7)?.[1] as string, { mode: 0o600 });
    expect((await again('keys.example/example-DO-NOT-USE.key', 'demo.key')).code).toBe(0);
    expect(await findingsFor()).toEqual(['signature', 'missing']);
    expect((await again('keys.example/example-DO-NOT-USE.key', undefined)).code).toBe(0);
    expect(await findingsFor()).toEqual(['unsigned', 'missing']);
    expect((await again('ci-1234-1', 'ci-1234-2')).code).toBe(0);
    expect(await findingsFor()).toEqual(['stale', 'missing']);
    expect(s208).toContain('exits 1 with finding\n`signature`, `signature`, `unsigned` or `stale` for `s2.json` (and `missing` for shard 2)');
  });
});
