/**
 * The trusted state's record of the newest snapshot of each dataset verified from each store
 * (`latestByStore`, trust/latest.ts `rememberLatest`): one per store, so that another store's newer
 * snapshot does not take this store's place, and bounded in the number of stores.
 */
import { describe, expect, it } from 'vitest';
import { recordedFor, rememberLatest } from '../../src/trust/latest.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { MAX_LATEST_STORES, MAX_STATE_BYTES, MAX_VERSIONS_KEPT, MAX_VERSIONS_TOTAL, STATE_FORMAT, type TrustedState } from '../../src/trust/state.js';
import type { Statement } from '../../src/core/statement.js';

const DOMAIN = 'keys:0123/1';
const statement = (version: string, createdAt: string): Statement => ({ predicate: { dataset: 'ds', version, createdAt } }) as unknown as Statement;
const empty = (): TrustedState => ({ format: STATE_FORMAT, policies: {}, latest: {} });

describe('rememberLatest and recordedFor', () => {
  it("keep each store's newest snapshot of a dataset: a newer one from another store does not replace it", () => {
    const s = empty();
    expect(rememberLatest(s, DOMAIN, 'sha256:a', statement('v2', '2026-12-01T00:00:01Z'), new Date(), '/srv/prod')).toBe(true);
    expect(rememberLatest(s, DOMAIN, 'sha256:b', statement('v2', '2026-12-01T00:00:09Z'), new Date(), '/srv/staging')).toBe(true);
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).own.map((m) => m.snapshot)).toEqual(['sha256:a']);
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).held?.snapshot).toBe('sha256:a');
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/staging']).held?.snapshot).toBe('sha256:b');
    // A record an earlier snap wrote without its store is held to in every store, as before.
    s.latest[DOMAIN] = { ds: { snapshot: 'sha256:c', version: 'v3', createdAt: '2026-12-01T00:00:05Z', seenAt: '2026-12-01T00:00:06Z' } };
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).held?.snapshot).toBe('sha256:c');
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).own.map((m) => m.snapshot)).toEqual(['sha256:a']);
  });

  it('read a record of `latest` that names its store (a state written before latestByStore) as that store\'s own', () => {
    const s = empty();
    s.latest[DOMAIN] = { ds: { snapshot: 'sha256:a', version: 'v2', createdAt: '2026-12-01T00:00:01Z', seenAt: '2026-12-01T00:00:02Z', store: '/srv/prod' } };
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).own.map((m) => m.snapshot)).toEqual(['sha256:a']);
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/other'])).toEqual({ own: [] });
  });

  it(`keep at most ${MAX_LATEST_STORES} stores, dropping the one whose record was seen longest ago`, () => {
    const s = empty();
    const seenAt = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // The stores already kept, the first one seen longest ago (listed last, so that the order of keys is not what decides).
    s.latestByStore = {};
    for (let i = MAX_LATEST_STORES - 1; i >= 0; i--) s.latestByStore[`/tmp/store-${i}`] = { [DOMAIN]: { ds: { snapshot: `sha256:${i}`, version: 'v1', createdAt: '2026-12-01T00:00:01Z', seenAt: seenAt(i + 1) } } };
    expect(rememberLatest(s, DOMAIN, 'sha256:new', statement('v1', '2026-12-01T00:00:01Z'), new Date(Date.UTC(2027, 0, 1)), `/tmp/store-${MAX_LATEST_STORES}`)).toBe(true);
    const stores = Object.keys(s.latestByStore);
    expect(stores).toHaveLength(MAX_LATEST_STORES);
    expect(stores).not.toContain('/tmp/store-0');
    expect(stores).toContain(`/tmp/store-${MAX_LATEST_STORES}`);
  });

  it(`keep every version verified from a store as it was verified, at most ${MAX_VERSIONS_KEPT}, the oldest recorded dropped first and never the newest's`, () => {
    const s = empty();
    const created = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    rememberLatest(s, DOMAIN, 'sha256:newest', statement('v-newest', created(10_000)), new Date(), '/srv/prod');
    for (let i = 0; i < MAX_VERSIONS_KEPT; i++) rememberLatest(s, DOMAIN, `sha256:${i}`, statement(`v${i}`, created(i)), new Date(), '/srv/prod');
    const own = recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).own;
    expect(own).toHaveLength(MAX_VERSIONS_KEPT);
    expect(own[0]).toMatchObject({ version: 'v-newest', snapshot: 'sha256:newest' });
    expect(own.map((m) => m.version)).not.toContain('v0');
    expect(own.find((m) => m.version === `v${MAX_VERSIONS_KEPT - 1}`)?.snapshot).toBe(`sha256:${MAX_VERSIONS_KEPT - 1}`);
    expect(recordedFor(s, DOMAIN, 'ds', ['/srv/prod']).held?.version).toBe('v-newest');
  });
  it(`keep at most ${MAX_VERSIONS_TOTAL} versions over all stores, so that the state stays readable (under ${MAX_STATE_BYTES} bytes): the records seen longest ago go first, never the one just written`, () => {
    const s = empty();
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000);
    const stamp = (i: number) => at(i).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // 200 stores of 256 versions each, verified one store after the other: 51,200 versions offered.
    for (let st = 0; st < 200; st++) for (let v = 0; v < MAX_VERSIONS_KEPT; v++) rememberLatest(s, DOMAIN, `sha256:${st}-${v}`, statement(`v${v}`, stamp(v)), at(st * 1000 + v), `/srv/store-${st}`);
    const byStore = s.latestByStore ?? {};
    const total = Object.values(byStore).reduce((n, d) => n + (d[DOMAIN]?.ds?.versions?.length ?? 0), 0);
    expect(total).toBeLessThanOrEqual(MAX_VERSIONS_TOTAL);
    expect(total).toBeGreaterThan(MAX_VERSIONS_TOTAL - MAX_VERSIONS_KEPT);
    expect(byStore['/srv/store-0']).toBeUndefined();
    expect(byStore['/srv/store-199']?.[DOMAIN]?.ds?.versions).toHaveLength(MAX_VERSIONS_KEPT);
    expect(Buffer.byteLength(canonicalJson(s))).toBeLessThan(MAX_STATE_BYTES);
  });
});
