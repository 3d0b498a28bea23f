/**
 * `snap bom`: CycloneDX 1.6 ML-BOMs of a snapshot and of a model attestation. Every BOM produced
 * here is validated offline with @cyclonedx/cyclonedx-library's strict JSON-schema validator
 * (CycloneDX 1.6, ajv), and the validator is shown to reject a broken one.
 */
import { promises as fsp, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { makeKeyPair, makeTree, snap, snapJson, tempDir, type KeyPair } from '../helpers/tree.js';
import { newStorePath, tamper } from '../helpers/store.js';

const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

/** Validation errors of a BOM (null when it is valid CycloneDX 1.6). */
async function schemaErrors(bom: unknown): Promise<unknown> {
  return validator.validate(typeof bom === 'string' ? bom : JSON.stringify(bom));
}

let dataKey: KeyPair;
let mlKey: KeyPair;
let store: string;
let work: string;
const sealed: Record<string, { snapshot: string; manifestSha256: string; merkleRoot: string }> = {};
const SRC = 'd'.repeat(64);

async function seal(files: Record<string, string>, as: string, extra: string[]) {
  const r = await snapJson(['seal', await makeTree(files), '--as', as, '--key', dataKey.key, '--store', store, '--no-pipeline', ...extra]);
  if (r.code !== 0) throw new Error(`seal ${as}: ${r.stderr}`);
  sealed[as] = r.json;
}

async function bomOf(args: string[]): Promise<Record<string, any>> {
  const out = join(work, `bom-${Math.random().toString(16).slice(2)}.cdx.json`);
  const r = await snapJson(['bom', ...args, '-o', out, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  const text = await fsp.readFile(out, 'utf8');
  expect(await schemaErrors(text)).toBeNull();
  return JSON.parse(text);
}

const props = (c: { properties?: { name: string; value: string }[] }) => Object.fromEntries((c.properties ?? []).map((p) => [p.name, p.value]));

beforeAll(async () => {
  dataKey = await makeKeyPair('data');
  mlKey = await makeKeyPair('ml');
  store = await newStorePath();
  work = await tempDir('snap-bom-');
  await seal({ 'dump.csv': '1\n' }, 'raw@v1', ['--source', `https://vendor.example/dump.csv#sha256=${SRC}`, '--license', 'CC-BY-4.0']);
  await seal({ 'clean.csv': '1\n' }, 'clean@v1', ['--derived-from', 'raw@v1', '-m', 'deduplicated', '--license', 'MIT OR Apache-2.0']);
  await fsp.writeFile(join(work, 'weights.bin'), 'W');
  await fsp.writeFile(join(work, 'config.json'), '{}');
  const a = await snapJson(['attest', 'weights.bin', 'config.json', '--data', 'clean@v1', '--data', 'raw@v1', '--key', mlKey.key, '--as', 'clf@1', '--train-command', 'python train.py', '--store', store], { cwd: work });
  if (a.code !== 0) throw new Error(`attest: ${a.stderr}`);
});

describe('snap bom REF', () => {
  it('describes a snapshot as a CycloneDX 1.6 data component of type dataset, with hashes, provenance and counts', async () => {
    const bom = await bomOf(['raw@v1']);
    expect(bom.specVersion).toBe('1.6');
    const c = bom.metadata.component;
    expect(c).toMatchObject({ type: 'data', name: 'raw', version: 'v1', data: [{ type: 'dataset', name: 'raw@v1' }] });
    expect(c.hashes).toEqual([{ alg: 'SHA-256', content: sealed['raw@v1']!.manifestSha256 }]);
    expect(c.licenses).toEqual([{ license: { id: 'CC-BY-4.0' } }]);
    expect(c.externalReferences).toMatchObject([{ type: 'distribution', url: 'https://vendor.example/dump.csv', hashes: [{ alg: 'SHA-256', content: SRC }] }]);
    expect(props(c)).toMatchObject({
      'snap:snapshotId': sealed['raw@v1']!.snapshot, 'snap:merkleRoot': sealed['raw@v1']!.merkleRoot, 'snap:fileCount': '1', 'snap:totalBytes': '2',
      'snap:signer': dataKey.keyid, 'snap:signaturesVerified': 'false',
    });
  });

  it('gives the record counts of the signed record indexes, in all and per set and label', async () => {
    const csv = 'id,text,label\n1,win money,spam\n2,lunch,ham\n3,notes,ham\n';
    const config = JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] });
    await seal({ 'train.csv': csv, 'snap.json': config }, 'labelled@v1', []);
    const p = props((await bomOf(['labelled@v1'])).metadata.component);
    expect(p).toMatchObject({
      'snap:recordCount': '3',
      'snap:records:train.csv:format': 'csv',
      'snap:records:train.csv:count': '3',
      'snap:records:train.csv:label:ham': '2',
      'snap:records:train.csv:label:spam': '1',
    });
  });

  it('gives no record properties for a snapshot without record indexes', async () => {
    const p = props((await bomOf(['raw@v1'])).metadata.component);
    expect(Object.keys(p).filter((k) => k.startsWith('snap:record'))).toEqual([]);
  });

  it('records the derivation, description and a licence expression', async () => {
    const c = (await bomOf(['clean@v1'])).metadata.component;
    expect(c.description).toBe('deduplicated');
    expect(c.licenses).toEqual([{ expression: 'MIT OR Apache-2.0' }]);
    expect(props(c)['snap:derivedFrom']).toBe(`raw@v1 ${sealed['raw@v1']!.snapshot}`);
  });

  it('gives each source URI as signed: brackets of an IPv6 host and an apostrophe are reserved characters, not percent-encoded (which makes another URI); only characters no URI may hold are', async () => {
    const signed = ['http://[2001:db8::1]:8443/dump.csv', "https://vendor.example/it's.csv?part=[1]", 'https://vendor.example/a{b}<c>"d'];
    await seal({ 'v6.csv': '1\n' }, 'v6@v1', signed.flatMap((uri) => ['--source', uri]));
    const c = (await bomOf(['v6@v1'])).metadata.component;
    expect(c.externalReferences.map((x: { url: string }) => x.url)).toEqual(['http://[2001:db8::1]:8443/dump.csv', "https://vendor.example/it's.csv?part=[1]", 'https://vendor.example/a%7Bb%7D%3Cc%3E%22d']);
  });

  it('percent-encodes every character no URI or IRI may hold (RFC 3986 §2, RFC 3987 §4.1): | \\ ^ ` and a bidirectional control, as UTF-8; a % that begins no percent-encoding is %25', async () => {
    const signed = ['https://vendor.example/a|b\\c^d`e', 'https://vendor.example/100%zz%41', 'urn:vendor:\u202eexe.txt'];
    await seal({ 'odd.csv': '1\n' }, 'odd-uri@v1', signed.flatMap((uri) => ['--source', uri]));
    const c = (await bomOf(['odd-uri@v1'])).metadata.component;
    expect(c.externalReferences.map((x: { url: string }) => x.url)).toEqual(['https://vendor.example/a%7Cb%5Cc%5Ed%60e', 'https://vendor.example/100%25zz%41', 'urn:vendor:%E2%80%AEexe.txt']);
  });

  it('gives a licence as an SPDX expression only when it is one (ids the SPDX list holds or LicenseRef-, joined by AND, OR, WITH and parentheses); other text is a named licence', async () => {
    const cases: [string, unknown][] = [
      ['Apache-2.0 AND (MIT OR GPL-2.0-only WITH Classpath-exception-2.0)', [{ expression: 'Apache-2.0 AND (MIT OR GPL-2.0-only WITH Classpath-exception-2.0)' }]],
      ['LicenseRef-vendor-terms', [{ expression: 'LicenseRef-vendor-terms' }]],
      ['MIT AND (', [{ license: { name: 'MIT AND (' } }]],
      ['MIT OR', [{ license: { name: 'MIT OR' } }]],
      ['Vendor AND Terms', [{ license: { name: 'Vendor AND Terms' } }]],
      ['MIT', [{ license: { id: 'MIT' } }]],
    ];
    for (const [i, [license, expected]] of cases.entries()) {
      await seal({ [`l${i}.csv`]: `${i}\n` }, `lic${i}@v1`, ['--license', license]);
      expect([license, (await bomOf([`lic${i}@v1`])).metadata.component.licenses]).toEqual([license, expected]);
    }
  });

  it('verifies the signatures first with --pubkey', async () => {
    const c = (await bomOf(['raw@v1', '--pubkey', dataKey.pub])).metadata.component;
    expect(props(c)['snap:signaturesVerified']).toBe('true');
  });

  it('with --pubkey, names as snap:signer only the keys whose signatures verified: a signature planted in the store under another keyid is not a signer', async () => {
    await seal({ 'planted.csv': 'p\n' }, 'planted@v1', []);
    const envelope = join(store, 'snapshots', 'planted', 'v1', 'envelope.json');
    const claimed = 'c'.repeat(64);
    await tamper(envelope, (text) => {
      const env = JSON.parse(text);
      env.signatures.push({ keyid: claimed, sig: Buffer.alloc(64, 7).toString('base64') });
      return JSON.stringify(env);
    });
    const c = (await bomOf(['planted@v1', '--pubkey', dataKey.pub])).metadata.component;
    const signers = c.properties.filter((p: { name: string }) => p.name === 'snap:signer').map((p: { value: string }) => p.value);
    expect(props(c)['snap:signaturesVerified']).toBe('true');
    expect(signers).toEqual([dataKey.keyid]);
    // Without --pubkey nothing is verified: every signature's claimed keyid is listed, and the BOM says so.
    const unverified = (await bomOf(['planted@v1'])).metadata.component;
    expect(unverified.properties.filter((p: { name: string }) => p.name === 'snap:signer').map((p: { value: string }) => p.value)).toEqual([dataKey.keyid, claimed]);
    expect(props(unverified)['snap:signaturesVerified']).toBe('false');
  });

  it('writes the BOM to standard output without -o, and of an archive', async () => {
    const r = await snap(['bom', 'raw@v1', '--store', store]);
    expect(r.code).toBe(0);
    expect(await schemaErrors(r.stdout)).toBeNull();
    const file = join(work, 'raw@v1.snap.tar');
    expect((await snap(['export', 'raw@v1', '-o', file, '--store', store])).code).toBe(0);
    const fromArchive = await snap(['bom', file, '--store', store]);
    expect(fromArchive.code).toBe(0);
    expect(await schemaErrors(fromArchive.stdout)).toBeNull();
  });

  it('says on stderr that nothing was verified when it writes an unverified BOM to standard output, as it does with -o: its snap:signer keyids are claims anyone who can write the store can make', async () => {
    const r = await snap(['bom', 'raw@v1', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: signatures not verified: snap:signer names the keyids the envelopes claim; add --pubkey to verify them first/m);
    const verified = await snap(['bom', 'raw@v1', '--pubkey', dataKey.pub, '--store', store]);
    expect(verified.code).toBe(0);
    expect(verified.stderr).toBe('');
  });

  it('takes --quiet, as every command that writes notes (README: "--quiet (no progress, no notes)"): the same BOM, no note', async () => {
    const r = await snap(['bom', 'raw@v1', '--quiet', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(await schemaErrors(r.stdout)).toBeNull();
  });
});

describe('snap bom --model', () => {
  it('describes the model, its artifacts and its training datasets', async () => {
    const bom = await bomOf(['--model', 'clf@1']);
    const m = bom.metadata.component;
    expect(m).toMatchObject({ type: 'machine-learning-model', name: 'clf', version: '1' });
    expect(m.components.map((f: { name: string; type: string }) => [f.type, f.name])).toEqual([['file', 'weights.bin'], ['file', 'config.json']]);
    const refs = [sealed['clean@v1']!.snapshot, sealed['raw@v1']!.snapshot].map((id) => `snapshot:${id}`);
    expect(m.modelCard.modelParameters.datasets).toEqual(refs.map((ref) => ({ ref })));
    expect(bom.components.map((c: { 'bom-ref': string; type: string; data: unknown[] }) => [c['bom-ref'], c.type, (c.data[0] as { type: string }).type])).toEqual(refs.map((r) => [r, 'data', 'dataset']));
    expect(bom.dependencies.find((d: { ref: string }) => d.ref === m['bom-ref']).dependsOn.sort()).toEqual([...refs].sort());
    expect(props(m)['snap:training:command']).toBe('python train.py');
  });

  it('says what --model takes when given a model file (REF_MALFORMED, exit 2) or a name with no attestation (REF_NOT_FOUND, exit 3): the name snap attest printed, which verify-model finds from the files', async () => {
    const file = await snapJson(['bom', '--model', 'weights.bin', '--store', store], { cwd: work });
    expect(file.code).toBe(2);
    expect(file.json.error.code).toBe('REF_MALFORMED');
    expect(file.json.error.message).toMatch(/^--model takes the MODEL@VERSION of an attestation \(as snap attest printed it; snap verify-model FILE… names the attestations of a model's files\): "weights\.bin" is not NAME@VERSION/);
    const none = await snapJson(['bom', '--model', 'clf@9', '--store', store], { cwd: work });
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('REF_NOT_FOUND');
    expect(none.json.error.message).toMatch(/^no attestation clf@9 in .*; clf has 1 attestation: 1 \(snap verify-model FILE… names the attestations of a model's files\)$/);
  });

  it('verifies the attestation and every training snapshot with --pubkey', async () => {
    const bom = await bomOf(['--model', 'clf@1', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub]);
    expect(props(bom.metadata.component)['snap:signaturesVerified']).toBe('true');
    for (const c of bom.components) expect(props(c)['snap:signaturesVerified']).toBe('true');
  });

  it('with --pubkey, names as the model\'s snap:signer only the keys whose signatures on the attestation verified', async () => {
    await fsp.writeFile(join(work, 'planted.bin'), 'P');
    const a = await snapJson(['attest', 'planted.bin', '--data', 'raw@v1', '--key', mlKey.key, '--as', 'planted-clf@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    await tamper(join(store, 'attestations', 'planted-clf', '1', 'envelope.json'), (text) => {
      const env = JSON.parse(text);
      env.signatures.push({ keyid: dataKey.keyid, sig: Buffer.alloc(64, 7).toString('base64') });
      return JSON.stringify(env);
    });
    const m = (await bomOf(['--model', 'planted-clf@1', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub])).metadata.component;
    expect(props(m)['snap:signaturesVerified']).toBe('true');
    expect(m.properties.filter((p: { name: string }) => p.name === 'snap:signer').map((p: { value: string }) => p.value)).toEqual([mlKey.keyid]);
  });

  it('exits 1 (SIGNATURE_INVALID) and writes nothing when a training snapshot is not trusted', async () => {
    const out = join(work, 'untrusted.cdx.json');
    const r = await snapJson(['bom', '--model', 'clf@1', '--pubkey', mlKey.pub, '-o', out, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(r.json.failure.message).toMatch(/^training snapshot clean@v1 \(sha256:[0-9a-f]{64}\): no signature verifies/);
    expect(existsSync(out)).toBe(false);
    const human = await snap(['bom', '--model', 'clf@1', '--pubkey', mlKey.pub, '-o', out, '--store', store]);
    expect(human.stderr).toMatch(/^snap bom: not written: training snapshot clean@v1 \(sha256:/);
  });

  it('exits 1 (SNAPSHOT_REVOKED) and writes nothing with --pubkey when a trusted key revoked a training snapshot, as verify-model does', async () => {
    await seal({ 'poisoned.csv': 'p\n' }, 'poisoned@v1', []);
    await fsp.writeFile(join(work, 'revoked.bin'), 'R');
    const a = await snapJson(['attest', 'revoked.bin', '--data', 'poisoned@v1', '--key', mlKey.key, '--as', 'revoked-clf@1', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const v = await snapJson(['revoke', 'poisoned@v1', '--reason', 'labels flipped', '--key', dataKey.key, '--store', store]);
    expect(v.code, v.stderr).toBe(0);
    const gate = await snapJson(['verify-model', 'revoked.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work });
    expect([gate.code, gate.json.failure.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
    for (const [args, out] of [[['--model', 'revoked-clf@1', '--pubkey', mlKey.pub], join(work, 'revoked-model.cdx.json')], [['poisoned@v1'], join(work, 'revoked-data.cdx.json')]] as const) {
      const r = await snapJson(['bom', ...args, '--pubkey', dataKey.pub, '-o', out, '--store', store]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.failure.code).toBe('SNAPSHOT_REVOKED');
      expect(existsSync(out)).toBe(false);
    }
    // Without keys nothing is verified, and the BOM says so.
    const unverified = await bomOf(['poisoned@v1']);
    expect(props(unverified.metadata.component)['snap:signaturesVerified']).toBe('false');
  });

  it('still exits 1 (SNAPSHOT_REVOKED) with --pubkey on a machine that saw the revocation once the store has lost it, as verify-model does', async () => {
    const state = await tempDir('snap-state-');
    const env = { SNAP_STATE_DIR: state };
    await seal({ 'poisoned.csv': 'p2\n' }, 'poisoned@v2', []);
    await fsp.writeFile(join(work, 'revoked2.bin'), 'R2');
    const a = await snapJson(['attest', 'revoked2.bin', '--data', 'poisoned@v2', '--key', mlKey.key, '--as', 'revoked-clf@2', '--store', store], { cwd: work });
    expect(a.code, a.stderr).toBe(0);
    const v = await snapJson(['revoke', 'poisoned@v2', '--reason', 'labels flipped', '--key', dataKey.key, '--store', store]);
    expect(v.code, v.stderr).toBe(0);
    // This machine sees the revocation count once (verify-model keeps it in the trusted state).
    const gate = await snapJson(['verify-model', 'revoked2.bin', '--pubkey', mlKey.pub, '--pubkey', dataKey.pub, '--store', store], { cwd: work, env });
    expect([gate.code, gate.json.failure.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
    // Someone with write access to the store, and no key, removes the revocation.
    await fsp.rm(join(store, 'revocations', v.json.snapshot.slice(7)), { recursive: true, force: true });
    for (const [args, out] of [[['--model', 'revoked-clf@2', '--pubkey', mlKey.pub], join(work, 'revoked2-model.cdx.json')], [['poisoned@v2'], join(work, 'revoked2-data.cdx.json')]] as const) {
      const r = await snapJson(['bom', ...args, '--pubkey', dataKey.pub, '-o', out, '--store', store], { env });
      expect([r.code, r.json?.failure?.code]).toEqual([1, 'SNAPSHOT_REVOKED']);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe('snap bom refuses bad arguments', () => {
  it('exits 2 (USAGE) with neither or both of REF and --model', async () => {
    for (const args of [[], ['raw@v1', '--model', 'clf@1']]) {
      const r = await snapJson(['bom', ...args, '--store', store]);
      expect(r.code).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
    }
  });

  it('exits 3 (REF_NOT_FOUND) for an unknown model and (FILE_EXISTS) for an existing -o file', async () => {
    const none = await snapJson(['bom', '--model', 'nothing@1', '--store', store]);
    expect(none.code).toBe(3);
    expect(none.json.error.code).toBe('REF_NOT_FOUND');
    const out = join(work, 'exists.json');
    await fsp.writeFile(out, 'keep');
    const r = await snapJson(['bom', 'raw@v1', '-o', out, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(out, 'utf8')).toBe('keep');
  });
});

describe('the CycloneDX 1.6 validator', () => {
  it('rejects a broken BOM: a component type and a data type outside the schema, a malformed hash', async () => {
    const good = await bomOf(['raw@v1']);
    for (const breakIt of [
      (b: any) => (b.metadata.component.type = 'dataset'),
      (b: any) => (b.metadata.component.data[0].type = 'spreadsheet'),
      (b: any) => (b.metadata.component.hashes[0].content = 'not hex'),
      (b: any) => (b.metadata.component.unknownMember = true),
    ]) {
      const broken = JSON.parse(JSON.stringify(good));
      breakIt(broken);
      expect(await schemaErrors(broken)).not.toBeNull();
    }
  });
});
