/**
 * Reading from an S3 store without copying the store (docs/FORMAT.md §23.5), against moto_server
 * (started here; never skipped): restore, export and prove fetch only the objects of the snapshot
 * they name, fsck re-hashes every object as it streams and copies none, and a tampered, missing or
 * extra object gets the same verdicts and exit codes as on a local store. The provenance and
 * record commands (revoke, attest, verify-model, bom, check, report) give the same results on
 * either store. Transfers are counted by the session (`--debug` prints them), never timed.
 */
import { promises as fsp, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { makeTree, snap, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { TRAIN_CSV } from '../helpers/records-example.js';
import { clientFor, comparable, newBucket } from './s3-fixture.js';
import { checkStagingRoom, type SessionStats } from '../../src/store/remote-session.js';

const server = useS3Server('moto');
const kp = useKeyPair('s3read');
const ml = useKeyPair('s3read-ml');
const mallory = useKeyPair('s3read-mallory');
const bystander = useKeyPair('s3read-bystander');
const env = (): Record<string, string> => ({ ...server.env, NODE_NO_WARNINGS: '1' });
const run = (args: string[], cwd?: string) => snapJson(args, { env: env(), ...(cwd ? { cwd } : {}) });
/** The command succeeded (its output shown when it did not). */
const expectOk = (r: { code: number; stdout: string; stderr: string }): void => expect(r.code, r.stdout + r.stderr).toBe(0);
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** The transfer counts a `--debug` run on an S3 store prints on stderr. */
function transfer(stderr: string): SessionStats {
  const m = /S3 transfer (\{.*\})\n/.exec(stderr);
  if (!m) throw new Error(`no transfer line in:\n${stderr}`);
  return JSON.parse(m[1] as string) as SessionStats;
}

/** Every file under `root` (relative path → bytes), or nothing when it does not exist. */
async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (!existsSync(root)) return out;
  for (const e of await fsp.readdir(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out.set(p.slice(root.length + 1), await fsp.readFile(p));
    }
  }
  return out;
}

/**
 * What must be the same on both stores: `comparable` (s3-fixture.ts), with the store's location,
 * times, and the ids of signed files made at different times (revocations, attestations) left out.
 */
function same(v: unknown, store: string): unknown {
  const text = JSON.stringify(comparable(v) ?? null)
    .split(store)
    .join('STORE')
    .replace(/\d{4}-\d\d-\d\dT\d\d(?::|\\\\:)\d\d(?::|\\\\:)\d\d(?:\.\d+)?Z/g, 'TIME')
    .replace(/sha256(?::|\\\\:)[0-9a-f]{64}/g, 'ID')
    .replace(/(revocations|attestations)\/([^"]*?)\.json/g, '$1/….json');
  const drop = new Set(['revocation', 'attestation', 'source']);
  const strip = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(strip) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).filter(([k]) => !drop.has(k)).map(([k, y]) => [k, strip(y)])) : x;
  return strip(JSON.parse(text));
}

/** A local store path and an S3 store URL in a fresh bucket. */
async function twoStores(): Promise<{ local: string; s3: string; bucket: string }> {
  const bucket = await newBucket(clientFor(server), 'versioned');
  return { local: join(await tempDir('snap-s3read-local-'), 'store'), s3: `s3://${bucket}/st`, bucket };
}

const DS = { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'copy-of-a.txt': 'alpha\n', 'sub/big.bin': Buffer.alloc(300_000, 9) };
const OTHER = { 'x1.txt': 'x1\n', 'x2.txt': 'x2\n', 'x3.txt': 'x3\n', 'x4.txt': 'x4\n', 'x5.bin': Buffer.alloc(100_000, 5) };

// One retry: once in four runs beside other heavy test files, one of these failed under load and passed on its own (cause not found; see issue 13's note).
describe('reading from an S3 store (moto) without copying the store', { retry: 1 }, () => {
  it('restore and export of one snapshot pull only its objects; prove and verify pull none; fsck streams every object and stores none', async () => {
    const { s3 } = await twoStores();
    const ds = await makeTree(DS);
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', s3]));
    expectOk(await run(['seal', await makeTree(OTHER), '--as', 'other@v1', '--key', kp.key, '--store', s3]));
    const work = await tempDir('snap-s3read-');

    // ds@v1 has 3 distinct contents (a.txt and copy-of-a.txt share one) of the store's 8.
    const r = await run(['restore', 'ds@v1', join(work, 'out'), '--pubkey', kp.pub, '--store', s3, '--debug']);
    expect(r.code, r.stderr).toBe(0);
    expect(transfer(r.stderr)).toMatchObject({ objectsPulled: 3, bytesPulled: 6 + 6 + 300_000, objectsStreamed: 0, objectsCorrupt: [] });
    expect([...(await filesUnder(join(work, 'out'))).keys()].sort()).toEqual(Object.keys(DS).sort());

    const e = await run(['export', 'ds@v1', '--out', join(work, 'ds.snap.tar'), '--store', s3, '--debug']);
    expect(e.code, e.stderr).toBe(0);
    expect(transfer(e.stderr)).toMatchObject({ objectsPulled: 3, objectsStreamed: 0 });

    const p = await run(['prove', 'ds@v1', 'a.txt', '-o', join(work, 'a.proof.json'), '--store', s3, '--debug']);
    expect(p.code, p.stderr).toBe(0);
    expect(transfer(p.stderr)).toMatchObject({ objectsPulled: 0 });

    const v = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', s3, '--debug']);
    expect(v.code, v.stderr).toBe(0);
    expect(transfer(v.stderr)).toMatchObject({ objectsPulled: 0 });

    const f = await run(['fsck', '--store', s3, '--debug']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.json.counts).toMatchObject({ objects: 8, bytes: 6 + 6 + 300_000 + 4 * 3 + 100_000, corrupt: 0, missingObjects: 0 });
    expect(transfer(f.stderr)).toMatchObject({ objectsPulled: 0, bytesPulled: 0, objectsStreamed: 8, bytesStreamed: 6 + 6 + 300_000 + 4 * 3 + 100_000 });
  }, 180_000);

  it('a tampered, a missing and an extra object in the bucket get the same verdicts and exit codes as on a local store, and restore writes no tampered byte', async () => {
    const { local, s3, bucket } = await twoStores();
    const c = clientFor(server);
    const ds = await makeTree(DS);
    const alpha = sha('alpha\n');
    const bravo = sha('bravo\n');
    const extra = Buffer.from('not in any snapshot\n');
    const results: Record<string, unknown[]> = {};
    for (const store of [local, s3]) {
      expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
      // An attacker with write access to the store but no key: alpha's bytes replaced, bravo deleted, an object added.
      if (store === local) {
        const obj = (h: string): string => join(local, 'objects', 'sha256', h.slice(0, 2), h.slice(2));
        await fsp.chmod(obj(alpha), 0o644);
        await fsp.writeFile(obj(alpha), 'ALPHA\n');
        await fsp.rm(obj(bravo));
        await fsp.mkdir(join(obj(sha(extra)), '..'), { recursive: true });
        await fsp.writeFile(obj(sha(extra)), extra);
        await fsp.mkdir(join(local, 'objects', 'sha256', 'ab'), { recursive: true });
        await fsp.writeFile(join(local, 'objects', 'sha256', 'ab', 'not-an-object'), 'x');
      } else {
        const key = (h: string): string => `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`;
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: key(alpha), Body: 'ALPHA\n' }));
        await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(bravo) }));
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: key(sha(extra)), Body: extra }));
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'st/objects/sha256/ab/not-an-object', Body: 'x' }));
      }
      const work = await tempDir('snap-s3read-');
      const out: unknown[] = [];
      const step = async (args: string[]): Promise<void> => {
        const r = await run([...args, '--store', store]);
        out.push({ step: args[0], code: r.code, json: comparable(r.json) });
      };
      await step(['fsck']);
      await step(['restore', 'ds@v1', join(work, 'out'), '--pubkey', kp.pub]);
      await step(['export', 'ds@v1', '--out', join(work, 'ds.snap.tar')]);
      await step(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub]);
      // Whatever restore left, it holds no byte the signer did not sign.
      for (const [path, bytes] of await filesUnder(join(work, 'out'))) expect(bytes.toString(), path).not.toContain('ALPHA');
      expect(existsSync(join(work, 'ds.snap.tar'))).toBe(false);
      results[store === local ? 'local' : 's3'] = out;
    }
    expect(results.s3).toEqual(results.local);
    expect((results.local as { code: number }[]).map((s) => s.code)).toEqual([1, expect.any(Number), expect.any(Number), 0]);
    const fsckJson = (results.s3 as { json: { objects: { corrupt: { name: string }[] }; missingObjects: { sha256: string }[]; counts: { objects: number } } }[])[0]?.json;
    expect(fsckJson?.objects.corrupt.map((o) => o.name)).toEqual([alpha]);
    expect(fsckJson?.missingObjects.map((o) => o.sha256)).toEqual([bravo]);
    expect(fsckJson?.counts.objects).toBe(3); // alpha (corrupt), big.bin and the extra one
    expect((fsckJson as unknown as { strays: string[] }).strays).toEqual(['objects/sha256/ab/not-an-object']);
    expect((results.s3 as { code: number }[])[1]?.code).not.toBe(0);
  }, 180_000);

  it('revoke, attest, verify-model, bom, check and report give the same results on an S3 store as on a local store', async () => {
    const { local, s3 } = await twoStores();
    const results: Record<string, unknown[]> = {};
    const data = await makeTree({ 'train.csv': TRAIN_CSV, 'notes.txt': 'n\n' });
    const work = await tempDir('snap-s3read-');
    await fsp.writeFile(join(work, 'weights.bin'), 'WEIGHTS');
    for (const store of [local, s3]) {
      await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV);
      for (const f of ['incident.md', 'ds.cdx.json', 'clf.cdx.json']) await fsp.rm(join(work, f), { force: true });
      // Each store's runs with a trusted state of their own, new in each attempt: the revocation the
      // local runs remember must not reach the S3 runs (nor a retry's).
      const stateEnv = { ...env(), SNAP_STATE_DIR: await tempDir('snap-s3read-state-') };
      const out: unknown[] = [];
      const step = async (args: string[]): Promise<void> => {
        const r = await snapJson([...args, '--store', store], { env: stateEnv, cwd: work });
        out.push({ step: args[0], code: r.code, json: same(r.json, store) });
      };
      const rule = ['--records', 'train.csv key=id label=label'];
      await step(['seal', data, '--as', 'ds@v1', '--key', kp.key, ...rule]);
      await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV.replace('1,win money now,spam', '1,win money now,ham'));
      await step(['seal', data, '--as', 'ds@v2', '--key', kp.key, ...rule]);
      await step(['check', data, '--against', 'ds@v1', '--pubkey', kp.pub]);
      await step(['check', 'ds@v2', '--against', 'ds@v1', '--pubkey', kp.pub]);
      await step(['diff', 'ds@v1', 'ds@v2']);
      const md = await snap(['report', 'ds@v1', 'ds@v2', '--pubkey', kp.pub, '-o', join(work, 'incident.md'), '--store', store], { env: stateEnv, cwd: work });
      out.push({ step: 'report', code: md.code, md: same((await fsp.readFile(join(work, 'incident.md'), 'utf8')).split('\n'), store) });
      await step(['attest', 'weights.bin', '--data', 'ds@v1', '--key', ml.key, '--as', 'clf@1.0']);
      await step(['verify-model', 'weights.bin', '--pubkey', ml.pub, '--data-pubkey', kp.pub]);
      await step(['bom', 'ds@v1', '-o', join(work, 'ds.cdx.json')]);
      await step(['bom', '--model', 'clf@1.0', '-o', join(work, 'clf.cdx.json')]);
      await step(['revoke', 'ds@v1', '--reason', 'labels poisoned', '--key', kp.key]);
      await step(['verify', data, '--against', 'ds@v1', '--pubkey', kp.pub]);
      await step(['list']);
      results[store === local ? 'local' : 's3'] = out;
    }
    expect(results.s3).toEqual(results.local);
    const codes = (results.local as { step: string; code: number }[]).map((s) => `${s.step} ${s.code}`);
    // check and diff see the flipped label; the revoked snapshot fails verify.
    expect(codes).toEqual(['seal 0', 'seal 0', 'check 1', 'check 1', 'diff 1', 'report 1', 'attest 0', expect.stringMatching(/^verify-model /), 'bom 0', 'bom 0', 'revoke 0', 'verify 1', 'list 0']);
  }, 240_000);
  it("check and diff read a snapshot's signed snap.json (its thresholds and rules) from an S3 store as from a local one: a flip its strict maxShift forbids fails check, not INTEGRITY_FAILURE", async () => {
    const { local, s3 } = await twoStores();
    const results: Record<string, unknown[]> = {};
    const config = JSON.stringify({ records: [{ pattern: '*.csv', key: ['id'], label: 'label' }], check: { maxShift: 0.001 } });
    for (const store of [local, s3]) {
      const data = await makeTree({ 'snap.json': config, 'train.csv': TRAIN_CSV });
      const out: unknown[] = [];
      const step = async (args: string[]): Promise<void> => {
        const r = await snapJson([...args, '--store', store], { env: env() });
        out.push({ step: args[0], code: r.code, error: r.json?.error?.code, breaches: (r.json?.breaches ?? []).map((b: { rule: string }) => b.rule), unavailable: (r.json?.records?.unavailable ?? []).map((u: { name: string }) => u.name) });
      };
      await step(['seal', data, '--as', 'ds@v1', '--key', kp.key]);
      await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV.replace('1,win money now,spam', '1,win money now,ham'));
      await fsp.writeFile(join(data, 'extra.csv'), 'id,text,label\n1,x,spam\n');
      await fsp.writeFile(join(data, 'snap.json'), JSON.stringify({ records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }] }));
      await step(['check', data, '--against', 'ds@v1', '--pubkey', kp.pub, '--max-label-changes', '1']);
      await step(['seal', data, '--as', 'ds@v2', '--key', kp.key]);
      await step(['diff', 'ds@v1', 'ds@v2']);
      results[store === local ? 'local' : 's3'] = out;
    }
    expect(results.s3).toEqual(results.local);
    expect(results.local).toEqual([
      expect.objectContaining({ step: 'seal', code: 0 }),
      expect.objectContaining({ step: 'check', code: 1, breaches: expect.arrayContaining(['maxShift']) }),
      expect.objectContaining({ step: 'seal', code: 0 }),
      expect.objectContaining({ step: 'diff', code: 1, unavailable: ['extra.csv'] }),
    ]);
  }, 240_000);
  it('sign co-signs a committed snapshot in an S3 store by a write-once co-signature file, as on a local store; one written over or removed is still read at its first version (versioned bucket), and said', async () => {
    const { local, s3, bucket } = await twoStores();
    const c = clientFor(server);
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    const both = ['--pubkey', kp.pub, '--pubkey', ml.pub, '--threshold', '2'];
    const results: Record<string, unknown[]> = {};
    for (const store of [local, s3]) {
      const out: unknown[] = [];
      const step = async (args: string[]): Promise<void> => {
        const r = await run([...args, '--store', store]);
        out.push({ step: args[0], code: r.code, json: same(r.json, store) });
      };
      await step(['seal', ds, '--as', 'ds@v1', '--key', kp.key]);
      await step(['verify', ds, '--against', 'ds@v1', ...both]);
      await step(['sign', 'ds@v1', '--key', ml.key]);
      await step(['sign', 'ds@v1', '--key', ml.key]);
      await step(['verify', ds, '--against', 'ds@v1', ...both]);
      const tar = join(await tempDir('snap-s3read-'), 'ds.snap.tar');
      await step(['export', 'ds@v1', '--out', tar]);
      const v = await run(['verify', tar, ...both]);
      out.push({ step: 'verify archive', code: v.code });
      results[store === local ? 'local' : 's3'] = out;
    }
    expect(results.s3).toEqual(results.local);
    expect((results.s3 as { code: number }[]).map((x) => x.code)).toEqual([0, 1, 0, 0, 0, 0, 0]);

    // One co-signature file; the committed envelope and commit object are as sealed.
    const keys = async (prefix: string): Promise<string[]> => ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
    const cosigs = await keys('st/signatures/ds/v1/');
    expect(cosigs).toHaveLength(1);
    const cosig = cosigs[0] as string;
    const bytes = Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key: cosig }))).Body!.transformToByteArray());
    expect(cosig).toBe(`st/signatures/ds/v1/${sha(bytes)}.json`);

    // An attacker's co-signature file over another payload, signed by their own key: ignored, said.
    const env = JSON.parse(bytes.toString()) as { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
    const forged = Buffer.from(JSON.stringify({ ...env, payload: Buffer.from('{"other":1}').toString('base64') }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/signatures/ds/v1/${sha(forged)}.json`, Body: forged }));
    // (A third trusted key that never signed makes the reader read every co-signature file: with
    // only the two that signed, it may stop at the genuine file before it reaches this one.)
    const noted = await run(['verify', ds, '--against', 'ds@v1', ...both, '--pubkey', mallory.pub, '--store', s3]);
    expect(noted.code).toBe(0);
    expect(noted.stderr).toContain('signs another payload');
    expect((await run(['verify', ds, '--against', 'ds@v1', ...both, '--store', s3])).code).toBe(0);
    // Its bytes changed under its name (a new version of the key): the first version is still read,
    // and the threshold of 2 still met; said. (A plain bucket: s3-cosign-tamper-moto.test.ts.)
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: cosig, Body: Buffer.concat([bytes, Buffer.from(' ')]) }));
    const spoiled = await run(['verify', ds, '--against', 'ds@v1', ...both, '--store', s3]);
    expect(spoiled.code).toBe(0);
    expect(spoiled.stderr).toContain('was written over in the bucket after it was written: its first version is read');
    // Removed (a delete marker): the same.
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: cosig }));
    const removed = await run(['verify', ds, '--against', 'ds@v1', ...both, '--store', s3]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('was deleted in the bucket after it was written: its first version is read');
    // Mallory's own signature over the right payload adds a signature that no trusted key made: a
    // threshold of 3 over the two that signed and a third trusted key (mallory's is not) is unmet.
    expectOk(await run(['sign', 'ds@v1', '--key', mallory.key, '--store', s3]));
    const three = await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--pubkey', ml.pub, '--pubkey', bystander.pub, '--threshold', '3', '--store', s3]);
    expect(three.code).toBe(1);
    const trusted = (three.json.signers as { keyid: string; trusted: boolean }[]).filter((g) => g.trusted).map((g) => g.keyid);
    expect(trusted.sort()).toEqual([kp.keyid, ml.keyid].sort());
  }, 180_000);
  it('fsck --repair-from puts back a tampered and a missing object of an S3 store from an archive, as on a local store; restore then gives the sealed bytes', async () => {
    const { local, s3, bucket } = await twoStores();
    const c = clientFor(server);
    const ds = await makeTree(DS);
    const alpha = sha('alpha\n');
    const bravo = sha('bravo\n');
    const results: Record<string, unknown[]> = {};
    for (const store of [local, s3]) {
      const work = await tempDir('snap-s3read-');
      const tar = join(work, 'ds.snap.tar');
      expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', store]));
      expectOk(await run(['export', 'ds@v1', '--out', tar, '--store', store]));
      if (store === local) {
        const obj = (h: string): string => join(local, 'objects', 'sha256', h.slice(0, 2), h.slice(2));
        await fsp.chmod(obj(alpha), 0o644);
        await fsp.writeFile(obj(alpha), 'ALPHA\n');
        await fsp.rm(obj(bravo));
      } else {
        const key = (h: string): string => `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`;
        await c.send(new PutObjectCommand({ Bucket: bucket, Key: key(alpha), Body: 'ALPHA\n' }));
        await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(bravo) }));
      }
      const out: unknown[] = [];
      const repair = await run(['fsck', '--repair-from', tar, '--store', store, '--debug']);
      out.push({ step: 'repair', code: repair.code, json: same(repair.json, store) });
      if (store === s3) expect(transfer(repair.stderr)).toMatchObject({ objectsRepaired: 2, objectsPulled: 0 });
      const f = await run(['fsck', '--store', store]);
      out.push({ step: 'fsck', code: f.code, json: same(f.json, store) });
      const r = await run(['restore', 'ds@v1', join(work, 'out'), '--pubkey', kp.pub, '--store', store]);
      out.push({ step: 'restore', code: r.code });
      expect((await fsp.readFile(join(work, 'out', 'a.txt'))).toString()).toBe('alpha\n');
      expect((await fsp.readFile(join(work, 'out', 'b.txt'))).toString()).toBe('bravo\n');
      results[store === local ? 'local' : 's3'] = out;
    }
    expect(results.s3).toEqual(results.local);
    expect((results.s3 as { code: number }[]).map((x) => x.code)).toEqual([0, 0, 0]);
    const rep = (results.s3 as { json: { repair: { repaired: { sha256: string; was: string }[] } } }[])[0]?.json.repair;
    expect(rep?.repaired.map((o) => [o.sha256, o.was]).sort()).toEqual([[alpha, 'corrupt'], [bravo, 'missing']].sort());
  }, 180_000);
  it('import into an S3 store keeps an object the bucket holds with the member\'s size, as seal does (it reads no object of the bucket): fsck fails on it, and fsck --repair-from FILE puts it back', async () => {
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    const store = `s3://${bucket}/st`;
    const work = await tempDir('snap-s3read-');
    const local = join(work, 'local');
    const tar = join(work, 'ds@v1.snap.tar');
    expectOk(await run(['seal', await makeTree({ 'a.txt': 'alpha\n' }), '--as', 'ds@v1', '--key', kp.key, '--store', local]));
    expectOk(await run(['export', 'ds@v1', '-o', tar, '--store', local]));
    const alpha = sha('alpha\n');
    // Planted by someone who can write the bucket, with the size of the real bytes.
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `st/objects/sha256/${alpha.slice(0, 2)}/${alpha.slice(2)}`, Body: 'ALPHA\n' }));
    const i = await run(['import', tar, '--pubkey', kp.pub, '--store', store]);
    expect([i.code, i.json.mendedObjects]).toEqual([0, []]);
    const f = await run(['fsck', '--store', store]);
    expect(f.code).toBe(1);
    expectOk(await run(['fsck', '--repair-from', tar, '--store', store]));
    const out = join(work, 'out');
    expectOk(await run(['restore', 'ds@v1', out, '--pubkey', kp.pub, '--store', store]));
    expect(await fsp.readFile(join(out, 'a.txt'), 'utf8')).toBe('alpha\n');
  }, 120_000);

  it('fsck reports the staged files no commit names as leftovers, and fsck --clean removes those of a lost commit, never a committed snapshot\'s files or an object', async () => {
    const { s3, bucket } = await twoStores();
    const c = clientFor(server);
    const ds = await makeTree({ 'a.txt': 'alpha\n' });
    expectOk(await run(['seal', ds, '--as', 'ds@v1', '--key', kp.key, '--store', s3]));
    const keys = async (prefix: string): Promise<string[]> => ((await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string).sort();
    const before = { snapshots: await keys('st/snapshots/'), objects: await keys('st/objects/') };
    // What a sealer that lost the commit of ds@v1 left, and a seal of ds@v9 stopped just before its commit.
    const lost = `st/snapshots/ds/v1/staged/${'a'.repeat(32)}/manifest.jsonl`;
    const stopped = `st/snapshots/ds/v9/staged/${'b'.repeat(32)}/statement.json`;
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: lost, Body: 'lost\n' }));
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: stopped, Body: '{}' }));
    const f = await run(['fsck', '--store', s3]);
    expect(f.code, f.stderr).toBe(0); // warnings, not failures
    expect(f.json.leftovers.map((l: { kind: string; path: string; removable: boolean }) => [l.kind, l.path, l.removable])).toEqual([
      ['staged', `snapshots/ds/v1/staged/${'a'.repeat(32)}/`, true],
      ['staged', `snapshots/ds/v9/staged/${'b'.repeat(32)}/`, false], // too young: its seal could still commit
    ]);
    expect(f.json.clean).toBe(`snap fsck --clean --store ${s3}`);
    const cleaned = await run(['fsck', '--clean', '--store', s3]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.json.cleaned.removed.map((l: { path: string }) => l.path)).toEqual([`snapshots/ds/v1/staged/${'a'.repeat(32)}/`]);
    expect(await keys('st/snapshots/')).toEqual([...before.snapshots, stopped].sort());
    expect(await keys('st/objects/')).toEqual(before.objects);
    expectOk(await run(['verify', ds, '--against', 'ds@v1', '--pubkey', kp.pub, '--store', s3]));
  }, 120_000);
  it('downloads no more of a record index or index summary planted in the bucket than the signed one can be, and diff calls it altered', async () => {
    const { s3, bucket } = await twoStores();
    const data = await makeTree({ 'train.csv': TRAIN_CSV });
    const rule = ['--records', 'train.csv key=id label=label'];
    expectOk(await run(['seal', data, '--as', 'ds@v1', '--key', kp.key, '--store', s3, ...rule]));
    await fsp.writeFile(join(data, 'train.csv'), TRAIN_CSV.replace('1,win money now,spam', '1,win money now,ham'));
    expectOk(await run(['seal', data, '--as', 'ds@v2', '--key', kp.key, '--store', s3, ...rule]));
    const shown = await run(['show', 'ds@v1', '--store', s3]);
    const index: { sha256: string; summary: string } = shown.json.statement.predicate.records[0].index;
    const key = (h: string): string => `st/objects/sha256/${h.slice(0, 2)}/${h.slice(2)}`;
    const planted = 4 << 20; // the signed index has 3 lines: at most 3 × 16,384 bytes
    await clientFor(server).send(new PutObjectCommand({ Bucket: bucket, Key: key(index.sha256), Body: Buffer.alloc(planted, 0x61) }));
    const d = await run(['diff', 'ds@v1', 'ds@v2', '--store', s3, '--debug']);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stderr).toContain('OBJECT_CORRUPT');
    const t = transfer(d.stderr);
    expect(t.objectsCorrupt).toEqual([index.sha256]);
    // Both indexes, both summaries: the planted one cut at 3 × 16,384 + 1 bytes.
    expect(t.bytesPulled).toBeLessThan(3 * 16_384 + 1 + 64 * 1024);
  }, 180_000);

  it('staging refuses, before any download, more bytes than the working copy\'s disk has free (DISK_FULL)', async () => {
    const dir = await tempDir('snap-s3read-room-');
    await expect(checkStagingRoom(dir, 2 ** 60, 3)).rejects.toMatchObject({ code: 'DISK_FULL' });
    await expect(checkStagingRoom(dir, 1024, 1)).resolves.toBeUndefined();
  });
});
