/**
 * A JSONL value written as a float whose value is whole (`1.0`, `1e0`, `-0.0`) is a float to
 * Python's `json` and `1` an int: another type, `str()` and JSON dump. RFC 8785 writes both `1`, so
 * a label changed from `1` to `1.0` was "no record changed" to diff and passed check. JSONL's
 * canonical form 2 (docs/FORMAT.md §19.3) tells them apart; a set indexed by form 1 is indexed
 * again from the store, never compared fingerprint by fingerprint.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, snapshotFolder, tamper } from '../helpers/store.js';
import { signEnvelope, serializeEnvelope } from '../../src/core/envelope.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const keys = useKeyPair();
const CONFIG = JSON.stringify({ records: [{ pattern: 't.jsonl', key: ['id'], label: 'label' }] });
const SEALED = '{"id":1,"label":1,"x":2}\n{"id":2,"label":0,"x":0.5}\n';

async function sealed(): Promise<string> {
  const store = await newStorePath();
  const data = await makeTree({ 'snap.json': CONFIG, 't.jsonl': SEALED });
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  return store;
}

describe('JSONL whole numbers written as floats', () => {
  it('seal signs form 2 on a JSONL set', async () => {
    const store = await sealed();
    const statement = JSON.parse(await fsp.readFile(join(snapshotFolder(store, 'ds', 'v1'), 'statement.json'), 'utf8'));
    expect(statement.predicate.records.map((m: Json) => [m.path, m.form])).toEqual([['t.jsonl', 2]]);
  });

  it('diff names the label 1 changed to 1.0 as a flip, and check fails on it (exit 1)', async () => {
    const store = await sealed();
    const b = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1,"label":1.0,"x":2}\n{"id":2,"label":0,"x":0.5}\n' });
    const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    expect(d.code).toBe(1);
    const set = d.json.records.sets[0];
    expect(set.summary).toMatchObject({ unchanged: 1, flipped: 1, modified: 0, labelChanges: 1 });
    expect(set.flipped).toEqual([expect.objectContaining({ key: [1], from: '1', to: '1.0' })]);
    const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code).toBe(1);
    expect(c.json.breaches.map((x: Json) => x.rule)).toContain('maxLabelChanges');
  });

  it('a key 1 rewritten as 1.0 (the same key [1], the label untouched) is not said to be a change of the label\'s JSON type: the flip it makes says its key\'s form may have changed too', async () => {
    // The index cannot tell them apart: the same key text, label text and features, another
    // fingerprint. Before, the line said only "its JSON type changed", of a label no byte of which changed.
    const store = await sealed();
    const b = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1.0,"label":1,"x":2}\n{"id":2,"label":0,"x":0.5}\n' });
    const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
    expect(d.json.records.sets[0].flipped).toEqual([expect.objectContaining({ key: [1], from: '1', to: '1' })]);
    const human = await snap(['diff', 'ds@v1', b, '--store', store]);
    expect(human.stdout).toContain('1: 1 → 1  (row 1)  (same label text: the JSON type of its label, or the form of its key, changed)');
    expect(human.stdout).not.toContain('(same label text: its JSON type changed)');
  });

  it('diff names a feature 2 changed to 2.0 or 2e0 as a modified record, and the same values in other spellings as no change', async () => {
    const store = await sealed();
    for (const x of ['2.0', '2e0', '20E-1']) {
      const b = await makeTree({ 'snap.json': CONFIG, 't.jsonl': `{"id":1,"label":1,"x":${x}}\n{"id":2,"label":0,"x":0.5}\n` });
      const d = await snapJson(['diff', 'ds@v1', b, '--store', store]);
      expect(d.json.records.sets[0].summary, x).toMatchObject({ unchanged: 1, modified: 1, flipped: 0 });
    }
    const same = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{ "x":2, "id":1, "label":1 }\r\n{"id":2,"label":0,"x":5e-1}\n' });
    const d = await snapJson(['diff', 'ds@v1', same, '--store', store]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 2, modified: 0, flipped: 0, added: 0, removed: 0 });
  });

  it('check refuses a B whose label 1 or 1.0 is written 0.99999999999999999999 (exit 3, naming file, line and record): it passed, exit 0, "no record changed", while pandas.read_json read 0.9999999999999991 and Python\'s json the float 1.0', async () => {
    for (const sealedLabel of ['1', '1.0']) {
      const store = await newStorePath();
      const data = await makeTree({ 'snap.json': CONFIG, 't.jsonl': `{"id":1,"label":${sealedLabel},"x":2}\n{"id":2,"label":0,"x":0.5}\n` });
      expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
      const b = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1,"label":0.99999999999999999999,"x":2}\n{"id":2,"label":0,"x":0.5}\n' });
      const c = await snapJson(['check', b, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub]);
      expect(c.code, sealedLabel).toBe(3);
      expect(c.json.error, sealedLabel).toMatchObject({ code: 'RECORDS_MALFORMED', details: { path: 't.jsonl', line: 1, row: 1 } });
    }
  });

  it('a set indexed by form 1 (no form member) is indexed again from the store: its 1.0 is compared as a float, not as the 1 form 1 made of it', async () => {
    const store = await newStorePath();
    const data = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1,"label":1.0,"x":2}\n{"id":2,"label":0,"x":0.5}\n' });
    expect((await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    // The statement as snap before form 2 signed it: no form member.
    const dir = snapshotFolder(store, 'ds', 'v1');
    const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
    delete statement.predicate.records[0].form;
    const bytes = new TextEncoder().encode(canonicalJson(statement));
    const key = await readPrivateKey(keys.key);
    await tamper(join(dir, 'statement.json'), () => Buffer.from(bytes).toString('utf8'));
    await tamper(join(dir, 'envelope.json'), () => Buffer.from(serializeEnvelope(signEnvelope(bytes, [key]))).toString('utf8'));
    const respaced = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1, "label":1.0, "x":2}\n{"id":2,"label":0,"x":0.5}\n' });
    const d = await snapJson(['diff', 'ds@v1', respaced, '--store', store]);
    expect(d.json.records.unavailable).toEqual([]);
    expect(d.json.records.sets[0].summary).toMatchObject({ unchanged: 2, modified: 0, flipped: 0 });
    const ints = await makeTree({ 'snap.json': CONFIG, 't.jsonl': '{"id":1,"label":1,"x":2}\n{"id":2,"label":0,"x":0.5}\n' });
    const e = await snapJson(['diff', 'ds@v1', ints, '--store', store]);
    expect(e.json.records.sets[0].flipped).toEqual([expect.objectContaining({ key: [1], from: '1.0', to: '1' })]);
  });
});
