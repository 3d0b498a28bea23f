/**
 * `snap check B --against A` where B is a snapshot whose signed record index does not describe its
 * own bytes: the poisoner seals the new version with a key of their own, then signs a statement
 * that keeps the poisoned file's digest in the manifest but names A's index for it (A's clean
 * records). The index of a snapshot no trusted key signed is a claim, not evidence: check indexes
 * such a side's record sets from its bytes (docs/FORMAT.md §19.8).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyTree, makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath, snapshotFolder } from '../helpers/store.js';
import { serializeEnvelope, signEnvelope } from '../../src/core/envelope.js';
import { parseStatement, serializeStatement } from '../../src/core/statement.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

const owner = useKeyPair('owner');
const evil = useKeyPair('evil');
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const RULES = { records: [{ pattern: 'train.csv', key: ['id'], label: 'label' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
const N = 40;
const csv = (flip: number) => ['id,text,label', ...Array.from({ length: N }, (_, i) => `${i},text ${i},${(i < flip ? i + 1 : i) % 2 ? 'spam' : 'ham'}`)].join('\n') + '\n';
const mail = () => Object.fromEntries(Array.from({ length: N }, (_, i) => [`mail/${i % 2 ? 'spam' : 'ham'}/m${i}.txt`, `mail ${i}\n`]));

/** Seal d@1 (owner) and, from a poisoned copy, evil@1 (evil key); forge evil@1's statement with d@1's record sets. */
async function forged(store: string): Promise<string> {
  const a = await makeTree({ 'snap.json': JSON.stringify(RULES), 'train.csv': csv(0), ...mail() });
  const sa = await snapJson(['seal', a, '--as', 'd@1', '--key', owner.key, '--store', store]);
  expect(sa.code, sa.stderr).toBe(0);
  const b = await copyTree(a);
  await fsp.writeFile(join(b, 'train.csv'), csv(4)); // 4 of 40 labels flipped (10 %)
  for (const i of [0, 2, 4, 6]) await fsp.rename(join(b, 'mail', 'ham', `m${i}.txt`), join(b, 'mail', 'spam', `m${i}.txt`));
  const sb = await snapJson(['seal', b, '--as', 'evil@1', '--key', evil.key, '--store', store, '--no-parent']);
  expect(sb.code, sb.stderr).toBe(0);
  const stA = parseStatement(await fsp.readFile(join(snapshotFolder(store, 'd', '1'), 'statement.json')));
  const dirB = snapshotFolder(store, 'evil', '1');
  const stB = parseStatement(await fsp.readFile(join(dirB, 'statement.json')));
  stB.predicate.records = stA.predicate.records; // A's clean indexes for B's poisoned files
  const bytes = serializeStatement(stB);
  const out = join(await makeTree({}), 'forged');
  await fsp.mkdir(out);
  await fsp.copyFile(join(dirB, 'manifest.jsonl'), join(out, 'manifest.jsonl'));
  await fsp.writeFile(join(out, 'statement.json'), bytes);
  await fsp.writeFile(join(out, 'envelope.json'), serializeEnvelope(signEnvelope(bytes, [await readPrivateKey(evil.key)])));
  await fsp.copyFile(join(dirB, 'contents.json'), join(out, 'contents.json'));
  return out;
}

describe('check: a snapshot B whose index lies about its bytes', () => {
  it('signed by a key not given to --pubkey, is indexed from its bytes in the store: the flips are found (exit 1)', async () => {
    const store = await newStorePath();
    const b = await forged(store);
    const c = await snapJson(['check', b, '--against', 'd@1', '--store', store, '--pubkey', owner.pub]);
    expect(c.code, c.stdout).toBe(1);
    const rules = c.json.breaches.map((x: Json) => [x.set, x.rule]);
    expect(rules).toContainEqual(['train.csv', 'maxLabelChanges']);
    expect(rules).toContainEqual(['mail/*/*', 'maxLabelChanges']);
    expect(c.json.records.sets.find((s: Json) => s.name === 'train.csv').summary.flipped).toBe(4);
  });

  it('without --pubkey (no signer checked), is indexed from its bytes too (exit 1)', async () => {
    const store = await newStorePath();
    const b = await forged(store);
    const c = await snapJson(['check', b, '--against', 'd@1', '--store', store]);
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.records.sets.find((s: Json) => s.name === 'train.csv').summary.flipped).toBe(4);
    expect(c.json.records.sets.find((s: Json) => s.name === 'mail/*/*').summary.flipped).toBe(4);
  });

  it('an honest version signed by an untrusted key still passes when unchanged, its sets indexed from its bytes (exit 0)', async () => {
    const store = await newStorePath();
    const a = await makeTree({ 'snap.json': JSON.stringify(RULES), 'train.csv': csv(0), ...mail() });
    expect((await snapJson(['seal', a, '--as', 'd@1', '--key', owner.key, '--store', store])).code).toBe(0);
    await fsp.appendFile(join(a, 'train.csv'), `${N},text ${N},ham\n`);
    expect((await snapJson(['seal', a, '--as', 'd@2', '--key', evil.key, '--store', store])).code).toBe(0);
    const c = await snapJson(['check', 'd@2', '--against', 'd@1', '--store', store, '--pubkey', owner.pub]);
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.records.sets.find((s: Json) => s.name === 'train.csv').summary.added).toBe(1);
  });

  it('signed by a key not given, sealed --manifest-only (its bytes not at hand): its sets are not compared, a breach (exit 1)', async () => {
    const store = await newStorePath();
    const a = await makeTree({ 'snap.json': JSON.stringify(RULES), 'train.csv': csv(0), ...mail() });
    expect((await snapJson(['seal', a, '--as', 'd@1', '--key', owner.key, '--store', store])).code).toBe(0);
    await fsp.writeFile(join(a, 'train.csv'), csv(4));
    expect((await snapJson(['seal', a, '--as', 'd@2', '--key', evil.key, '--store', store, '--manifest-only'])).code).toBe(0);
    const c = await snapJson(['check', 'd@2', '--against', 'd@1', '--store', store, '--pubkey', owner.pub]);
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches.map((x: Json) => [x.set, x.rule])).toContainEqual(['train.csv', 'unavailable']);
  });
});
