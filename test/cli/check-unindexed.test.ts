/**
 * `snap check B --against A` and the files no record set covers: A's rule `*.jsonl` indexes
 * `train.jsonl`, while `train.ndjson`, a new `extra.ndjson`, `more.csv` or
 * `data/part-0001.parquet` match no rule of either side — yet a training job that globs `*.ndjson`
 * or `*.csv`, or reads every file of the folder, trains on them. Each file added, removed or changed
 * outside every record set is listed (`unindexedFiles`); one that looks like data (a record
 * format's ending, or a file in a label folder) is a breach, `maxUnindexedFiles` (default 0;
 * docs/FORMAT.md §19.8).
 */
import { cpSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyTree, makeTree, snapJson, snap, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair();
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const RULES = { records: [{ pattern: '*.jsonl', key: ['id'], label: 'label' }] };
const line = (id: number, label: string) => JSON.stringify({ id, text: `t${id}`, label }) + '\n';
const spam = (n: number) => Array.from({ length: n }, (_, i) => line(100 + i, 'spam')).join('');
const spec = (config: object = RULES) => ({
  'snap.json': JSON.stringify(config),
  'train.jsonl': Array.from({ length: 20 }, (_, i) => line(i, i % 2 ? 'spam' : 'ham')).join(''),
  'train.ndjson': Array.from({ length: 5 }, (_, i) => line(50 + i, 'ham')).join(''),
  'README.md': '# data\n',
});

/** A (the default spec) sealed as d@1 into a store of its own, made once for the file and never changed: {@link checkWith} copies it. */
const sealedA = { a: '', store: '' };
beforeAll(async () => {
  Object.assign(sealedA, await sealA({}));
});

/** A (`spec(config)`, with README.md `cardA` if given) sealed as d@1 into a new store. */
async function sealA(opts: { config?: object; cardA?: string }): Promise<{ a: string; store: string }> {
  const store = await newStorePath();
  const a = await makeTree({ ...spec(opts.config), ...(opts.cardA !== undefined ? { 'README.md': opts.cardA } : {}) });
  const s = await snapJson(['seal', a, '--as', 'd@1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  return { a, store };
}

/**
 * A sealed as d@1 (signed), B its copy edited by `edit`; `snap check B --against d@1 --pubkey`.
 * With the default spec, A and its store are a copy of {@link sealedA}'s (the same bytes, sealed once).
 */
async function checkWith(edit: (b: string) => Promise<void>, opts: { config?: object; flags?: string[]; json?: boolean; cardA?: string } = {}) {
  const shared = (opts.config === undefined || opts.config === RULES) && opts.cardA === undefined;
  let store: string;
  let a: string;
  if (shared) {
    store = await newStorePath();
    cpSync(sealedA.store, store, { recursive: true });
    a = sealedA.a;
  } else {
    ({ a, store } = await sealA(opts));
  }
  const b = await copyTree(a);
  await edit(b);
  const args = ['check', b, '--against', 'd@1', '--store', store, '--pubkey', keys.pub, ...(opts.flags ?? [])];
  return opts.json === false ? { ...(await snap(args)), json: undefined as Json } : snapJson(args);
}

const unindexedBreach = (json: Json) => json.breaches.find((x: Json) => x.rule === 'maxUnindexedFiles');

describe('check: data files that no record set covers', () => {
  it('40 spam records appended to train.ndjson, which A holds and no rule covers, are a breach (exit 1) naming the file', async () => {
    const c = await checkWith((b) => fsp.appendFile(join(b, 'train.ndjson'), spam(40)));
    expect(c.code, c.stdout).toBe(1);
    expect(unindexedBreach(c.json)).toMatchObject({ set: '*', value: 1, limit: 0 });
    expect(unindexedBreach(c.json).message).toContain('train.ndjson');
    expect(c.json.unindexedFiles).toEqual([{ path: 'train.ndjson', change: 'modified', data: true }]);
    expect(schemaErrors('check', c.json)).toBe('');
  });

  it('a new extra.ndjson is a breach (exit 1)', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'extra.ndjson'), spam(40)));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'extra.ndjson', change: 'added', data: true }]);
    expect(unindexedBreach(c.json).message).toContain('extra.ndjson');
  });

  it('a new more.csv is a breach (exit 1), and the human output names it', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'more.csv'), 'id,text,label\n' + Array.from({ length: 40 }, (_, i) => `${100 + i},buy,spam\n`).join('')), { json: false });
    expect(c.code, c.stdout).toBe(1);
    expect(c.stdout).toMatch(/dataset: .*more\.csv.*\[maxUnindexedFiles\]/);
    expect(c.stdout).toContain('files outside every record set: 1 added, removed or changed (looks like data: 1)');
    expect(c.stdout).toContain('  added     more.csv  (looks like data)');
  });

  it('a new data/part-0001.parquet is a breach (exit 1), and so is a compressed CSV whatever its case', async () => {
    const c = await checkWith(async (b) => {
      await fsp.mkdir(join(b, 'data'));
      await fsp.writeFile(join(b, 'data', 'part-0001.parquet'), 'PAR1 not really\n');
      await fsp.writeFile(join(b, 'MORE.CSV.GZ'), 'gz\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([
      { path: 'MORE.CSV.GZ', change: 'added', data: true },
      { path: 'data/part-0001.parquet', change: 'added', data: true },
    ]);
    expect(unindexedBreach(c.json)).toMatchObject({ value: 2 });
  });

  it('a new file of any format a training loader reads as data (.arrow, .feather, .tfrecord, a WebDataset .tar shard, .npy, .npz, .pkl, .pt, .h5, .avro, .orc, a wikitext train.txt, …) is a breach (exit 1)', async () => {
    // Each passed with exit 0, data false: only snap's record formats and .json counted as data.
    const names = ['a.arrow', 'b.feather', 'c.tfrecord', 'd.tfrecords', 'shards/000000.tar', 'e.npy', 'f.npz', 'g.pkl', 'h.pickle', 'i.pt', 'j.pth', 'k.h5', 'l.hdf5', 'm.avro', 'n.orc', 'train.txt', 'o.safetensors', 'p.msgpack', 'q.lance', 'r.mds', 's.tar.gz', 't.TXT.GZ', 'u.jsonl.tar'];
    const c = await checkWith(async (b) => {
      await fsp.mkdir(join(b, 'shards'));
      for (const n of names) await fsp.writeFile(join(b, n), 'x\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles.filter((f: Json) => !f.data)).toEqual([]);
    expect(c.json.unindexedFiles).toHaveLength(names.length);
    expect(unindexedBreach(c.json)).toMatchObject({ value: names.length, limit: 0 });
  });

  it("a new file of an ending Hugging Face datasets reads by its extension table (.geoparquet and .gpq as Parquet, .xml, .eval) is a breach (exit 1): load_dataset of the folder reads train-2.geoparquet beside train.parquet", async () => {
    // Each passed with exit 0, data false.
    const names = ['train-2.geoparquet', 'b.gpq', 'c.xml', 'd.eval', 'e.GPQ.gz'];
    const c = await checkWith(async (b) => {
      for (const n of names) await fsp.writeFile(join(b, n), 'x\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles.filter((f: Json) => !f.data)).toEqual([]);
    expect(c.json.unindexedFiles).toHaveLength(names.length);
  });

  it('so a changed LICENSE.txt fails the gate too (fail closed), and --max-unindexed-files 1 lets that review pass', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'LICENSE.txt'), 'MIT\n'));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'LICENSE.txt', change: 'added', data: true }]);
    const d = await checkWith((b) => fsp.writeFile(join(b, 'LICENSE.txt'), 'MIT\n'), { flags: ['--max-unindexed-files', '1'] });
    expect(d.code, d.stdout).toBe(0);
  });

  it('a new script, image outside every label folder, or LICENSE is listed and passes (exit 0)', async () => {
    const c = await checkWith(async (b) => {
      for (const n of ['train.py', 'logo.png', 'LICENSE', 'CITATION.cff']) await fsp.writeFile(join(b, n), 'x\n');
    });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.unindexedFiles.map((f: Json) => f.data)).toEqual([false, false, false, false]);
  });

  it('train.ndjson removed is a breach too (a job that globbed it trains on other data)', async () => {
    const c = await checkWith((b) => fsp.rm(join(b, 'train.ndjson')));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'train.ndjson', change: 'removed', data: true }]);
  });

  it('a README change alone passes (exit 0), with the file listed', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'README.md'), '# data, v2\n'));
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.breaches).toEqual([]);
    expect(c.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'modified', data: false }]);
    expect(schemaErrors('check', c.json)).toBe('');
    const h = await checkWith((b) => fsp.writeFile(join(b, 'README.md'), '# data, v2\n'), { json: false });
    expect(h.code, h.stdout).toBe(0);
    expect(h.stdout).toContain('files outside every record set: 1 added, removed or changed (looks like data: 0)');
    expect(h.stdout).toContain('  modified  README.md');
  });

  const CARD = (train: string, test: string) => `---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: ${train}\n  - split: test\n    path: ${test}\n---\n# data\n`;

  it("a root README.md whose front matter routes splits (Hugging Face's configs: data_files) counts as data when changed: swapping train and test is a breach (exit 1)", async () => {
    // load_dataset reads the card's YAML front matter; the swap was "README.md modified, data false", exit 0.
    const c = await checkWith(async (b) => {
      await fsp.writeFile(join(b, 'README.md'), CARD('test.csv', 'train.csv'));
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'modified', data: true }]);
    expect(unindexedBreach(c.json)).toMatchObject({ value: 1 });
  });

  it('so does one whose front matter begins after blank lines, and a README.md of A with front matter removed or rewritten plain', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'README.md'), '\n\n  \r\n' + CARD('a.csv', 'b.csv')));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'modified', data: true }]);
    const d = await checkWith((b) => fsp.rm(join(b, 'README.md')), { config: RULES, cardA: CARD('train.csv', 'test.csv') });
    expect(d.code, d.stdout).toBe(1);
    expect(d.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'removed', data: true }]);
    const e = await checkWith((b) => fsp.writeFile(join(b, 'README.md'), '# plain now\n'), { config: RULES, cardA: CARD('train.csv', 'test.csv') });
    expect(e.code, e.stdout).toBe(1);
    expect(e.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'modified', data: true }]);
  });

  it("so does one whose front matter follows white space Python's \\s takes beyond ASCII (a no-break space, U+3000, U+2028, U+001C): huggingface_hub finds the block after any of them", async () => {
    // The regex ^\s*---[\r\n]+ of a str in Python: a no-break space first was "data false", exit 0.
    for (const lead of ['\u00a0', '\u3000', '\u2028', '\u001c', '\u0085', ' \u00a0\n\u2003']) {
      const c = await checkWith((b) => fsp.writeFile(join(b, 'README.md'), lead + CARD('test.csv', 'train.csv')));
      expect(c.code, JSON.stringify(lead)).toBe(1);
      expect(c.json.unindexedFiles).toEqual([{ path: 'README.md', change: 'modified', data: true }]);
    }
  });

  it('a root card named in another case (Readme.md, README.MD) is judged as README.md: a file system that ignores case (macOS, Windows) opens it for load_dataset', async () => {
    for (const name of ['Readme.md', 'README.MD', 'readme.md']) {
      const c = await checkWith(async (b) => {
        await fsp.rm(join(b, 'README.md'));
        await fsp.writeFile(join(b, name), CARD('test.csv', 'train.csv'));
      });
      expect(c.code, name).toBe(1);
      expect(c.json.unindexedFiles).toContainEqual({ path: name, change: 'added', data: true });
      const plain = await checkWith((b) => fsp.writeFile(join(b, name), '# notes\n'));
      expect(plain.code, name).toBe(0);
      expect(plain.json.unindexedFiles).toEqual([{ path: name, change: 'added', data: false }]);
    }
  });

  it("a root .huggingface.yaml counts as data whenever it changes: load_dataset merges it over the card's metadata, configs: data_files included", async () => {
    // Swapping the splits there was ".huggingface.yaml added, data false", exit 0.
    const yaml = 'configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: test.csv\n  - split: test\n    path: train.csv\n';
    for (const name of ['.huggingface.yaml', '.HuggingFace.yaml']) {
      const c = await checkWith((b) => fsp.writeFile(join(b, name), yaml));
      expect(c.code, name).toBe(1);
      expect(c.json.unindexedFiles).toEqual([{ path: name, change: 'added', data: true }]);
    }
    const below = await checkWith(async (b) => {
      await fsp.mkdir(join(b, 'docs'));
      await fsp.writeFile(join(b, 'docs', '.huggingface.yaml'), yaml);
    });
    expect(below.code).toBe(0);
    expect(below.json.unindexedFiles).toEqual([{ path: 'docs/.huggingface.yaml', change: 'added', data: false }]);
  });

  it('a README.md below the root, or a root one whose body has a --- rule, stays documentation (exit 0)', async () => {
    const c = await checkWith(async (b) => {
      await fsp.mkdir(join(b, 'docs'));
      await fsp.writeFile(join(b, 'docs', 'README.md'), CARD('x', 'y'));
      await fsp.writeFile(join(b, 'README.md'), '# data\n\n---\n\nmore\n');
    });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.unindexedFiles).toEqual([
      { path: 'README.md', change: 'modified', data: false },
      { path: 'docs/README.md', change: 'added', data: false },
    ]);
  });

  it('--max-unindexed-files 1 lets one such file pass (exit 0), still listed', async () => {
    const c = await checkWith((b) => fsp.writeFile(join(b, 'extra.ndjson'), spam(40)), { flags: ['--max-unindexed-files', '1'] });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.thresholds.maxUnindexedFiles).toBe(1);
    expect(c.json.unindexedFiles).toHaveLength(1);
  });

  it("A's snap.json check.maxUnindexedFiles lets it pass (exit 0); B's own snap.json cannot loosen it (exit 1)", async () => {
    const loose = { ...RULES, check: { maxUnindexedFiles: 1 } };
    const c = await checkWith((b) => fsp.writeFile(join(b, 'extra.ndjson'), spam(40)), { config: loose });
    expect(c.code, c.stdout).toBe(0);
    const d = await checkWith(async (b) => {
      await fsp.writeFile(join(b, 'extra.ndjson'), spam(40));
      await fsp.writeFile(join(b, 'snap.json'), JSON.stringify(loose));
    });
    expect(d.code, d.stdout).toBe(1);
    expect(unindexedBreach(d.json)).toMatchObject({ value: 1, limit: 0 });
  });

  it('a malformed --max-unindexed-files is a usage error (exit 2)', async () => {
    const c = await snap(['check', '/nonexistent', '--against', '/nonexistent', '--max-unindexed-files', '-1']);
    expect(c.code, c.stderr).toBe(2);
    expect(c.stderr).toContain('--max-unindexed-files');
  });
});

