/**
 * The store's own layout (src/io/store-layout.ts, docs/FORMAT.md §6): exact names of the right kind
 * are the store's, anything else is data; fsck reads its names from the same place.
 */
import { describe, expect, it } from 'vitest';
import { judgeStorePath, FAN_RE, REST_RE, SNAPSHOT_FILES } from '../../src/io/store-layout.js';
import * as fsck from '../../src/ops/fsck.js';

const HEX62 = 'c'.repeat(62);
const verdict = (path: string, kind: 'file' | 'folder' | 'other', ownTmp = false) => {
  const v = judgeStorePath(path.split('/'), kind, { ownTmp });
  return typeof v === 'string' ? v : 'layout folder';
};

describe('the store layout', () => {
  it('names the store files and folders snap writes, each with its kind', () => {
    for (const f of ['store.json', 'log.jsonl', 'log.head', 'lock', 'log.lock', 'lock.takeover', '.log.head.0123456789ab.tmp', '.lock.0123456789ab.tmp', `objects/sha256/ab/${HEX62}`, 'snapshots/ds/v1/manifest.jsonl', 'snapshots/ds/v1/contents.json', 'snapshots/ds/v1/.envelope.json.0123456789ab.tmp', 'attestations/m/v1/envelope.json', `revocations/${'a'.repeat(64)}/${'b'.repeat(64)}.json`, 'log.checkpoints/0000000000000012.checkpoint']) {
      expect([f, verdict(f, 'file')]).toEqual([f, 'store']);
    }
    for (const d of ['objects', 'objects/sha256', 'objects/sha256/ab', 'snapshots', 'snapshots/ds', 'snapshots/ds/v1', 'tmp', 'revocations', 'log.checkpoints', 'attestations/m/v1']) {
      expect([d, verdict(d, 'folder')]).toEqual([d, 'layout folder']);
    }
  });

  it('takes everything else for data: other names, names with an extension, the wrong kind, links, and tmp/ of a reader', () => {
    for (const [p, kind] of [
      ['poison.jpg', 'file'],
      ['cat', 'folder'],
      ['store.json', 'folder'],
      ['objects', 'file'],
      ['objects/ab/p.jpg', 'file'],
      ['objects/ab', 'folder'],
      [`objects/sha256/ab/${HEX62}.jpg`, 'file'],
      [`objects/sha256/ab/${HEX62}`, 'folder'],
      [`objects/sha256/ab/${HEX62}`, 'other'],
      ['objects/sha256/AB', 'folder'],
      ['objects/sha256/zz', 'other'],
      ['snapshots/x.jpg', 'file'],
      ['snapshots/ds/v1/x.jpg', 'file'],
      ['snapshots/ds/v1 old', 'folder'],
      ['.poison.jpg.0123456789ab.tmp', 'file'],
      ['tmp/poison.jpg', 'file'],
      ['tmp/seal-x', 'folder'],
      ['log.checkpoints/x.checkpoint', 'file'],
    ] as const) {
      expect([p, kind, verdict(p, kind)]).toEqual([p, kind, 'data']);
    }
  });

  it("leaves the seal's own tmp/ out whole", () => {
    expect(verdict('tmp', 'folder', true)).toBe('store');
    expect(verdict('tmp/seal-x/placed-objects', 'file', true)).toBe('store');
  });

  it('is where fsck reads the names of its objects and snapshot files', () => {
    expect(fsck.FAN_RE).toBe(FAN_RE);
    expect(fsck.REST_RE).toBe(REST_RE);
    expect([...SNAPSHOT_FILES].sort()).toEqual(['contents.json', 'envelope.json', 'manifest.jsonl', 'statement.json']);
  });
});
