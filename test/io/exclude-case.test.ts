/**
 * `--exclude` patterns match letter case exactly, as git applies .gitignore on a case-sensitive file
 * system (core.ignorecase false), for a folder's walk and for the keys of a dataset in S3 alike, and
 * do not fold Unicode normalization. The `ignore` package folds case by default; with that, a
 * signed `--exclude tmp/` hid a planted `TMP/poison.csv` from verify while a loader that skips
 * `tmp/` (or skips nothing) trained on it.
 */
import { describe, expect, it } from 'vitest';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { excludeMatcher } from '../../src/io/walk.js';
import { isExcludedPath } from '../../src/core/excludes.js';
import { excludedBy } from '../../src/s3/dataset.js';
import { makeTree, snapJson, useKeyPair } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

const keys = useKeyPair();

describe('an --exclude pattern', () => {
  it('leaves out only the letter case it names: tmp/ not TMP/ nor Tmp/, *.log not README.LOG, données/ not DONNÉES/', async () => {
    const ig = (await excludeMatcher(['tmp/', '*.log', 'données/']))!;
    const s3 = (await excludedBy(['tmp/', '*.log', 'données/']))!;
    for (const path of ['tmp/x.csv', 'tmp/deep/y.csv', 'a/run.log', 'données/z.csv']) {
      expect(isExcludedPath(ig, path), path).toBe(true);
      expect(s3(path), path).toBe(true);
    }
    for (const path of ['TMP/x.csv', 'Tmp/deep/y.csv', 'README.LOG', 'a/run.Log', 'DONNÉES/z.csv', 'tmpx/a.csv', 'x.csv', 'log', 'tmp']) {
      expect(isExcludedPath(ig, path), path).toBe(false);
      expect(s3(path), path).toBe(false);
    }
  });

  it('does not fold NFC and NFD: café/ in NFC leaves out café/ in NFD neither in a walk nor in S3', async () => {
    const ig = (await excludeMatcher(['caf\u00e9/']))!;
    const s3 = (await excludedBy(['caf\u00e9/']))!;
    expect(isExcludedPath(ig, 'caf\u00e9/x')).toBe(true);
    expect(isExcludedPath(ig, 'cafe\u0301/x')).toBe(false);
    expect(s3('cafe\u0301/x')).toBe(false);
  });

  it('does not hide a TMP/poison.csv planted beside a signed --exclude tmp/: verify names it extra, exit 1', async () => {
    const data = await makeTree({ 'train.csv': 'id,label\n1,ham\n', 'tmp/scratch.bin': 'scratch' });
    const store = await newStorePath();
    const seal = await snapJson(['seal', data, '--as', 'd@v1', '--key', keys.key, '--store', store, '--exclude', 'tmp/']);
    expect(seal.code, seal.stderr).toBe(0);
    await fsp.mkdir(join(data, 'TMP'));
    await fsp.writeFile(join(data, 'TMP', 'poison.csv'), 'id,label\n2,spam\n');
    const v = await snapJson(['verify', data, '--against', 'd@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.json.ok).toBe(false);
    expect(JSON.stringify(v.json.problems)).toContain('TMP/poison.csv');
    expect(JSON.stringify(v.json.problems)).not.toContain('scratch.bin');
  });
});