describe('check: files in a label folder that the label-folder set does not read as samples', () => {
  const FOLDERS = { records: [{ pattern: 'mail/*/*.txt', format: 'files', labelSegment: 1 }] };
  const mail = (config: object) => ({
    'snap.json': JSON.stringify(config),
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`mail/${i % 2 ? 'spam' : 'ham'}/m${i}.txt`, `mail ${i}\n`])),
  });
  async function folderCheck(config: object, edit: (b: string) => Promise<void>, extra: Record<string, string> = {}) {
    const store = await newStorePath();
    const a = await makeTree({ ...mail(config), ...extra });
    expect((await snapJson(['seal', a, '--as', 'm@1', '--key', keys.key, '--store', store])).code).toBe(0);
    const b = await copyTree(a);
    await edit(b);
    return snapJson(['check', b, '--against', 'm@1', '--store', store, '--pubkey', keys.pub]);
  }

  it('an image added to mail/spam/ that the pattern (*.txt) leaves out is a breach (exit 1): a folder reader takes it as spam', async () => {
    const c = await folderCheck(FOLDERS, (b) => fsp.writeFile(join(b, 'mail', 'spam', 'x.jpg'), 'jpeg\n'));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'mail/spam/x.jpg', change: 'added', data: true }]);
  });

  it("a file added where A's own signed table rule reads it (mail/spam/*.jsonl first) is a breach (exit 1): to a folder reader it is a spam sample", async () => {
    const rules = { records: [{ pattern: 'mail/*/*.jsonl', key: ['id'], label: 'label' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, (b) => fsp.writeFile(join(b, 'mail', 'spam', 'p.jsonl'), ''));
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'mail/spam/p.jsonl', change: 'added', data: true }]);
  });

  it("a file the set's pattern matches above its label folders (images/** with label segment 1: images/metadata.csv) is no sample, and is a breach (exit 1)", async () => {
    // Not a record (no segment below the label segment), yet it was taken as one of the set's and
    // listed nowhere: Hugging Face's imagefolder reads such a metadata.csv's label column for the
    // images it names, so it flipped labels while check passed with no file named.
    const rules = { records: [{ pattern: 'mail/**', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, async (b) => {
      await fsp.writeFile(join(b, 'mail', 'metadata.csv'), 'file_name,label\nspam/m1.txt,ham\n');
      await fsp.writeFile(join(b, 'mail', 'notes'), 'x\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([
      { path: 'mail/metadata.csv', change: 'added', data: true },
      { path: 'mail/notes', change: 'added', data: true },
    ]);
    expect(c.json.breaches).toEqual([expect.objectContaining({ set: '*', rule: 'maxUnindexedFiles', value: 2 })]);
  });

  it("a Hugging Face metadata file the set's pattern matches as a sample (mail/spam/metadata.jsonl of mail/*/*) is listed as data, a breach (exit 1)", async () => {
    // imagefolder / audiofolder read metadata.csv, metadata.jsonl and metadata.parquet at any level
    // as the labels and features of the files they name; check took this one for one added spam
    // sample (5 of 10 → 6 of 11, within maxShift and maxAddedShare) and passed with exit 0.
    const rules = { records: [{ pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, async (b) => {
      await fsp.writeFile(join(b, 'mail', 'spam', 'metadata.jsonl'), '{"file_name":"m1.txt","label":"ham"}\n');
      await fsp.writeFile(join(b, 'mail', 'ham', 'METADATA.CSV'), 'file_name,label\nm0.txt,spam\n');
      await fsp.writeFile(join(b, 'mail', 'ham', 'metadata.parquet'), 'PAR1\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([
      { path: 'mail/ham/METADATA.CSV', change: 'added', data: true },
      { path: 'mail/ham/metadata.parquet', change: 'added', data: true },
      { path: 'mail/spam/metadata.jsonl', change: 'added', data: true },
    ]);
    expect(c.json.breaches).toContainEqual(expect.objectContaining({ set: '*', rule: 'maxUnindexedFiles', value: 3 }));
  });

  it('a sample merely named like one (mail/spam/metadata.txt, my-metadata.csv) stays a sample, not listed', async () => {
    const rules = { records: [{ pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, async () => {}, { 'mail/spam/metadata.txt': 'x\n', 'mail/ham/my-metadata.csv': 'x\n' });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.unindexedFiles).toEqual([]);
  });

  it("such a table file of A's, unchanged, passes (exit 0)", async () => {
    const rules = { records: [{ pattern: 'mail/*/*.jsonl', key: ['id'], label: 'label' }, { pattern: 'mail/*/*', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, async () => {}, { 'mail/spam/x.jsonl': line(1, 'spam') });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.unindexedFiles).toEqual([]);
  });

  it("an empty folder B adds at the label level (images/aaa/ of images/**) is a new class to Keras's image_dataset_from_directory, and is listed as data, a breach (exit 1)", async () => {
    // Keras takes every subfolder as a class, in sorted order: aaa/ shifts every class index by one
    // (torchvision's ImageFolder stops on it). Snapshots record files only, so this is a folder B.
    const rules = { records: [{ pattern: 'mail/**', format: 'files', labelSegment: 1 }] };
    const c = await folderCheck(rules, async (b) => {
      await fsp.mkdir(join(b, 'mail', 'aaa', 'deeper'), { recursive: true });
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([{ path: 'mail/aaa/', change: 'added', data: true }]);
    expect(c.json.breaches).toEqual([expect.objectContaining({ set: '*', rule: 'maxUnindexedFiles', value: 1 })]);
    expect(schemaErrors('check', c.json)).toBe('');
  });

  it('so is a new label folder holding only files the pattern leaves out (mail/zzz/notes.md of mail/*/*.txt), listed beside its file', async () => {
    const c = await folderCheck(FOLDERS, async (b) => {
      await fsp.mkdir(join(b, 'mail', 'zzz'));
      await fsp.writeFile(join(b, 'mail', 'zzz', 'notes.md'), 'x\n');
    });
    expect(c.code, c.stdout).toBe(1);
    expect(c.json.unindexedFiles).toEqual([
      { path: 'mail/zzz/', change: 'added', data: true },
      { path: 'mail/zzz/notes.md', change: 'added', data: true },
    ]);
  });

  it("an empty folder outside the label level, or a label folder of A's unchanged that holds no sample, passes (exit 0)", async () => {
    const c = await folderCheck(FOLDERS, async (b) => {
      await fsp.mkdir(join(b, 'other', 'empty'), { recursive: true });
      await fsp.mkdir(join(b, 'mail', 'spam', 'sub'), { recursive: true });
    }, { 'mail/old/notes.md': 'x\n' });
    expect(c.code, c.stdout).toBe(0);
    expect(c.json.unindexedFiles).toEqual([]);
  });
});
