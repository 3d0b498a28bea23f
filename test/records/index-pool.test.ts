/**
 * The pool that indexes tabular files on worker threads (src/records/index-pool.ts), closed while a
 * file is being indexed: the request in flight settles (INTERNAL), as the queued ones do. The
 * pool is loaded from the build (dist/), beside which its worker module is; the sources run by the
 * test runner have none and would index on this thread.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordSetSpec } from '../../src/records/config.js';
import { tempDir } from '../helpers/tree.js';

const built = '../../dist/records/index-pool.js';

/** A CSV file of `rows` records under `dir`. */
async function csvFile(dir: string, name: string, rows: number): Promise<string> {
  let s = 'id,text,label\n';
  for (let i = 0; i < rows; i++) s += `${i},text ${i * 7919},${i % 2 ? 'spam' : 'ham'}\n`;
  const abs = join(dir, name);
  await fsp.writeFile(abs, s);
  return abs;
}

/** How `p` settled within `ms`: 'resolved', the rejection's code, or 'unsettled'. */
async function settled(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => (timer = setTimeout(() => r('unsettled'), ms)));
  try {
    return await Promise.race([p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e)), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a record index pool closed while its workers index', () => {
  it('fails the file in flight with INTERNAL, as it fails the files still queued, instead of leaving it unsettled', async () => {
    const { RecordIndexPool } = (await import(built)) as typeof import('../../src/records/index-pool.js');
    const dir = await tempDir('snap-index-pool-');
    const abs = await csvFile(dir, 'big.csv', 400_000);
    const pool = new RecordIndexPool(1);
    expect(pool.workers).toBe(1);
    const spec: RecordSetSpec = { format: 'csv', identity: 'key', key: ['id'], label: 'label' };
    const job = (n: number) => ({ abs, rel: 'big.csv', spec, tmpDir: dir, outPath: join(dir, `index-${n}.jsonl`), strictKeys: true });
    const inFlight = pool.index(job(1));
    const queued = pool.index(job(2));
    await new Promise((r) => setTimeout(r, 300)); // the worker has started on the first file
    await pool.close();
    expect(await settled(queued, 5_000)).toBe('INTERNAL');
    expect(await settled(inFlight, 5_000)).toBe('INTERNAL');
  }, 60_000);
});
