/**
 * `--exclude` patterns match ignoring letter case (the `ignore` package's default), for a folder's
 * walk and for the keys of a dataset in S3 alike, and do not fold Unicode normalization. Documented
 * (README "What a snapshot covers", DESIGN "Datasets in S3", FORMAT §4 `predicate.excludes`): a
 * loader that skips the excluded names must skip them the same way.
 */
import { describe, expect, it } from 'vitest';
import { excludeMatcher } from '../../src/io/walk.js';
import { isExcludedPath } from '../../src/core/excludes.js';
import { excludedBy } from '../../src/s3/dataset.js';

describe('an --exclude pattern', () => {
  it('leaves out every letter case of what it names: tmp/ also TMP/ and Tmp/, *.log also README.LOG, données/ also DONNÉES/', async () => {
    const ig = (await excludeMatcher(['tmp/', '*.log', 'données/']))!;
    const s3 = (await excludedBy(['tmp/', '*.log', 'données/']))!;
    for (const path of ['tmp/x.csv', 'TMP/x.csv', 'Tmp/deep/y.csv', 'README.LOG', 'a/run.Log', 'DONNÉES/z.csv']) {
      expect(isExcludedPath(ig, path), path).toBe(true);
      expect(s3(path), path).toBe(true);
    }
    for (const path of ['tmpx/a.csv', 'x.csv', 'log', 'tmp']) expect(s3(path), path).toBe(false);
  });

  it('does not fold NFC and NFD: café/ in NFC leaves out café/ in NFD neither in a walk nor in S3', async () => {
    const ig = (await excludeMatcher(['caf\u00e9/']))!;
    const s3 = (await excludedBy(['caf\u00e9/']))!;
    expect(isExcludedPath(ig, 'caf\u00e9/x')).toBe(true);
    expect(isExcludedPath(ig, 'cafe\u0301/x')).toBe(false);
    expect(s3('cafe\u0301/x')).toBe(false);
  });
});
