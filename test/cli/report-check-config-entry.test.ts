/**
 * `snap report` and `snap check` learn each snapshot side's signed `snap.json` entry (its record
 * rules and check thresholds, FORMAT §19.5) from the diff's own read of the manifests, once both
 * were judged against their statements, as `snap diff` does: neither reads and judges each manifest
 * once more beforehand only to find that entry. A manifest that does not match its statement fails
 * with the diff's message naming the side, before any snap.json is looked for.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, REPO, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { alterLastEntrySize, newStorePath } from '../helpers/store.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair('alice');
const TABULAR = join(REPO, 'examples', 'tabular');

async function seal(dir: string, store: string, as: string, extra: string[] = []): Promise<void> {
  const r = await snapJson(['seal', dir, '--as', as, '--key', keys.key, '--store', store, ...extra]);
  expect(r.code, r.stderr).toBe(0);
}

/** Two snapshots of the same folder, the second's manifest then altered (its last entry's size). */
async function alteredB(): Promise<string> {
  const store = await newStorePath();
  await seal(TABULAR, store, 'tab@v1');
  await seal(TABULAR, store, 'tab@v2');
  await alterLastEntrySize(store, 'tab', 'v2');
  return store;
}

describe('report and check take each snapshot side\'s snap.json entry from the diff\'s own read of its manifest', () => {
  it('report of a snapshot whose manifest does not match its statement fails with the diff\'s message naming the side', async () => {
    const store = await alteredB();
    const out = await makeTree({});
    const r = await snap(['report', 'tab@v1', 'tab@v2', '-o', join(out, 'r.html'), '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^snap report: B \(tab@v2\): manifest\.jsonl does not match the signed statement .*no difference is reported \[INTEGRITY_FAILURE\]\n$/);
  });

  it('check of a snapshot whose manifest does not match its statement fails with the diff\'s message naming the side', async () => {
    const store = await alteredB();
    const r = await snap(['check', 'tab@v2', '--against', 'tab@v1', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^snap check: B \(tab@v2\): manifest\.jsonl does not match the signed statement .*no difference is reported \[INTEGRITY_FAILURE\]\n$/);
  });

  it('check still gates by the thresholds of A\'s signed snap.json, measuring the order it asks for between two snapshots', async () => {
    // Record 1 removed and records 11, 12 swapped: the order is measured only when a threshold asks.
    const M = 300;
    const rows = Array.from({ length: M }, (_, i) => `${i + 1},text ${i + 1},${i % 3 ? 'ham' : 'spam'}`);
    const csv = (r: string[]) => ['id,text,label', ...r].join('\n') + '\n';
    const config = JSON.stringify({ records: [{ pattern: 't.csv', key: ['id'], label: 'label' }], check: { maxReordered: 0, maxRemoved: 1 } });
    const store = await newStorePath();
    await seal(await makeTree({ 'snap.json': config, 't.csv': csv(rows) }), store, 'ds@v1', ['--manifest-only']);
    const changed = [...rows.slice(1, 10), rows[11] as string, rows[10] as string, ...rows.slice(12)];
    await seal(await makeTree({ 'snap.json': config, 't.csv': csv(changed) }), store, 'ds@v2', ['--manifest-only']);
    const c = await snapJson(['check', 'ds@v2', '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stderr).toBe(1);
    expect(c.json.thresholds).toMatchObject({ maxReordered: 0, maxRemoved: 1 });
    expect(c.json.records.sets.map((s: Json) => [s.name, s.order])).toEqual([['t.csv', { common: M - 1, moved: 1 }]]);
    expect(c.json.breaches).toEqual([{ set: 't.csv', rule: 'maxReordered', value: 1, limit: 0, message: `records moved out of their order (rows reordered): 1 of ${M - 1} (at most 0)` }]);
  });
});
