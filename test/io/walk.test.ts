/**
 * The dataset walk (SPEC §2): manifest order without a global sort, symlinks recorded and not
 * followed, folders left out, and the names and file types a seal refuses.
 */
import { promises as fsp } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ignore from 'ignore';
import { walkDataset, suggestExclude, type WalkItem } from '../../src/io/walk.js';
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

  it('leaves out of a store inside the dataset (stores) only its own layout, and walks everything else under it as data', async () => {
    const hex = 'ab' + 'c'.repeat(62);
    const root = await makeTree({
      'keep.txt': 'k',
      'st/store.json': '{}',
      'st/log.jsonl': '',
      'st/log.head': '',
      'st/.log.head.0123456789ab.tmp': '',
      [`st/objects/sha256/ab/${hex.slice(2)}`]: 'o',
      'st/snapshots/ds/v1/manifest.jsonl': '',
      'st/snapshots/ds/v1/.envelope.json.0123456789ab.tmp': '',
      [`st/revocations/${hex}/${hex}.json`]: '',
      'st/log.checkpoints/0000000000000003.checkpoint': '',
      'st/attestations/model/v1/statement.json': '',
      'st/poison.jpg': 'p',
      'st/objects/ab/p.jpg': 'p',
      [`st/objects/sha256/ab/${hex.slice(2)}.jpg`]: 'p',
      'st/objects/sha256/AB/x': 'p',
      'st/snapshots/x.jpg': 'p',
      'st/snapshots/ds/v1/x.jpg': 'p',
      'st/snapshots/ds/v1 old/manifest.jsonl': 'p',
      'st/cat/1.jpg': 'p',
      'st/tmp/seal-abc/x': 'p',
      'st/lock/x.jpg': 'p',
      'st/.poison.jpg.0123456789ab.tmp': 'p',
      'st/snaplink': { symlink: 'cat' },
    });
    const got = (await walk(root, { stores: [join(root, 'st')] })).map((i) => i.path);
    expect(got).toEqual([
      'keep.txt',
      'st/.poison.jpg.0123456789ab.tmp',
      'st/cat/1.jpg',
      'st/lock/x.jpg',
      'st/objects/ab/p.jpg',
      'st/objects/sha256/AB/x',
      `st/objects/sha256/ab/${hex.slice(2)}.jpg`,
      'st/poison.jpg',
      'st/snaplink',
      'st/snapshots/ds/v1 old/manifest.jsonl',
      'st/snapshots/ds/v1/x.jpg',
      'st/snapshots/x.jpg',
      'st/tmp/seal-abc/x',
    ]);
    // The seal that holds the store's lock: tmp/ is its own work in progress.
    const sealing = (await walk(root, { stores: [join(root, 'st')], ownStoreTmp: true })).map((i) => i.path);
    expect(sealing).not.toContain('st/tmp/seal-abc/x');
    expect(sealing).toHaveLength(got.length - 1);
    // A store outside the dataset, or the dataset itself, changes nothing.
    expect((await walk(join(root, 'st', 'cat'), { stores: [join(root, 'st')] })).map((i) => i.path)).toEqual(['1.jpg']);
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

  it('throws PATH_INVALID_UTF8 on a name that is not UTF-8, naming it exactly (path decoded without loss, pathHex its bytes)', async () => {
    const root = await makeTree({ 'ok.txt': 'ok' });
    await fsp.writeFile(Buffer.concat([Buffer.from(root), Buffer.from([0x2f, 0x80, 0x62])]), 'x');
    await expect(walk(root)).rejects.toMatchObject({ code: 'PATH_INVALID_UTF8', details: { path: '\udc80b', pathHex: '8062' } });
  });

  it('hands every name that is not UTF-8 to onBadName and walks on, entering a folder of such a name by its bytes', async () => {
    const root = await makeTree({ 'a.txt': 'a', 'z.txt': 'z' });
    const raw = (...parts: (string | number[])[]) => Buffer.concat([Buffer.from(root), ...parts.map((p) => Buffer.from(typeof p === 'string' ? p : p))]);
    await fsp.writeFile(raw('/bad', [0xff], '.csv'), 'x');
    await fsp.mkdir(raw('/d', [0xfe]));
    await fsp.writeFile(raw('/d', [0xfe], '/in.txt'), 'y');
    await fsp.mkdir(raw('/d', [0xfe], '/deeper'));
    await fsp.writeFile(raw('/d', [0xfe], '/deeper/f'), 'z');
    const bad: SnapError[] = [];
    const got = await walk(root, { onBadName: (e) => bad.push(e) });
    expect(got.map((i) => i.path)).toEqual(['a.txt', 'z.txt']);
    expect(bad.map((e) => [e.code, e.details])).toEqual([
      ['PATH_INVALID_UTF8', { path: 'bad\udcff.csv', pathHex: '626164ff2e637376' }],
      ['PATH_INVALID_UTF8', { path: 'd\udcfe/deeper/f', pathHex: Buffer.from('d\xfe/deeper/f', 'latin1').toString('hex') }],
      ['PATH_INVALID_UTF8', { path: 'd\udcfe/in.txt', pathHex: Buffer.from('d\xfe/in.txt', 'latin1').toString('hex') }],
    ]);
  });

  it.each([
    ['bad*', ['a.txt', 'd\udcfe/in.txt']],
    ['*', []],
    ['bad?.csv', ['a.txt', 'd\udcfe/in.txt']],
    ['/d?/', ['a.txt', 'bad\udcff.csv']],
    ['*.csv', ['a.txt', 'd\udcfe/in.txt']],
  ])('lets --exclude %j match names that are not UTF-8 (each such byte is one character)', async (pattern, left) => {
    const root = await makeTree({ 'a.txt': 'a' });
    await fsp.writeFile(Buffer.concat([Buffer.from(root), Buffer.from('/bad'), Buffer.from([0xff]), Buffer.from('.csv')]), 'x');
    await fsp.mkdir(Buffer.concat([Buffer.from(root), Buffer.from('/d'), Buffer.from([0xfe])]));
    await fsp.writeFile(Buffer.concat([Buffer.from(root), Buffer.from('/d'), Buffer.from([0xfe]), Buffer.from('/in.txt')]), 'y');
    const seen: string[] = [];
    const got = await walk(root, { excludes: [pattern], onBadName: (e) => seen.push(String(e.details?.path)) });
    expect([...got.map((i) => i.path), ...seen].sort()).toEqual([...left].sort());
  });

  it('refuses a symbolic link whose target is not UTF-8 (MANIFEST_BAD_TARGET), rather than record a target it read with U+FFFD', async () => {
    const root = await makeTree({ 'a.txt': 'a' });
    await fsp.symlink(Buffer.from([0x61, 0xff]), join(root, 'link'));
    await expect(walk(root)).rejects.toMatchObject({ code: 'MANIFEST_BAD_TARGET', details: { path: 'link', target: 'a\udcff', targetHex: '61ff' } });
    const bad: SnapError[] = [];
    expect((await walk(root, { onBadName: (e) => bad.push(e) })).map((i) => i.path)).toEqual(['a.txt']);
    expect(bad.map((e) => e.code)).toEqual(['MANIFEST_BAD_TARGET']);
  });

  it('records a link target holding U+FFFD itself (valid UTF-8) as it is', async () => {
    const root = await makeTree({ 'link': { symlink: 'a\ufffd' } });
    expect(await walk(root)).toEqual([{ kind: 'symlink', path: 'link', target: 'a\ufffd' }]);
  });

  it('reports a folder name with a control character once per file in it, and an empty one not at all', async () => {
    const root = await makeTree({ 'ok.txt': 'ok', 'x\x1b[2K/a': 'a', 'x\x1b[2K/b': 'b' });
    await fsp.mkdir(join(root, 'empty\n'));
    const bad: SnapError[] = [];
    await walk(root, { onBadName: (e) => bad.push(e) });
    expect(bad.map((e) => [e.code, e.details?.path])).toEqual([
      ['PATH_CONTROL_CHAR', 'x\x1b[2K/a'],
      ['PATH_CONTROL_CHAR', 'x\x1b[2K/b'],
    ]);
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

describe('suggestExclude (the --exclude the error advises)', () => {
  const cases: [string, string, string[]][] = [
    // [refused path, suggestion, paths it must leave in]
    ['bad\udcff.csv', "'/bad?.csv'", ['bad.csv', 'sub/bad\udcff.csv']],
    ['sub/x\x1b[2K\rOK    all good\x1b[8m.csv', "'/sub/x?\\[2K?OK    all good?\\[8m.csv'", ['x\x1b[2K\rOK    all good\x1b[8m.csv']],
    ['d\udcfe/in.txt', "'/d?/'", ['d/in.txt']],
    ['new\nline', "'/new?line'", ['newline']],
    ["it's\t*[a]\\ ", "'/it'\\''s?\\*\\[a\\]\\\\\\ '", ["it's\t"]],
    ['ev\u202eil/x\x7f', "'/ev?il/x?'", []],
  ];
  it.each(cases)('for %j suggests %s, which leaves out that path and no other', (path, suggestion, kept) => {
    expect(suggestExclude(path)).toBe(suggestion);
    const pattern = suggestion.slice(1, -1).replace(/'\\''/g, "'"); // what the shell hands to snap
    const ig = ignore().add(pattern);
    expect(ig.ignores(path)).toBe(true);
    for (const k of kept) expect(ig.ignores(k)).toBe(false);
  });
});
