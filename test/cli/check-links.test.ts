/**
 * `snap check B --against A` where B brings records in through symbolic links: a link is recorded
 * (never followed) and is no record, yet a training job that globs `mail/spam/*` or walks the label
 * folders (torchvision's ImageFolder follows links) reads what it points to. A link B adds within
 * reach of a record rule is a breach (`links`; docs/FORMAT.md §19.8).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { copyTree, makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair();
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const RULES = { records: [{ pattern: 'data/*.jsonl', key: ['id'], label: 'label' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
const N = 20;
const spec = () => ({
  'snap.json': JSON.stringify(RULES),
  'data/train.jsonl': Array.from({ length: N }, (_, i) => JSON.stringify({ id: i, text: `t${i}`, label: i % 2 ? 'spam' : 'ham' }) + '\n').join(''),
  'notes/readme.txt': 'notes\n',
  ...Object.fromEntries(Array.from({ length: N }, (_, i) => [`mail/${i % 2 ? 'spam' : 'ham'}/m${i}.txt`, `mail ${i}\n`])),
  ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`stash/p${i}.txt`, `poison ${i}\n`])),
});

async function sealedA(store: string): Promise<string> {
  const a = await makeTree(spec());
  const r = await snapJson(['seal', a, '--as', 'd@1', '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  return a;
}

async function checkWith(edit: (b: string) => Promise<void>): Promise<{ code: number; json: Json; stdout: string }> {
  const store = await newStorePath();
  const b = await copyTree(await sealedA(store));
  await edit(b);
  return snapJson(['check', b, '--against', 'd@1', '--store', store, '--pubkey', keys.pub]);
}

describe('check: symbolic links B adds within reach of a record rule', () => {
  it('a link to a file in a label folder is a breach (exit 1), naming the link', async () => {
    const c = await checkWith((b) => fsp.symlink('../../stash/p0.txt', join(b, 'mail', 'spam', 'zz.txt')));
    expect(c.code, c.stdout).toBe(1);
    const br = c.json.breaches.find((x: Json) => x.rule === 'links');
    expect(br).toMatchObject({ set: 'mail/*/*', value: ['mail/spam/zz.txt'] });
    expect(schemaErrors('check', c.json)).toBe('');
  });

  it('a link to a folder of files inside a label folder is a breach (exit 1)', async () => {
    const c = await checkWith((b) => fsp.symlink('../../stash', join(b, 'mail', 'spam', 'more')));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ rule: 'links', value: ['mail/spam/more'] }));
  });

  it('a link as a new label folder is a breach (exit 1)', async () => {
    const c = await checkWith((b) => fsp.symlink('spam', join(b, 'mail', 'spam2')));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ rule: 'links', value: ['mail/spam2'] }));
  });

  it('a link named as a record file a rule matches (data/extra.jsonl) is a breach (exit 1)', async () => {
    const c = await checkWith(async (b) => {
      await fsp.writeFile(join(b, 'stash', 'p.json'), JSON.stringify({ id: 99, text: 'x', label: 'spam' }) + '\n');
      await fsp.symlink('../stash/p.json', join(b, 'data', 'extra.jsonl'));
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ rule: 'links', value: ['data/extra.jsonl'] }));
  });

  // A rule without a slash (`*.jsonl`) matches at any depth: any link may be a folder of such files,
  // and is within its reach.
  it('a link out of reach of every record rule passes (exit 0)', async () => {
    const c = await checkWith((b) => fsp.symlink('readme.txt', join(b, 'notes', 'README')));
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.breaches).toEqual([]);
  });
});

describe("check: B's own rules taking files out of a label-folder set A indexes", () => {
  it('a rule B puts first, reading new files in mail/spam/ as header-only CSVs of no records, does not hide them: breach (exit 1)', async () => {
    const c = await checkWith(async (b) => {
      for (let i = 0; i < 4; i++) await fsp.writeFile(join(b, 'mail', 'spam', `p${i}.txt`), `buy cheap pills now ${i}\n`);
      await fsp.writeFile(join(b, 'snap.json'), JSON.stringify({ records: [{ pattern: 'mail/spam/p*.txt', format: 'csv', identity: 'position' }, ...RULES.records] }));
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ set: 'mail/spam/p0.txt', rule: 'unavailable' }));
  });

  it('between two folders too (exit 1)', async () => {
    const a = await makeTree(spec());
    const b = await copyTree(a);
    for (let i = 0; i < 4; i++) await fsp.writeFile(join(b, 'mail', 'spam', `p${i}.txt`), `buy cheap pills now ${i}\n`);
    await fsp.writeFile(join(b, 'snap.json'), JSON.stringify({ records: [{ pattern: 'mail/spam/p*.txt', format: 'csv', identity: 'position' }, ...RULES.records] }));
    const c = await snapJson(['check', b, '--against', a, '--store', await newStorePath()]);
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ set: 'mail/spam/p0.txt', rule: 'unavailable' }));
  });

  it("a record file in a label folder that A's own rules read as a table is compared as A sealed it (exit 0 when unchanged)", async () => {
    const store = await newStorePath();
    const rules = { records: [{ pattern: 'mail/*/*.jsonl', key: ['id'], label: 'label' }, ...RULES.records] };
    const a = await makeTree({ ...spec(), 'snap.json': JSON.stringify(rules), 'mail/spam/x.jsonl': JSON.stringify({ id: 1, text: 'x', label: 'spam' }) + '\n' });
    expect((await snapJson(['seal', a, '--as', 'd@1', '--key', keys.key, '--store', store])).code).toBe(0);
    const c = await snapJson(['check', await copyTree(a), '--against', 'd@1', '--store', store, '--pubkey', keys.pub]);
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.records.sets.map((s: Json) => s.name)).toContain('mail/spam/x.jsonl');
  });
});

describe('check: entries of a folder B that no snapshot can record', () => {
  it('a sample whose name is not UTF-8 in a label folder, and a FIFO, are a breach `unrecordable` (exit 1) naming both: no record diff saw them, a reader of the folder takes the file', async () => {
    const c = await checkWith(async (b) => {
      await fsp.writeFile(Buffer.concat([Buffer.from(join(b, 'mail', 'ham', 'evil')), Buffer.from([0xff]), Buffer.from('.txt')]), 'poison\n');
      spawnSync('mkfifo', [join(b, 'notes', 'pipe')]);
    });
    expect(c.code, c.stdout).toBe(1);
    const br = c.json.breaches.find((x: Json) => x.rule === 'unrecordable');
    expect(br).toMatchObject({ set: '*', value: ['mail/ham/evil\udcff.txt', 'notes/pipe'] });
    expect(br.message).toContain(': 2: mail/ham/evil\\xff.txt, notes/pipe');
    expect(schemaErrors('check', c.json)).toBe('');
    // Without them, the same B passes.
    const clean = await checkWith(async () => {});
    expect(clean.code, clean.stdout).toBe(0);
  });
});
