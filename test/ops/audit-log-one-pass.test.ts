/**
 * `impact`, `verify-model` and `log --verify` read the audit log in one pass (the checkpoint check
 * shares the pass that reads the attest lines, or the chain), and a log planted by whoever can
 * write the store — millions of empty lines, no key needed — costs them about what its bytes cost,
 * not a minute: 10^7 empty lines (10 MB) took verify-model 86 s, impact 53 s and log --verify 92 s.
 * Their verdicts on such logs are checked here; what they cost is measured in docs/PERFORMANCE.md
 * (no timing in unit tests), and the work is checked by count: no line past the largest checkpoint
 * size asked for is hashed.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { attestRecords } from '../../src/provenance/attest-log.js';
import { LogRootsCollector, logRoots } from '../../src/trust/log-checkpoints.js';

const keys = useKeyPair();
/** Planted empty lines: 10^6, one tenth of what was measured. */
const PLANTED = 1_000_000;

let store: string;
let work: string;
let genuine: Buffer;
let head: Buffer;

/** A snap command in a process of its own: its exit code and --json output. */
function run(args: string[]): { code: number; json: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, cwd: work, env: { ...process.env, SNAP_STATE_DIR: join(work, 'state') } });
  return { code: r.status ?? -1, json: JSON.parse(r.stdout) };
}

/** The log as it was made, then `extra` appended (and log.head as it was made). */
async function plant(extra: Buffer): Promise<void> {
  await fsp.writeFile(join(store, 'log.jsonl'), Buffer.concat([genuine, extra]));
  await fsp.writeFile(join(store, 'log.head'), head);
}

beforeAll(async () => {
  store = await newStorePath();
  work = await tempDir('snap-log-one-pass-');
  const env = { SNAP_STATE_DIR: join(work, 'state') };
  expect((await snapJson(['seal', await makeTree({ 'a.csv': '1\n' }), '--as', 'data@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  await fsp.writeFile(join(work, 'm.bin'), 'weights');
  expect((await snapJson(['attest', 'm.bin', '--data', 'data@v1', '--key', keys.key, '--as', 'm@1', '--store', store], { cwd: work })).code).toBe(0);
  expect((await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', store], { env })).code).toBe(0);
  genuine = await fsp.readFile(join(store, 'log.jsonl'));
  head = await fsp.readFile(join(store, 'log.head'));
}, 60_000);

describe('a log planted with a million empty lines after its checkpoint', () => {
  it('leaves verify-model passing (exit 0: no line it could use was planted)', async () => {
    await plant(Buffer.alloc(PLANTED, 0x0a));
    const r = run(['verify-model', join(work, 'm.bin'), '--pubkey', keys.pub, '--store', store, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.auditLog).toMatchObject({ lines: genuine.toString().split('\n').length - 1 + PLANTED, checkpoints: { count: 1, problems: [] } });
  }, 120_000);

  it('leaves impact answering as before (exit 0)', async () => {
    await plant(Buffer.alloc(PLANTED, 0x0a));
    const r = run(['impact', 'data@v1', '--store', store, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.models).toEqual([expect.objectContaining({ ref: 'm@1' })]);
    expect(r.json.auditLog).toMatchObject({ attestations: 1, unreadableLines: 0, checkpoints: { problems: [] } });
  }, 120_000);

  it('makes log --verify exit 1 listing 1000 malformed lines and counting the rest', async () => {
    await plant(Buffer.alloc(PLANTED, 0x0a));
    const r = run(['log', '--verify', '--store', store, '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ chainOk: false, unlisted: PLANTED - 1000 });
    expect((r.json.problems as { kind: string }[]).every((p) => p.kind === 'malformed')).toBe(true);
  }, 120_000);

  it('after a garbled attest line, makes impact count every one of them unreadable (exit 1)', async () => {
    await plant(Buffer.concat([Buffer.from('{"command":"attest" garbled\n'), Buffer.alloc(PLANTED, 0x0a)]));
    const r = run(['impact', 'data@v1', '--store', store, '--json']);
    expect(r.code).toBe(1);
    expect(r.json.auditLog).toMatchObject({ attestations: 1, unreadableLines: PLANTED + 1 });
  }, 120_000);
});

describe('one pass over the log', () => {
  it('gives the checkpoint check, through attestRecords, the roots logRoots gives, hashing no line beyond the largest size asked', async () => {
    await plant(Buffer.from('{"command":"attest" garbled\n\n\nx\n'));
    const lines = genuine.toString().split('\n').length - 1 + 4;
    const sizes = [0, 1, 2, 3];
    const c = new LogRootsCollector(sizes);
    let leaves = 0;
    const counting = { upTo: c.upTo, leaf: (h: Uint8Array) => (leaves++, c.leaf(h)), end: (n: number) => c.end(n), fail: (e: unknown) => c.fail(e), cut: (l: number, b: number) => c.cut(l, b) };
    const items = [];
    for await (const item of attestRecords(store, { leaves: counting })) items.push(item);
    const unreadable = items.filter((i) => 'unreadable' in i);
    expect(unreadable[0]).toMatchObject({ unreadable: lines - 3 });
    expect(unreadable.reduce((n, i) => n + i.lines, 0)).toBe(4);
    expect(leaves).toBe(3);
    const whole = await logRoots(store, sizes);
    const r = c.result();
    expect(r.lines).toBe(lines);
    for (const n of sizes) expect(Buffer.from(r.roots.get(n) as Uint8Array).toString('hex')).toBe(Buffer.from(whole.roots.get(n) as Uint8Array).toString('hex'));
  });
});
