/**
 * The archive format (docs/FORMAT.md §10): `snap export` is deterministic (the same snapshot gives
 * byte-identical archives), two independent tar implementations — GNU tar and node-tar (the npm
 * package `tar`, not the tar-stream that snap writes with) — list the members as documented (order,
 * r--r--r--, 0/0, mtime = createdAt) and extract it to the original tree, and export refuses what
 * it cannot archive with the documented codes and leaves no file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, makeTree, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import { diffTrees, exists, headers, tarList } from './helpers.js';
import { spawnSync } from 'node:child_process';
import * as nodeTar from 'tar';
import { writeArchive } from '../../src/io/archive.js';
import { isSnapError } from '../../src/core/errors.js';

/** SHA-256 of the worked example (docs/FORMAT.md §7) as an archive, docs/FORMAT.md §10.7. */
const WORKED_EXAMPLE_ARCHIVE_SHA256 = '228e393eedf59c971a14b465a57688c0eae8c991e5abe2b3c389aecf31def02b';

const keys = useKeyPair('archive');

const LONG = `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/file-with-a-long-name-${'x'.repeat(60)}.txt`;
const SPEC = {
  'a.txt': 'alpha\n',
  'b/c.txt': 'gamma\n',
  'b/link': { symlink: '../a.txt' },
  'empty': '',
  'ünïcødé/名前.txt': 'non-ascii name\n',
  [LONG]: 'a path longer than 100 bytes\n',
};

async function sealed(spec: Record<string, string | Buffer | { symlink: string }> = SPEC, extra: string[] = []) {
  const data = await makeTree(spec);
  const work = await tempDir('snap-arch-');
  const store = join(work, 'store');
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, ...extra]);
  expect(s.code, s.stderr).toBe(0);
  return { data, work, store, snapshot: s.json.snapshot as string, createdAt: s.json.createdAt as string };
}

