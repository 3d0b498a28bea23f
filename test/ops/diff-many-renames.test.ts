/**
 * `snap diff` pairs each added file with a removed file of the same content: a rename
 * (src/ops/diff.ts `pairRenames`). A folder of many identical files renamed — or an archive handed
 * over whose manifest lists a million entries of one digest (diff reads an archive's manifest
 * before any key is checked) — is that many removed and added files of one digest: pairing them
 * must cost time in proportion to their number, not to its square.
 */
import { describe, expect, it } from 'vitest';
import { pairRenames } from '../../src/ops/diff.js';
import type { FileEntry } from '../../src/core/manifest.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('diff pairing renames', () => {
  it('pairs 400,000 empty files renamed from a/ to b/, each with the one of its rank, every one with its own', () => {
    const n = 400_000;
    const name = (i: number) => String(i).padStart(6, '0');
    const removed: FileEntry[] = [];
    const added: FileEntry[] = [];
    for (let i = 0; i < n; i++) removed.push({ path: `a/${name(i)}`, sha256: EMPTY_SHA256, size: 0 });
    for (let i = 0; i < n; i++) added.push({ path: `b/${name(i)}`, sha256: EMPTY_SHA256, size: 0 });
    const renamed = pairRenames(removed, added);
    expect(renamed).toHaveLength(n);
    expect(renamed[0]).toEqual({ from: 'a/000000', to: 'b/000000', sha256: EMPTY_SHA256, size: 0 });
    expect(renamed[n - 1]).toEqual({ from: `a/${name(n - 1)}`, to: `b/${name(n - 1)}`, sha256: EMPTY_SHA256, size: 0 });
    // Taking each source off the front of one list of 400,000 copied the rest each time: tens of
    // CPU-seconds (150,000 renamed files: 11 CPU-seconds for `snap diff` of two archives), where
    // pairing by position takes well under one.
    // (Its CPU cost is measured, not asserted here: docs/PERFORMANCE.md; timings live in benchmarks.)
  });

  it('pairs by content only: a link, and a file of a digest nobody removed, are not renamed', () => {
    const removed = [
      { path: 'a/1', sha256: 'a'.repeat(64), size: 1 },
      { path: 'a/2', sha256: 'a'.repeat(64), size: 1 },
      { path: 'a/l', type: 'symlink' as const, target: '1' },
    ];
    const added = [
      { path: 'b/1', sha256: 'a'.repeat(64), size: 1 },
      { path: 'b/3', sha256: 'c'.repeat(64), size: 1 },
      { path: 'b/l', type: 'symlink' as const, target: '1' },
      { path: 'c/1', sha256: 'a'.repeat(64), size: 1 },
      { path: 'd/1', sha256: 'a'.repeat(64), size: 1 },
    ];
    expect(pairRenames(removed, added).map((r) => [r.from, r.to])).toEqual([
      ['a/1', 'b/1'],
      ['a/2', 'c/1'],
    ]);
  });
});
