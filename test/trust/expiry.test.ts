/**
 * Expiry: `seal --expires 90d|DATE` records predicate.expiresAt (RFC 3339 UTC, whole seconds);
 * verify, restore and import refuse a snapshot from that time on (exit 1, SNAPSHOT_EXPIRED, saying when).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath, sealTree, useStore } from '../helpers/store.js';
import { seal } from '../../src/ops/seal.js';
import { readPrivateKey } from '../../src/io/keyfile.js';
import { buildStatement, formatTime, validateStatement } from '../../src/core/statement.js';
import { parseExpiry } from '../../src/core/durations.js';

const keys = useKeyPair('alice');
const shared = useStore();
const TREE = { 'a.txt': 'a\n', 'b/c.txt': 'c\n' };
const DAY = 86_400_000;

/** Seal TREE as if two days ago, expiring one day ago (the library takes a clock). */
async function sealExpired(store: string, as: string): Promise<{ data: string; expiresAt: string }> {
  const data = await makeTree(TREE);
  const past = new Date(Math.floor((Date.now() - 2 * DAY) / 1000) * 1000);
  const expiresAt = formatTime(new Date(past.getTime() + DAY));
  await seal({ dir: data, as, key: await readPrivateKey(keys.key), store, now: () => past, expiresAt });
  return { data, expiresAt };
}

describe('seal --expires', () => {
  it('records expiresAt 90 days on, in whole seconds, and a snapshot that has not expired verifies (exit 0)', async () => {
    const t0 = Date.now();
    const s = await sealTree(TREE, keys, { store: shared.path, extra: ['--expires', '90d'] });
    const st = JSON.parse(await fsp.readFile(join(s.dir, 'statement.json'), 'utf8'));
    expect(st.predicate.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const at = new Date(st.predicate.expiresAt).getTime();
    expect(at).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000 + 90 * DAY);
    expect(at).toBeLessThanOrEqual(Date.now() + 90 * DAY);
    const v = await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store]);
    expect(v.code).toBe(0);
  });

  it('takes a date (midnight UTC) and records it in the archive written by seal --out', async () => {
    const data = await makeTree(TREE);
    const out = join(await tempDir(), 'ds@v1.snap.tar');
    const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--out', out, '--expires', '2099-01-31']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.expiresAt).toBe('2099-01-31T00:00:00Z');
  });

  it('refuses what is not a duration or a future date (exit 2, USAGE)', async () => {
    const data = await makeTree(TREE);
    for (const bad of ['tomorrow', '0d', '90', '2001-01-01', '2027-02-30', '-5d', '99999999d']) {
      const r = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), '--expires', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.json.error.code, bad).toBe('USAGE');
    }
  });
});

describe('an expired snapshot', () => {
  it('is refused by verify: exit 1, SNAPSHOT_EXPIRED, saying when it expired, no data check trusted', async () => {
    const store = await newStorePath();
    const { data, expiresAt } = await sealExpired(store, 'old@v1');
    const v = await snapJson(['verify', data, '--against', 'old@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(v.json.failure.code).toBe('SNAPSHOT_EXPIRED');
    expect(v.json.failure.message).toContain(expiresAt);
    expect(v.json.problems).toEqual([]);
  });

  it('still counts in impact --pubkey as what its signers said (verified, exit 0): expiry is about training on it, not about where it came from', async () => {
    const store = await newStorePath();
    await sealExpired(store, 'old@v1');
    const r = await snapJson(['impact', 'old@v1', '--pubkey', keys.pub, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, verified: true, unverified: [], unverifiedModels: [] });
  });

  it('is refused by restore (exit 1, SNAPSHOT_EXPIRED), writing nothing', async () => {
    const store = await newStorePath();
    await sealExpired(store, 'old@v1');
    const target = join(await tempDir(), 'out');
    const r = await snapJson(['restore', 'old@v1', target, '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_EXPIRED');
    await expect(fsp.access(target)).rejects.toThrow();
  });

  it('is refused in an archive: verify FILE and import exit 1 with SNAPSHOT_EXPIRED', async () => {
    const store = await newStorePath();
    await sealExpired(store, 'old@v1');
    const file = join(await tempDir(), 'old@v1.snap.tar');
    expect((await snapJson(['export', 'old@v1', '-o', file, '--store', store])).code).toBe(0);
    const v = await snapJson(['verify', file, '--pubkey', keys.pub]);
    expect(v.code).toBe(1);
    expect(v.json.failure.code).toBe('SNAPSHOT_EXPIRED');
    const i = await snapJson(['import', file, '--pubkey', keys.pub, '--store', await newStorePath()]);
    expect(i.code).toBe(1);
    expect(i.json.error.code).toBe('SNAPSHOT_EXPIRED');
  });
});

describe('expiresAt in the statement', () => {
  const pred = { dataset: 'ds', version: 'v1', merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1, createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' } };

  it('sorts between createdAt and fileCount in the canonical bytes, and is omitted when absent', () => {
    const s = buildStatement({ ...pred, expiresAt: '2027-02-19T10:00:00Z' });
    expect(JSON.stringify(s.predicate)).toContain('"expiresAt":"2027-02-19T10:00:00Z"');
    expect('expiresAt' in buildStatement({ ...pred, expiresAt: undefined }).predicate).toBe(false);
  });

  it('must be RFC 3339 UTC with whole seconds, after createdAt (STATEMENT_INVALID)', () => {
    for (const bad of ['2027-02-19T10:00:00.000Z', '2027-02-19T10:00:00+00:00', '2026-11-21T10:00:00Z', '2026-11-20T10:00:00Z', 7]) {
      const st = buildStatement(pred) as unknown as { predicate: Record<string, unknown> };
      st.predicate.expiresAt = bad;
      expect(() => validateStatement(st), String(bad)).toThrow(expect.objectContaining({ code: 'STATEMENT_INVALID' }));
    }
  });

  it('is parsed from --expires relative to now: 12h, 2w, 90d', () => {
    const now = new Date('2026-11-21T10:00:00.700Z');
    expect(parseExpiry('12h', now)).toBe('2026-11-21T22:00:00Z');
    expect(parseExpiry('2w', now)).toBe('2026-12-05T10:00:00Z');
    expect(parseExpiry('90d', now)).toBe('2027-02-19T10:00:00Z');
    expect(parseExpiry('2027-01-01T12:30:00Z', now)).toBe('2027-01-01T12:30:00Z');
  });
});
