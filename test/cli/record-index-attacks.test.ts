/**
 * A record index object replaced in the store by someone who can write to it but holds no key.
 * Before, a FIFO planted as the index made `diff` wait for a writer for ever, and one planted line
 * of 1.5 GB (no newline) made `diff` buffer it whole: 23 GB of memory and a kill by the kernel after
 * 212 s. Now the index is opened only when it is a regular file, and no line is buffered past the
 * longest a valid index line can be: both are `OBJECT_CORRUPT`, exit 1, at once.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTree, REPO, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { MAX_INDEX_LINE_BYTES } from '../../src/core/records.js';
import { indexEntryRuns } from '../../src/records/read-index.js';
import { IndexReader } from '../../src/records/index-reader.js';

const keys = useKeyPair();
/** Far more than any of these commands needs; a hang is killed here and fails the test. */
const TIMEOUT_MS = 20_000;
const RULE = ['--records', 'train.csv key=id label=label'];

function table(flip: number): string {
  const rows = ['id,x,label'];
  for (let i = 1; i <= 50; i++) rows.push(`${i},${i * 3},${(i === flip ? i + 1 : i) % 2 === 0 ? 'cat' : 'dog'}`);
  return rows.join('\n') + '\n';
}

async function run(args: string[]) {
  const r = await snapBin(args, { timeoutMs: TIMEOUT_MS });
  return { ...r, killed: r.signal !== null };
}

