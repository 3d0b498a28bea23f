/**
 * The dataset walk (SPEC §2): manifest order without a global sort, symlinks recorded and not
 * followed, folders left out, and the names and file types a seal refuses.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkDataset, type WalkItem } from '../../src/io/walk.js';
import { SnapError } from '../../src/core/errors.js';
import { makeTree } from '../helpers/tree.js';

async function walk(root: string, opts: Parameters<typeof walkDataset>[1] = {}): Promise<WalkItem[]> {
  const out: WalkItem[] = [];
  for await (const item of walkDataset(root, opts)) out.push(item);
  return out;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('walkDataset', () => {
  it('yields files in the byte order of their full UTF-8 paths, a folder sorting as its name + "/" (so "a/b-c" before "a/b/c")', async () => {
    const paths = ['a/x', 'a-b', 'a.txt', 'aa', 'B', 'a/b/c', 'a/b-c', 'é', 'z', 'a0', 'ab/c', '日本/x', 'a/ä'];
    const root = await makeTree(Object.fromEntries(paths.map((p) => [p, p])));
    const got = (await walk(root)).map((i) => i.path);
    expect(got).toEqual([...paths].sort(byteOrder));
  });

  it('records a symlink with its target and does not follow a link to a folder', async () => {
    const outside = await makeTree({ 'inside.txt': 'x' });
    const root = await makeTree({ 'f.txt': 'f', 'l-file': { symlink: 'f.txt' }, 'l-dir': { symlink: outside } });
    expect(await walk(root)).toEqual([
      { kind: 'file', path: 'f.txt' },
      { kind: 'symlink', path: 'l-dir', target: outside },
      { kind: 'symlink', path: 'l-file', target: 'f.txt' },
    ]);
  });

  it('leaves out skipDirs and excluded patterns', async () => {
    const root = await makeTree({ 'keep.txt': 'k', 'store/objects/x': 'o', 'sub/store/y': 'not skipped', 'a.tmp': 't', 'cache/z': 'c' });
    const got = await walk(root, { skipDirs: [join(root, 'store')], excludes: ['*.tmp', 'cache/'] });
    expect(got.map((i) => i.path)).toEqual(['keep.txt', 'sub/store/y']);
  });

  it('throws FILE_UNSUPPORTED_TYPE naming a FIFO, or hands it to onSpecial', async () => {
    const root = await makeTree({ 'a.txt': 'a', 'q/b.txt': 'b' });
    execFileSync('mkfifo', [join(root, 'q', 'fifo')]);
    await expect(walk(root)).rejects.toMatchObject({ code: 'FILE_UNSUPPORTED_TYPE', details: { path: 'q/fifo' } });
    const seen: string[] = [];
    const got = await walk(root, { onSpecial: (p) => seen.push(p) });
    expect(seen).toEqual(['q/fifo']);
    expect(got.map((i) => i.path)).toEqual(['a.txt', 'q/b.txt']);
  });

  it('throws PATH_CONTROL_CHAR on a name with a control character, or hands it to onBadName', async () => {
    const root = await makeTree({ 'ok.txt': 'ok', 'tab\there': 't' });
    await expect(walk(root)).rejects.toMatchObject({ code: 'PATH_CONTROL_CHAR' });
    const bad: SnapError[] = [];
    const got = await walk(root, { onBadName: (e) => bad.push(e) });
    expect(bad.map((e) => e.code)).toEqual(['PATH_CONTROL_CHAR']);
    expect(got.map((i) => i.path)).toEqual(['ok.txt']);
  });

  it('throws PATH_INVALID_UTF8 on a name that is not UTF-8', async () => {
    const root = await makeTree({ 'ok.txt': 'ok' });
    await fsp.writeFile(Buffer.concat([Buffer.from(root), Buffer.from([0x2f, 0x80, 0x62])]), 'x');
    await expect(walk(root)).rejects.toMatchObject({ code: 'PATH_INVALID_UTF8' });
  });

  it('throws NOT_FOUND for a missing root and NOT_A_FOLDER for a root that is a file', async () => {
    const root = await makeTree({ 'f.txt': 'f' });
    await expect(walk(join(root, 'missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(walk(join(root, 'f.txt'))).rejects.toMatchObject({ code: 'NOT_A_FOLDER' });
  });

  it('yields nothing for a tree of empty folders', async () => {
    const root = await makeTree({});
    await fsp.mkdir(join(root, 'a', 'b'), { recursive: true });
    expect(await walk(root)).toEqual([]);
  });
});
