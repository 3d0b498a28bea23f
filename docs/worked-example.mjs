#!/usr/bin/env node
// Worked example for docs/FORMAT.md, computed from SPEC sections 2-6 alone.
//
// Standalone: Node >= 18, node:crypto and node:fs only, no project code, no dependencies.
//   node docs/worked-example.mjs           print every value (human readable)
//   node docs/worked-example.mjs --json    print the fixture JSON (test/fixtures/worked-example.json)
//   node docs/worked-example.mjs --write-dir DIR
//                                          also write manifest.jsonl, statement.json, pae.bin,
//                                          sig.bin, envelope.json, demo.key, demo.pub, proof.json into DIR
//                                          (for cross-checking with sha256sum / openssl)
//
// Every canonical (RFC 8785) string below is written BY HAND with its keys already in sorted
// order, then compared against a small independent JCS serializer (jcs() below) as a cross-check.

import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b) => Buffer.from(b).toString('hex');
const assert = (cond, msg) => {
  if (!cond) throw new Error('self-check failed: ' + msg);
};

// ---------------------------------------------------------------------------------------------
// Minimal RFC 8785 serializer, sufficient for objects/arrays/strings/safe integers.
// Keys sorted by UTF-16 code units (JS default string comparison). Strings: JSON.stringify,
// which escapes exactly as JCS does (", \, \b \t \n \f \r, other C0 controls as \u00xx lowercase).
function jcs(v) {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') {
    assert(Number.isSafeInteger(v), 'only safe integers are used here');
    return String(v);
  }
  if (typeof v === 'string') {
    assert(v.isWellFormed ? v.isWellFormed() : true, 'lone surrogate');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  const keys = Object.keys(v).sort(); // default sort = UTF-16 code unit order
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

// ---------------------------------------------------------------------------------------------
// RFC 9162 section 2.1 Merkle tree
const leafHash = (lineBytes) => sha256(Buffer.from([0x00]), lineBytes);
const nodeHash = (l, r) => sha256(Buffer.from([0x01]), l, r);
const splitPoint = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k; // largest power of two strictly smaller than n (n > 1)
};
function mth(leaves /* array of leaf hashes */) {
  const n = leaves.length;
  if (n === 0) return sha256(Buffer.alloc(0));
  if (n === 1) return leaves[0];
  const k = splitPoint(n);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function inclusionPath(m, leaves) {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = splitPoint(n);
  return m < k
    ? [...inclusionPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...inclusionPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
function verifyInclusion(index, size, leaf, path, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

// Self-check of the tree code: the size-8 tree of transparency-dev/merkle (RFC 6962 test data).
{
  const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657',
    '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
  const lh = data.map(leafHash);
  assert(hex(mth(lh)) === '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    'RFC 6962 size-8 root');
  assert(hex(mth(lh.slice(0, 5))) === '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    'RFC 6962 size-5 root');
  for (let n = 1; n <= 8; n++)
    for (let m = 0; m < n; m++)
      assert(verifyInclusion(m, n, lh[m], inclusionPath(m, lh.slice(0, n)), mth(lh.slice(0, n))),
        `inclusion ${m}/${n}`);
}

// ---------------------------------------------------------------------------------------------
// Ed25519 key from the RFC 8032 section 7.1 TEST 1 seed
const SEED_HEX = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUB_HEX = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex'); // 16 bytes
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex'); // 12 bytes

const pkcs8Der = Buffer.concat([PKCS8_PREFIX, Buffer.from(SEED_HEX, 'hex')]);
assert(pkcs8Der.length === 48, 'PKCS#8 DER is 48 bytes');
const privateKey = createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
const publicKey = createPublicKey(privateKey);
const spkiDer = publicKey.export({ format: 'der', type: 'spki' });
assert(spkiDer.length === 44, 'SPKI DER is 44 bytes');
assert(spkiDer.equals(Buffer.concat([SPKI_PREFIX, Buffer.from(PUB_HEX, 'hex')])),
  'derived public key = RFC 8032 TEST 1 public key, SPKI = prefix || key');
// RFC 8032 TEST 1 signature over the empty message
assert(sign(null, Buffer.alloc(0), privateKey).toString('hex') ===
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  'RFC 8032 TEST 1 signature');
const keyid = hex(sha256(spkiDer));
const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' });
const publicPem = publicKey.export({ format: 'pem', type: 'spki' });
assert(privateKey.export({ format: 'der', type: 'pkcs8' }).equals(pkcs8Der), 'PKCS#8 round trip');

// ---------------------------------------------------------------------------------------------
// 1. The dataset and its manifest (SPEC section 2)
const files = [
  { path: 'ham/a.txt', contentUtf8: 'hello\n' },
  { path: 'spam/b.txt', contentUtf8: 'world\n' },
];
// sort by the UTF-8 bytes of the path
const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
const manifestLines = sorted.map((f) => {
  const bytes = Buffer.from(f.contentUtf8, 'utf8');
  // keys in RFC 8785 order, written by hand: path < sha256 < size
  const line = JSON.stringify({ path: f.path, sha256: hex(sha256(bytes)), size: bytes.length });
  assert(line === jcs(JSON.parse(line)), 'manifest line is canonical');
  return line;
});
const manifestBytes = Buffer.from(manifestLines.map((l) => l + '\n').join(''), 'utf8');
const manifestSha256 = hex(sha256(manifestBytes));

// 2. Merkle tree (SPEC section 3)
const leaves = manifestLines.map((l) => leafHash(Buffer.from(l, 'utf8')));
const root = mth(leaves);
assert(root.equals(nodeHash(leaves[0], leaves[1])), 'two-leaf root = node(leaf0, leaf1)');
const merkleRoot = hex(root);
const proofs = leaves.map((_, i) => inclusionPath(i, leaves).map(hex));

// 3. Statement (SPEC section 4), keys in RFC 8785 order, written by hand:
//    top: _type < predicate < predicateType < subject
//    predicate: createdAt < dataset < fileCount < manifestSha256 < merkleRoot < tool < totalBytes < version
//    tool: name < version;  subject[i]: digest < name
const totalBytes = sorted.reduce((s, f) => s + Buffer.byteLength(f.contentUtf8, 'utf8'), 0);
const statementObj = {
  _type: 'https://in-toto.io/Statement/v1',
  predicate: {
    createdAt: '2026-11-21T10:00:00Z',
    dataset: 'demo',
    fileCount: manifestLines.length,
    manifestSha256,
    merkleRoot,
    tool: { name: 'snap', version: '0.1.0' },
    totalBytes,
    version: 'v1',
  },
  predicateType: 'urn:snap:dataset-snapshot:v1',
  subject: [{ digest: { sha256: merkleRoot }, name: 'demo@v1' }],
};
const statement = JSON.stringify(statementObj);
assert(statement === jcs(statementObj), 'statement is canonical');
const statementBytes = Buffer.from(statement, 'utf8');
const snapshotId = 'sha256:' + hex(sha256(statementBytes));

// 4. DSSE PAE and signature (SPEC section 5)
const payloadType = 'application/vnd.in-toto+json';
const typeBytes = Buffer.from(payloadType, 'utf8');
const paeHeader = `DSSEv1 ${typeBytes.length} ${payloadType} ${statementBytes.length} `;
const pae = Buffer.concat([Buffer.from(paeHeader, 'utf8'), statementBytes]);
const sig = sign(null, pae, privateKey);
assert(sig.length === 64, 'signature is 64 bytes');
assert(verify(null, pae, publicKey, sig), 'signature verifies');
const signatureBase64 = sig.toString('base64');
// envelope keys: payload < payloadType < signatures;  signature entries: keyid < sig
const envelopeObj = {
  payload: statementBytes.toString('base64'),
  payloadType,
  signatures: [{ keyid, sig: signatureBase64 }],
};
const envelope = JSON.stringify(envelopeObj);
assert(envelope === jcs(envelopeObj), 'envelope is canonical');

// 5. Inclusion proof of spam/b.txt (leaf 1), docs/FORMAT.md section 11. Keys in RFC 8785 order,
//    written by hand: envelope < kind < manifest < version; auditPath < entry < leafIndex < treeSize.
//    The file is the canonical JSON followed by one LF.
const proofLeaf = 1;
const proofObj = {
  envelope: envelopeObj,
  kind: 'snap-inclusion-proof',
  manifest: {
    auditPath: proofs[proofLeaf],
    entry: manifestLines[proofLeaf],
    leafIndex: proofLeaf,
    treeSize: manifestLines.length,
  },
  version: 1,
};
const proofText = JSON.stringify(proofObj) + '\n';
assert(proofText === jcs(proofObj) + '\n', 'proof is canonical');
assert(verifyInclusion(proofLeaf, manifestLines.length, leafHash(Buffer.from(manifestLines[proofLeaf], 'utf8')),
  proofs[proofLeaf].map((h) => Buffer.from(h, 'hex')), root), 'the proof\'s audit path leads to the root');

// Note on sort order (SPEC section 2): UTF-8 byte order vs JavaScript UTF-16 order
const pA = 'x/\u{FB01}', pB = 'x/\u{1F600}'; // U+FB01 (BMP, above U+E000) vs U+1F600 (astral)
const utf8First = Buffer.compare(Buffer.from(pA), Buffer.from(pB)) < 0 ? pA : pB;
const utf16First = pA < pB ? pA : pB;
assert(utf8First === pA && utf16First === pB, 'UTF-8 and UTF-16 orders disagree as documented');

// ---------------------------------------------------------------------------------------------
const fixture = {
  files,
  manifestLines,
  manifestSha256,
  leafHashes: leaves.map(hex),
  merkleRoot,
  statement,
  snapshotId,
  paeBase64: pae.toString('base64'),
  seedHex: SEED_HEX,
  publicKeyHex: PUB_HEX,
  keyid,
  signatureBase64,
  envelope,
  inclusionProof: { path: sorted[proofLeaf].path, text: proofText },
};

const args = process.argv.slice(2);
const wd = args.indexOf('--write-dir');
if (wd >= 0) {
  const dir = args[wd + 1];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.jsonl'), manifestBytes);
  writeFileSync(join(dir, 'statement.json'), statementBytes);
  writeFileSync(join(dir, 'pae.bin'), pae);
  writeFileSync(join(dir, 'sig.bin'), sig);
  writeFileSync(join(dir, 'envelope.json'), envelope);
  writeFileSync(join(dir, 'demo.key'), privatePem, { mode: 0o600 });
  writeFileSync(join(dir, 'demo.pub'), publicPem);
  writeFileSync(join(dir, 'proof.json'), proofText);
  for (const f of files) {
    mkdirSync(join(dir, 'data', f.path, '..'), { recursive: true });
    writeFileSync(join(dir, 'data', f.path), f.contentUtf8);
  }
}

if (args.includes('--json')) {
  process.stdout.write(JSON.stringify(fixture, null, 2) + '\n');
} else {
  const out = (k, v) => console.log(`${k}:\n${v}\n`);
  out('manifest.jsonl (each line followed by \\n)', manifestLines.join('\n'));
  out('manifest bytes', manifestBytes.length);
  out('manifestSha256', manifestSha256);
  leaves.forEach((l, i) => out(`leaf hash ${i} = SHA-256(0x00 || line ${i})`, hex(l)));
  out('merkleRoot = SHA-256(0x01 || leaf0 || leaf1)', merkleRoot);
  proofs.forEach((p, i) => out(`inclusion proof for leaf ${i} (size 2)`, JSON.stringify(p)));
  out('statement.json (no trailing newline)', statement);
  out('statement bytes', statementBytes.length);
  out('snapshot id', snapshotId);
  out('PAE header (literal, ends with one space)', JSON.stringify(paeHeader));
  out('PAE length (header + statement)', `${Buffer.byteLength(paeHeader)} + ${statementBytes.length} = ${pae.length}`);
  out('PAE sha256', hex(sha256(pae)));
  out('PKCS#8 DER (48 bytes)', hex(pkcs8Der));
  out('SPKI DER (44 bytes)', hex(spkiDer));
  out('private key PEM', privatePem.trimEnd());
  out('public key PEM', publicPem.trimEnd());
  out('keyid = SHA-256(SPKI DER)', keyid);
  out('signature (hex)', hex(sig));
  out('signature (base64)', signatureBase64);
  out('envelope.json', envelope);
  out(`inclusion proof of ${sorted[proofLeaf].path} (${Buffer.byteLength(proofText)} bytes, ends with one LF)`, proofText.trimEnd());
  console.log('all self-checks passed');
}
