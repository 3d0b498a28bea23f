/**
 * The pure archive rules (src/core/archive.ts): which symbolic links are safe to write out, and the
 * tree-shape check over a manifest (nothing under a file or a link), in O(depth) memory.
 */
import { describe, expect, it } from 'vitest';
import { TreeShapeCheck, unsafeLinkTarget, archiveMtime, isArchivePath, archiveFileName } from '../../src/core/archive.js';
import { isSnapError } from '../../src/core/errors.js';
import type { ManifestEntry } from '../../src/core/manifest.js';

const file = (path: string): ManifestEntry => ({ path, sha256: '0'.repeat(64), size: 0 });
const link = (path: string, target: string): ManifestEntry => ({ path, target, type: 'symlink' });

describe('unsafeLinkTarget', () => {
  it.each([
    ['a', 'b'],
    ['a', './b'],
    ['a', 'b/'],
    ['d/a', '../b'],
    ['d/e/a', '../../b/c'],
    ['d/e/a', '../..'],
    ['d/a', '.'],
    ['a', 'b//c'],
  ])('accepts %s -> %s', (path, target) => {
    expect(unsafeLinkTarget(path, target)).toBeUndefined();
  });

  it.each([
    ['a', '/etc/passwd', 'symlink-absolute'],
    ['a', '..', 'symlink-escapes'],
    ['a', '../b', 'symlink-escapes'],
    ['d/a', '../../b', 'symlink-escapes'],
    ['d/a', './../..', 'symlink-escapes'],
    ['a', 'd/../b', 'symlink-dotdot'],
    ['d/e/a', 's/../..', 'symlink-dotdot'],
  ])('refuses %s -> %s (%s)', (path, target, reason) => {
    expect(unsafeLinkTarget(path, target)?.reason).toBe(reason);
  });
});

describe('TreeShapeCheck', () => {
  const run = (entries: ManifestEntry[]) => {
    const t = new TreeShapeCheck();
    for (const e of entries) {
      const v = t.check(e);
      if (v) return v;
    }
    return undefined;
  };

  it('accepts ordinary trees, including names that share a prefix without a "/"', () => {
    expect(run([file('a'), file('a-b/c'), file('a.txt'), file('ab/c'), link('b', 'ab'), file('b-c'), file('b.d/e')])).toBeUndefined();
  });

  it('refuses a path under a file, even with other paths between them in manifest order', () => {
    expect(run([file('a'), file('a-b/c'), file('a.x'), file('a/b')])).toMatchObject({ reason: 'under-file', path: 'a/b' });
  });

  it('refuses a path under a link, at any depth', () => {
    expect(run([link('d', 'x'), file('d/e/f')])).toMatchObject({ reason: 'under-symlink', path: 'd/e/f' });
    expect(run([file('p/a'), link('p/q', '../p'), file('p/q-r'), file('p/q/z')])).toMatchObject({ reason: 'under-symlink', path: 'p/q/z' });
  });

  it('refuses U+FFFD in a path or a link text', () => {
    expect(run([file('a\uFFFD')])?.reason).toBe('ambiguous-name');
    expect(run([link('a', 'b\uFFFD')])?.reason).toBe('ambiguous-name');
  });

  it('checks links as it goes', () => {
    expect(run([file('a'), link('z', '/abs')])?.reason).toBe('symlink-absolute');
  });
});

describe('archive names and times', () => {
  it('recognizes archive paths and names them NAME@VERSION.snap.tar', () => {
    expect(isArchivePath('x/ds@v1.snap.tar')).toBe(true);
    expect(isArchivePath('.snap.tar')).toBe(false);
    expect(isArchivePath('ds@v1.tar')).toBe(false);
    expect(archiveFileName('ds', 'v1')).toBe('ds@v1.snap.tar');
  });

  it('takes mtime from createdAt, and refuses times a version 1 archive cannot record', () => {
    expect(archiveMtime('2026-11-21T10:00:00Z').getTime()).toBe(Date.UTC(2026, 10, 21, 10));
    for (const bad of ['2026-11-21T10:00:00.5Z', '2039-01-01T00:00:00Z', 'yesterday']) {
      let err: unknown;
      try {
        archiveMtime(bad);
      } catch (e) {
        err = e;
      }
      expect(isSnapError(err, 'STATEMENT_INVALID'), bad).toBe(true);
    }
  });
});