describe('snap export: a deterministic archive', () => {
  it('gives byte-identical archives when one snapshot is exported twice', async () => {
    const { work, store, snapshot } = await sealed();
    const a = join(work, 'one.snap.tar');
    const b = join(work, 'two.snap.tar');
    const r1 = await snapJson(['export', 'ds@v1', '-o', a, '--store', store]);
    const r2 = await snapJson(['export', snapshot, '-o', b, '--store', store]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r1.json).toMatchObject({ ok: true, ref: 'ds@v1', snapshot, files: 5, symlinks: 1 });
    const [x, y] = await Promise.all([fsp.readFile(a), fsp.readFile(b)]);
    expect(x.length).toBe(r1.json.archiveBytes);
    expect(x.equals(y)).toBe(true);
  });

  it('is listed by GNU tar as documented: snap/ members first, then data/ in manifest order; r--r--r--, 0/0, mtime = createdAt', async () => {
    const { work, store, createdAt } = await sealed();
    const file = join(work, 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const lines = tarList(file);
    const stamp = `${createdAt.slice(0, 10)} ${createdAt.slice(11, 16)}`;
    const names = lines.map((l) => l.split(/\s+/).slice(5).join(' '));
    expect(names).toEqual([
      'snap/statement.json',
      'snap/envelope.json',
      'snap/manifest.jsonl',
      'data/a.txt',
      'data/b/c.txt',
      'data/b/link -> ../a.txt',
      `data/${LONG}`,
      'data/empty',
      'data/ünïcødé/名前.txt',
    ]);
    for (const l of lines) {
      const [mode, owner, , day, time] = l.split(/\s+/);
      expect(mode === '-r--r--r--' || (mode === 'lrwxrwxrwx' && l.includes(' -> ')), l).toBe(true);
      expect(owner, l).toBe('0/0');
      expect(`${day} ${time}`, l).toBe(stamp);
    }
  });

  it('is listed by node-tar with the same members, in the same order, and the same header fields as GNU tar', async () => {
    const { data, work, store, createdAt } = await sealed();
    const file = join(work, 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const seen: { name: string; type: string; mode?: number; uid?: number; gid?: number; mtime?: string; size: number; body: Buffer }[] = [];
    // strict: every warning node-tar would raise (bad checksum, bad pax record, truncation) fails the listing.
    await nodeTar.t({
      file,
      strict: true,
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => {
          seen.push({
            name: e.type === 'SymbolicLink' ? `${e.path} -> ${e.linkpath}` : e.path,
            type: e.type,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime?.toISOString().replace('.000Z', 'Z'),
            size: e.size,
            body: Buffer.concat(chunks),
          });
        });
      },
    });
    const gnu = tarList(file).map((l) => l.split(/\s+/).slice(5).join(' '));
    expect(seen.map((m) => m.name)).toEqual(gnu);
    expect(seen.length).toBe(9);
    for (const m of seen) {
      expect(m.type === 'File' || m.type === 'SymbolicLink', m.name).toBe(true);
      expect(m.mode, m.name).toBe(m.type === 'SymbolicLink' ? 0o777 : 0o444);
      expect([m.uid, m.gid], m.name).toEqual([0, 0]);
      expect(m.mtime, m.name).toBe(createdAt);
      expect(m.body.length, m.name).toBe(m.size);
      const [top, ...rest] = m.name.split('/');
      const path = rest.join('/');
      if (m.type === 'SymbolicLink') {
        expect(m.size, m.name).toBe(0);
        expect(m.name).toBe(`data/${path.split(' -> ')[0]} -> ${await fsp.readlink(join(data, path.split(' -> ')[0] as string))}`);
      } else if (top === 'data') {
        expect(m.body.equals(await fsp.readFile(join(data, path))), m.name).toBe(true);
      } else {
        expect(m.body.equals(await fsp.readFile(join(store, 'snapshots', 'ds', 'v1', path))), m.name).toBe(true);
      }
    }
  });

  it.each([
    [
      'GNU tar',
      async (file: string, out: string) => {
        const x = spawnSync('tar', ['-xf', file, '-C', out], { encoding: 'utf8' });
        expect(x.status, `tar -xf: ${x.stderr}${x.error ?? ''}`).toBe(0);
      },
    ],
    // node-tar: strict, so that any warning is an error rather than a skipped member.
    ['node-tar', async (file: string, out: string) => nodeTar.x({ file, cwd: out, strict: true })],
  ])('is extracted by %s to the original tree under data/', async (name, extract) => {
    const { data, work, store } = await sealed();
    const file = join(work, 'ds@v1.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const out = join(work, `x-${name.replace(/\W/g, '-')}`);
    await fsp.mkdir(out);
    await extract(file, out);
    expect(diffTrees(data, join(out, 'data'))).toEqual({ code: 0, out: '' });
    expect((await fsp.readdir(out)).sort()).toEqual(['data', 'snap']);
    expect((await fsp.readdir(join(out, 'snap'))).sort()).toEqual(['envelope.json', 'manifest.jsonl', 'statement.json']);
    for (const f of ['envelope.json', 'manifest.jsonl', 'statement.json']) {
      expect((await fsp.readFile(join(out, 'snap', f))).equals(await fsp.readFile(join(store, 'snapshots', 'ds', 'v1', f))), f).toBe(true);
    }
  });

  it('fixes every header field: uid/gid 0, empty user and group names, mode 0444 (files) / 0777 (links), mtime = createdAt', async () => {
    const { work, store, createdAt } = await sealed();
    const file = join(work, 'x.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const hs = await headers(file);
    expect(hs.length).toBe(9);
    for (const h of hs) {
      expect(h.uid).toBe(0);
      expect(h.gid).toBe(0);
      expect(h.uname).toBe('');
      expect(h.gname).toBe('');
      expect(h.mtime.toISOString().replace('.000Z', 'Z')).toBe(createdAt);
      expect(h.type === 'file' || h.type === 'symlink').toBe(true);
      expect(h.mode).toBe(h.type === 'symlink' ? 0o777 : 0o444);
    }
    const manifest = hs.find((h) => h.name === 'snap/manifest.jsonl');
    expect(manifest?.size).toBe((await fsp.stat(join(store, 'snapshots', 'ds', 'v1', 'manifest.jsonl'))).size);
  });

  it('holds a short non-ASCII link text in the ustar link name, and a link text over 100 bytes in a pax header with path and linkpath (FORMAT §10.2)', async () => {
    const long = 'l'.repeat(120);
    const { work, store } = await sealed({ 'é.txt': 'x\n', 'short': { symlink: 'é.txt' }, 'long': { symlink: long } });
    const file = join(work, 'links.snap.tar');
    expect((await snapJson(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const raw = await fsp.readFile(file);
    const short = raw.indexOf(Buffer.from('data/short\0'));
    expect(short % 512).toBe(0); // a ustar header of its own name: no pax header before it
    expect(raw.subarray(short + 157, short + 157 + 7)).toEqual(Buffer.from('é.txt\0'));
    const pax = raw.indexOf(Buffer.from(` path=data/long\n`));
    expect(pax).toBeGreaterThan(0);
    expect(raw.indexOf(Buffer.from(` linkpath=${long}\n`))).toBeGreaterThan(pax);
    expect(raw.indexOf(Buffer.from('data/long\0'))).toBe(-1); // only in the pax record
  });

  it('writes the default file name NAME@VERSION.snap.tar in the working folder when -o is left out', async () => {
    const { work, store } = await sealed({ 'a.txt': 'a' });
    const r = await snapJson(['export', 'ds@v1', '--store', store], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.archive).toBe(join(work, 'ds@v1.snap.tar'));
    expect(await exists(join(work, 'ds@v1.snap.tar'))).toBe(true);
  });
});

describe('the worked example as an archive (docs/FORMAT.md §10.7)', () => {
  it('has exactly the documented bytes: 7168 bytes, SHA-256 as documented', async () => {
    const fx = JSON.parse(await fsp.readFile(join(REPO, 'test', 'fixtures', 'worked-example.json'), 'utf8')) as {
      files: { path: string; contentUtf8: string }[];
      manifestLines: string[];
      statement: string;
      envelope: string;
    };
    const work = await tempDir('snap-golden-');
    for (const f of fx.files) {
      await fsp.mkdir(join(work, 'data', f.path, '..'), { recursive: true });
      await fsp.writeFile(join(work, 'data', f.path), f.contentUtf8);
    }
    await fsp.writeFile(join(work, 'manifest.jsonl'), fx.manifestLines.map((l) => l + '\n').join(''));
    const out = join(work, 'demo@v1.snap.tar');
    const r = await writeArchive(out, {
      statementBytes: Buffer.from(fx.statement),
      envelopeBytes: Buffer.from(fx.envelope),
      manifestPath: join(work, 'manifest.jsonl'),
      createdAt: JSON.parse(fx.statement).predicate.createdAt,
      filePath: (e) => join(work, 'data', e.path),
      mismatch: (e, why) => new Error(`${e.path}: ${why}`) as never,
    });
    const bytes = await fsp.readFile(out);
    expect(r.archiveBytes).toBe(7168);
    expect(bytes.length).toBe(7168);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(WORKED_EXAMPLE_ARCHIVE_SHA256);
    expect(tarList(out)).toEqual([
      '-r--r--r-- 0/0             524 2026-11-21 10:00 snap/statement.json',
      '-r--r--r-- 0/0             948 2026-11-21 10:00 snap/envelope.json',
      '-r--r--r-- 0/0             213 2026-11-21 10:00 snap/manifest.jsonl',
      '-r--r--r-- 0/0               6 2026-11-21 10:00 data/ham/a.txt',
      '-r--r--r-- 0/0               6 2026-11-21 10:00 data/spam/b.txt',
    ]);
    // docs/FORMAT.md §10.7 gives this size and digest (and the members' sizes) as computed here.
    const doc = await fsp.readFile(join(REPO, 'docs', 'FORMAT.md'), 'utf8');
    const s107 = doc.slice(doc.indexOf('### 10.7 Worked example'), doc.indexOf('\n## 11.'));
    expect(s107.replace(/\s+/g, ' ')).toContain(`— is ${bytes.length} bytes (12 blocks of members, 2 end blocks), with SHA-256 \`${createHash('sha256').update(bytes).digest('hex')}\``);
    expect(s107.replace(/\s+/g, ' ')).toContain(`\`snap/statement.json\` (${fx.statement.length} bytes), \`snap/envelope.json\` (${fx.envelope.length}), \`snap/manifest.jsonl\` (${fx.manifestLines.join('\n').length + 1})`);
    // A second write refuses to replace it.
    const again = await writeArchive(out, { statementBytes: Buffer.from(fx.statement), envelopeBytes: Buffer.from(fx.envelope), manifestPath: join(work, 'manifest.jsonl'), createdAt: '2026-11-21T10:00:00Z', filePath: (e) => join(work, 'data', e.path), mismatch: () => new Error('x') as never }).catch((e: unknown) => e);
    expect(isSnapError(again, 'FILE_EXISTS')).toBe(true);
  });
});

describe('snap export: refusals leave no file', () => {
  /** Nothing but `keep` in the folder: no archive, no temporary file. */
  async function onlyThere(dir: string, keep: string[]): Promise<void> {
    expect((await fsp.readdir(dir)).sort()).toEqual(keep.sort());
  }

  it('never overwrites an existing file (FILE_EXISTS, exit 3)', async () => {
    const { work, store } = await sealed({ 'a.txt': 'a' });
    const file = join(work, 'taken.snap.tar');
    await fsp.writeFile(file, 'precious');
    const r = await snapJson(['export', 'ds@v1', '-o', file, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('FILE_EXISTS');
    expect(await fsp.readFile(file, 'utf8')).toBe('precious');
    await onlyThere(work, ['store', 'taken.snap.tar']);
  });

  it('refuses a snapshot sealed --manifest-only (SNAPSHOT_NO_CONTENTS, exit 3)', async () => {
    const { work, store } = await sealed({ 'a.txt': 'a' }, ['--manifest-only']);
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SNAPSHOT_NO_CONTENTS');
    await onlyThere(work, ['store']);
  });

  it('refuses when an object is missing from the store (OBJECT_MISSING, exit 3), leaving no partial archive', async () => {
    const { work, store } = await sealed({ 'a.txt': 'first', 'z.txt': 'last one' });
    const gone = join(store, 'objects', 'sha256');
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update('last one').digest('hex');
    await fsp.rm(join(gone, hex.slice(0, 2), hex.slice(2)));
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('OBJECT_MISSING');
    await onlyThere(work, ['store']);
  });

  it('refuses a corrupt object (OBJECT_CORRUPT, exit 1): every object is hashed as it is packed', async () => {
    const { work, store } = await sealed({ 'a.txt': 'first', 'z.txt': 'last one' });
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update('last one').digest('hex');
    const obj = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.chmod(obj, 0o644);
    await fsp.writeFile(obj, 'LAST ONE');
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('OBJECT_CORRUPT');
    await onlyThere(work, ['store']);
  });

  it.each([
    ['a folder', async (obj: string) => fsp.mkdir(obj)],
    ['a link to a file with the right bytes', async (obj: string) => (await fsp.writeFile(`${obj}.real`, 'last one'), fsp.symlink(`${obj}.real`, obj))],
    ['a FIFO', async (obj: string) => void spawnSync('mkfifo', [obj])],
    ['a longer file', async (obj: string) => fsp.writeFile(obj, 'last one, and more')],
    ['a shorter file', async (obj: string) => fsp.writeFile(obj, 'last')],
  ])('refuses an object that is now %s (OBJECT_CORRUPT, exit 1), never blocking on it', async (_what, replace) => {
    const { work, store } = await sealed({ 'a.txt': 'first', 'z.txt': 'last one' });
    const { createHash } = await import('node:crypto');
    const hex = createHash('sha256').update('last one').digest('hex');
    const obj = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.rm(obj);
    await replace(obj);
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('OBJECT_CORRUPT');
    expect(await exists(join(work, 'x.snap.tar'))).toBe(false);
  });

  it('refuses a snapshot holding a link that leaves the dataset (SNAPSHOT_UNSAFE, exit 3)', async () => {
    const { work, store } = await sealed({ 'a.txt': 'a', 'out': { symlink: '../../etc/passwd' } });
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.snap.tar'), '--store', store]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('SNAPSHOT_UNSAFE');
    await onlyThere(work, ['store']);
  });

  it('wants an archive name ending in .snap.tar (USAGE, exit 2)', async () => {
    const { work, store } = await sealed({ 'a.txt': 'a' });
    const r = await snapJson(['export', 'ds@v1', '-o', join(work, 'x.tar'), '--store', store]);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE');
    await onlyThere(work, ['store']);
  });
});
