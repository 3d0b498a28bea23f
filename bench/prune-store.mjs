// A synthetic store for measuring `snap prune`: N referenced objects (empty files named by N distinct
// digests; prune does not re-hash, fsck would call them corrupt) named by two snapshots (the same
// manifest, valid envelope, statement and manifest), and U objects no snapshot names.
// usage: node bench/prune-store.mjs STORE [N=1000000] [U=10000] [--no-objects]   (needs npm run build)
// --no-objects: the snapshots only, every object they name missing (test/cli/fsck-bounded.test.ts).
// then:  /usr/bin/time -f '%e s %U u %S s %M KiB' node dist/cli/main.js prune --store STORE --quiet
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const R = new URL('../dist', import.meta.url).pathname;
const { openStore } = await import(`${R}/io/store.js`);
const { MerkleTreeBuilder } = await import(`${R}/core/merkle.js`);
const { buildStatement, serializeStatement } = await import(`${R}/core/statement.js`);
const { signEnvelope, serializeEnvelope } = await import(`${R}/core/envelope.js`);
const { privateKeyFromSeed, keyidOf } = await import(`${R}/core/keys.js`);
const noObjects = process.argv.includes('--no-objects');
const [root, nArg = '1000000', uArg = '10000'] = process.argv.slice(2).filter((a) => a !== '--no-objects');
const N = Number(nArg), U = Number(uArg);
await openStore(root, { create: true, parents: true });
const hex = (s) => createHash('sha256').update(s).digest('hex');
const fans = new Set();
const touch = (h) => {
  if (noObjects) return;
  const f = h.slice(0, 2);
  if (!fans.has(f)) { mkdirSync(join(root, 'objects', 'sha256', f), { recursive: true }); fans.add(f); }
  closeSync(openSync(join(root, 'objects', 'sha256', f, h.slice(2)), 'w', 0o444));
};
const tree = new MerkleTreeBuilder();
const mh = createHash('sha256');
const tmpManifest = join(root, '..', 'prune-store-manifest.jsonl');
const fd = openSync(tmpManifest, 'w');
let buf = [];
for (let i = 0; i < N; i++) {
  const h = hex(`ref${i}`);
  touch(h);
  const line = `{"path":"d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(7, '0')}","sha256":"${h}","size":0}`;
  const b = Buffer.from(line);
  tree.append(b);
  mh.update(b); mh.update('\n');
  buf.push(line);
  if (buf.length === 10000) { writeSync(fd, buf.join('\n') + '\n'); buf = []; }
}
if (buf.length) writeSync(fd, buf.join('\n') + '\n');
closeSync(fd);
for (let i = 0; i < U; i++) touch(hex(`unref${i}`));
const key = privateKeyFromSeed(createHash('sha256').update('bench-key').digest());
const signer = { seed: key.seed, publicKey: key.publicKey, keyid: keyidOf(key.publicKey) };
const merkleRoot = Buffer.from(tree.root()).toString('hex');
const manifestSha256 = mh.digest('hex');
const manifestBytes = readFileSync(tmpManifest);
for (const version of ['v1', 'v2']) {
  const st = buildStatement({ dataset: 'big', version, merkleRoot, manifestSha256, fileCount: N, totalBytes: 0, createdAt: '2026-11-30T00:00:00Z', tool: { name: 'snap', version: '0.1.0' } });
  const sb = serializeStatement(st);
  const dir = join(root, 'snapshots', 'big', version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.jsonl'), manifestBytes);
  writeFileSync(join(dir, 'statement.json'), sb);
  writeFileSync(join(dir, 'envelope.json'), serializeEnvelope(signEnvelope(sb, [signer])));
}
console.log('done', N, U);