describe('a record index object replaced in the store', () => {
  let store: string;
  let index: string;
  let out: string;
  beforeAll(async () => {
    store = await newStorePath();
    out = await tempDir();
    for (const [v, flip] of [['v1', 0], ['v2', 7]] as const) {
      const data = await makeTree({ 'train.csv': table(flip) });
      const r = await snapJson(['seal', data, '--as', `t@${v}`, '--key', keys.key, '--store', store, ...RULE]);
      expect(r.code, r.stderr).toBe(0);
    }
    const show = await snapJson(['show', 't@v1', '--store', store]);
    const hex: string = show.json.statement.predicate.records[0].index.sha256;
    index = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    const d = await snapJson(['diff', 't@v1', 't@v2', '--store', store]);
    expect(d.json.records.summary).toMatchObject({ flipped: 1, added: 0, removed: 0 });
  });

  async function plant(make: () => Promise<void>): Promise<void> {
    await fsp.rm(index, { force: true });
    await make();
  }

  it('by a FIFO: diff, check and export stop at once with OBJECT_CORRUPT, and no archive is left', async () => {
    await plant(async () => {
      execFileSync('mkfifo', [index]);
    });
    for (const args of [
      ['diff', 't@v1', 't@v2', '--store', store],
      ['check', 't@v2', '--against', 't@v1', '--store', store],
      ['export', 't@v1', '-o', join(out, 'v1.snap.tar'), '--store', store],
    ]) {
      const r = await run(args);
      expect(r.killed, `${args[0]} hung on the FIFO`).toBe(false);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('OBJECT_CORRUPT');
      expect(r.stderr).toContain('not a regular file');
    }
    expect(await fsp.readdir(out)).toEqual([]);
  });

  it('by one line of 8 MiB, longer than any index line: diff and check say it was altered', async () => {
    await plant(() => fsp.writeFile(index, Buffer.alloc(8 << 20, 0x61)));
    for (const args of [
      ['diff', 't@v1', 't@v2', '--store', store],
      ['check', 't@v2', '--against', 't@v1', '--store', store],
    ]) {
      const r = await run(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('OBJECT_CORRUPT');
      expect(r.stderr).toContain('does not hash to the digest the statement signed');
    }
  });
});

describe('reading a record index', () => {
  const x = { identity: 'key' as const, labelled: true, name: 'train.csv' };
  let long: string;
  beforeAll(async () => {
    long = join(await tempDir(), 'index.jsonl');
    await fsp.writeFile(long, Buffer.alloc(4 * MAX_INDEX_LINE_BYTES, 0x61));
  });

  it('refuses a line longer than MAX_INDEX_LINE_BYTES as it streams, naming it', async () => {
    const take = async () => {
      for await (const _ of indexEntryRuns(long, x)) void _;
    };
    await expect(take()).rejects.toMatchObject({ code: 'RECORDS_INDEX_MALFORMED', message: expect.stringContaining(`line 1: a line is longer than ${MAX_INDEX_LINE_BYTES} bytes`) });
  });

  it('refuses a line longer than MAX_INDEX_LINE_BYTES in the diff reader, naming it', () => {
    expect(() => new IndexReader(long, x, 'a')).toThrow(expect.objectContaining({ code: 'RECORDS_INDEX_MALFORMED', message: expect.stringContaining(`line 1: a line is longer than ${MAX_INDEX_LINE_BYTES} bytes`) }));
  });
});

describe('a data file swapped for a FIFO after the walk saw a regular file', () => {
  it('makes the CSV, JSONL and Parquet readers stop at once with FILE_CHANGED', async () => {
    const dir = await tempDir();
    const fifo = join(dir, 'train.data');
    execFileSync('mkfifo', [fifo]);
    // In a subprocess: a reader that blocked in open(2) would hang the test process itself.
    const script = `
      import { hashedChunks, newHash } from ${JSON.stringify(join(REPO, 'dist', 'records', 'read-common.js'))};
      import { readParquet } from ${JSON.stringify(join(REPO, 'dist', 'records', 'read-parquet.js'))};
      const codes = [];
      try { for await (const _ of hashedChunks(process.argv[1], newHash())) void _; codes.push('read'); } catch (e) { codes.push(e.code); }
      try { await readParquet(process.argv[1], 'train.data', {}, { add() {} }); codes.push('read'); } catch (e) { codes.push(e.code); }
      console.log(codes.join(' '));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, fifo], { encoding: 'utf8', timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
    expect(out.trim()).toBe('FILE_CHANGED FILE_CHANGED');
  });
});

describe('an index summary object (FORMAT §19.10) replaced or removed in the store', () => {
  let store: string;
  let summary: string;
  beforeAll(async () => {
    store = await newStorePath();
    for (const [v, flip] of [['v1', 0], ['v2', 7]] as const) {
      const data = await makeTree({ 'train.csv': table(flip) });
      const r = await snapJson(['seal', data, '--as', `t@${v}`, '--key', keys.key, '--store', store, ...RULE]);
      expect(r.code, r.stderr).toBe(0);
    }
    const show = await snapJson(['show', 't@v1', '--store', store]);
    const hex: string = show.json.statement.predicate.records[0].index.summary;
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    summary = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
  });

  const diffCheck = [
    () => ['diff', 't@v1', 't@v2', '--store', store],
    () => ['check', 't@v2', '--against', 't@v1', '--store', store, '--pubkey', keys.pub], // B trusted: its summary is read (an untrusted B is indexed from its bytes)
  ];

  it('by other bytes: diff and check exit 1 with OBJECT_CORRUPT, naming the summary', async () => {
    const good = await fsp.readFile(summary);
    try {
      await fsp.chmod(summary, 0o644);
      await fsp.writeFile(summary, good.toString('utf8').replace('"records":', '"records": '));
      for (const args of diffCheck) {
        const r = await run(args());
        expect(r.code, `${args()[0]}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toContain('OBJECT_CORRUPT');
        expect(r.stderr).toContain('record index summary of train.csv');
      }
    } finally {
      await fsp.writeFile(summary, good);
    }
  });

  it('by a FIFO: diff stops at once with OBJECT_CORRUPT', async () => {
    const good = await fsp.readFile(summary);
    await fsp.rm(summary, { force: true });
    try {
      execFileSync('mkfifo', [summary]);
      const r = await run(diffCheck[0]!());
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('OBJECT_CORRUPT');
    } finally {
      await fsp.rm(summary, { force: true });
      await fsp.writeFile(summary, good);
    }
  });

  it('removed: diff still names the flipped label (it reads the whole indexes), and fsck reports the missing object', async () => {
    const good = await fsp.readFile(summary);
    await fsp.rm(summary, { force: true });
    try {
      const d = await snapJson(['diff', 't@v1', 't@v2', '--store', store]);
      expect(d.json.records.summary).toMatchObject({ flipped: 1, added: 0, removed: 0, unchanged: 49 });
      const f = await snapJson(['fsck', '--store', store]);
      expect(f.code).toBe(1);
      expect(JSON.stringify(f.json)).toContain('1 record index or index summary named by the statement has no object');
    } finally {
      await fsp.writeFile(summary, good);
    }
  });
});
