/**
 * A label flip hidden by a key trick (docs/FORMAT.md §19.8): the record's key rewritten (`7` as
 * `7 `, or another id) and its label flipped, its features kept. Paired by key it is one record
 * removed and one added, and with removals and additions allowed, `check` passed it with
 * `maxLabelChanges` 0, though the training job reads the same sample under another label. A removed
 * and an added record with the same features and different labels are now a label change under
 * another key (`relabelled`), counted in `labelChanges`.
 */
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const CONFIG = JSON.stringify({ records: [{ pattern: 't.csv', key: ['id'], label: 'label' }] });
const rows = (edit: (r: string[]) => string[] = (r) => r) => ['id,text,label', ...edit(Array.from({ length: 100 }, (_, i) => `${i + 1},text number ${i + 1},${i % 2 ? 'ham' : 'spam'}`))].join('\n') + '\n';
const LOOSE = ['--max-removed', '1', '--max-added-share', '0.05'];

async function sealed(): Promise<string> {
  const store = await newStorePath();
  const data = await makeTree({ 'snap.json': CONFIG, 't.csv': rows() });
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  return store;
}

describe('a label flipped under a rewritten key', () => {
  it('is a label change for diff (relabelled, labelChanges) and a maxLabelChanges breach for check, even where removals and additions are allowed', async () => {
    const store = await sealed();
    // Record 7 (spam) becomes "7 " (ham), its text kept.
    const b = await makeTree({ 'snap.json': CONFIG, 't.csv': rows((r) => r.map((x) => (x === '7,text number 7,spam' ? '7 ,text number 7,ham' : x))) });
    const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    const set = d.json.records.sets[0];
    expect(set.summary).toMatchObject({ added: 1, removed: 1, flipped: 0, relabelled: 1, labelChanges: 1 });
    expect(set.relabelled).toEqual([{ from: 'spam', to: 'ham', features: expect.stringMatching(/^[0-9a-f]{64}$/), a: { key: ['7'], row: 7 }, b: { key: ['7 '], row: 7 } }]);
    const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, ...LOOSE]);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((x: Json) => x.rule)).toEqual(['maxLabelChanges']);
    const human = await snap(['diff', 'ds@v1', b, '--store', store]);
    expect(human.stdout).toContain('label changed under another key (1):');
    expect(human.stdout).toContain('7 → "7 ": spam → ham');
  });

  it('is not a label change when the key alone changed, nor when the features changed too', async () => {
    const store = await sealed();
    const rekeyed = await makeTree({ 'snap.json': CONFIG, 't.csv': rows((r) => r.map((x) => (x === '7,text number 7,spam' ? '107,text number 7,spam' : x))) });
    const d = await snapJson(['diff', 'ds@v1', rekeyed, '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ added: 1, removed: 1, relabelled: 0, labelChanges: 0 });
    const c = await snapJson(['check', rekeyed, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub, ...LOOSE]);
    expect(c.code).toBe(0);
    const other = await makeTree({ 'snap.json': CONFIG, 't.csv': rows((r) => r.map((x) => (x === '7,text number 7,spam' ? '107,another text,ham' : x))) });
    const e = await snapJson(['diff', 'ds@v1', other, '--store', store]);
    expect(e.json.records.sets[0].summary).toMatchObject({ added: 1, removed: 1, relabelled: 0, labelChanges: 0 });
  });
});
