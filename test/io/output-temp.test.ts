/**
 * The temporary file of a file written outside the store (an archive, a proof, a report, a key …):
 * its name says whose it is, and a writer of the same file removes only the ones a killed command
 * left (io/output-temp.ts); writeOutputFile writes a small one whole or not at all.
 */
import { promises as fsp, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tree.js';
import { OUTPUT_TEMP_ABANDONED_MS, outputTempPath, isStaleOutputTemp, parseOutputTemp, removeStaleOutputTemps, writeOutputFile } from '../../src/io/output-temp.js';

/** The id of a process that has exited (a short child, waited for). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

/** `outputTempPath(file)`'s name with another pid (the host tag of this host). */
function tempOfPid(file: string, pid: number): string {
  return basename(outputTempPath(file)).replace(/-\d+-([0-9a-f]{12})\.tmp$/, `-${pid}-$1.tmp`);
}

/** Set a file's mtime `ms` into the past. */
function age(path: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  utimesSync(path, t, t);
}

describe('temporary files of an output file', () => {
  it('are named after the archive, this host and this process', () => {
    const name = basename(outputTempPath('/x/ds@v1.snap.tar'));
    expect(name).toMatch(/^\.ds@v1\.snap\.tar\.[0-9a-f]{8}-\d+-[0-9a-f]{12}\.tmp$/);
    expect(parseOutputTemp('ds@v1.snap.tar', name)).toMatchObject({ pid: process.pid });
    expect(parseOutputTemp('ds@v1.snap.tar', '.ds@v1.snap.tar.0123456789ab.tmp')).toBe('legacy');
    expect(parseOutputTemp('ds@v1.snap.tar', '.other.snap.tar.0123456789ab.tmp')).toBeUndefined();
    expect(parseOutputTemp('ds@v1.snap.tar', 'ds@v1.snap.tar')).toBeUndefined();
  });

  it('of a dead process on this host are stale once untouched for 10 s; of a running one, or touched just now, they are not', () => {
    const file = '/x/a.snap.tar';
    const st = (idleMs: number) => ({ isFile: () => true, uid: process.getuid?.() ?? 0, mtimeMs: Date.now() - idleMs });
    const dead = tempOfPid(file, deadPid());
    expect(isStaleOutputTemp('a.snap.tar', dead, st(11_000))).toBe(true);
    expect(isStaleOutputTemp('a.snap.tar', dead, st(1_000))).toBe(false);
    expect(isStaleOutputTemp('a.snap.tar', tempOfPid(file, process.ppid), st(11_000))).toBe(false);
    expect(isStaleOutputTemp('a.snap.tar', tempOfPid(file, process.pid), st(11_000))).toBe(false);
  });

  it('from another host, or under the older name, are stale only after an hour untouched; another user\'s never', () => {
    const st = (idleMs: number, uid = process.getuid?.() ?? 0) => ({ isFile: () => true, uid, mtimeMs: Date.now() - idleMs });
    const foreign = `.a.snap.tar.00000000-${deadPid()}-0123456789ab.tmp`;
    expect(isStaleOutputTemp('a.snap.tar', foreign, st(OUTPUT_TEMP_ABANDONED_MS - 60_000))).toBe(false);
    expect(isStaleOutputTemp('a.snap.tar', foreign, st(OUTPUT_TEMP_ABANDONED_MS + 1))).toBe(true);
    expect(isStaleOutputTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(60_000))).toBe(false);
    expect(isStaleOutputTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(OUTPUT_TEMP_ABANDONED_MS + 1))).toBe(true);
    if (typeof process.getuid === 'function') expect(isStaleOutputTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(OUTPUT_TEMP_ABANDONED_MS + 1, process.getuid() + 1))).toBe(false);
  });

  it('removeStaleOutputTemps removes a killed writer\'s file of that file only', async () => {
    const dir = await tempDir('snap-output-temp-');
    const file = join(dir, 'a.snap.tar');
    const stale = join(dir, tempOfPid(file, deadPid()));
    const young = join(dir, tempOfPid(file, deadPid()));
    const live = join(dir, tempOfPid(file, process.ppid));
    const other = join(dir, tempOfPid(join(dir, 'b.snap.tar'), deadPid()));
    for (const p of [stale, young, live, other]) await fsp.writeFile(p, 'partial');
    for (const p of [stale, live, other]) age(p, 60_000);
    expect(await removeStaleOutputTemps(file)).toEqual([stale]);
    expect((await fsp.readdir(dir)).sort()).toEqual([basename(young), basename(live), basename(other)].sort());
  });
});

describe('writeOutputFile', () => {
  it('writes the file with its mode and leaves no temporary file; exclusive never replaces (FILE_EXISTS), otherwise it replaces', async () => {
    const dir = await tempDir('snap-output-write-');
    const file = join(dir, 'proof.json');
    await writeOutputFile(file, 'one\n', { mode: 0o640, exclusive: true });
    expect(await fsp.readFile(file, 'utf8')).toBe('one\n');
    expect((await fsp.stat(file)).mode & 0o777).toBe(0o640 & ~process.umask());
    await expect(writeOutputFile(file, 'two\n', { mode: 0o644, exclusive: true })).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect(await fsp.readFile(file, 'utf8')).toBe('one\n');
    await writeOutputFile(file, 'three\n', { mode: 0o644 });
    expect(await fsp.readFile(file, 'utf8')).toBe('three\n');
    expect(await fsp.readdir(dir)).toEqual(['proof.json']);
  });

  it('first removes the temporaries a killed writer of that file left, and keeps a running writer\'s and another file\'s', async () => {
    const dir = await tempDir('snap-output-write-');
    const file = join(dir, 'r.html');
    const killed = join(dir, tempOfPid(file, deadPid()));
    const live = join(dir, tempOfPid(file, process.ppid));
    const other = join(dir, tempOfPid(join(dir, 'q.html'), deadPid()));
    for (const p of [killed, live, other]) {
      await fsp.writeFile(p, 'partial');
      age(p, 60_000);
    }
    await writeOutputFile(file, '<p>report</p>\n', { mode: 0o644 });
    expect((await fsp.readdir(dir)).sort()).toEqual([basename(live), basename(other), 'r.html'].sort());
  });

  it('fails with NOT_FOUND in a missing folder, saying what it could not write, and leaves nothing', async () => {
    const dir = await tempDir('snap-output-write-');
    const file = join(dir, 'gone', 'p.json');
    await expect(writeOutputFile(file, 'x', { mode: 0o644, what: 'cannot write the proof' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('cannot write the proof') });
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  // Found by fuzzing the command line: `snap report … -o /dev/full`, run as root, renamed the report
  // over the device node; /dev/full became a regular file holding the page.
  it('refuses to replace what is not a regular file (a FIFO, a folder): FILE_UNSUPPORTED_TYPE, the thing left as it was, no temporary file', async () => {
    const dir = await tempDir('snap-output-write-');
    const fifo = join(dir, 'r.html');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expect(writeOutputFile(fifo, '<p>report</p>\n', { mode: 0o644, what: 'cannot write the report' })).rejects.toMatchObject({ code: 'FILE_UNSUPPORTED_TYPE', message: expect.stringContaining('cannot write the report') });
    expect((await fsp.lstat(fifo)).isFIFO()).toBe(true);
    await fsp.mkdir(join(dir, 'sub'));
    await expect(writeOutputFile(join(dir, 'sub'), 'x', { mode: 0o644 })).rejects.toMatchObject({ code: 'FILE_UNSUPPORTED_TYPE' });
    expect((await fsp.readdir(dir)).sort()).toEqual(['r.html', 'sub']);
  });

  it('replaces a symbolic link itself, never what it points to', async () => {
    const dir = await tempDir('snap-output-write-');
    await fsp.writeFile(join(dir, 'target'), 'kept\n');
    await fsp.symlink('target', join(dir, 'link.html'));
    await writeOutputFile(join(dir, 'link.html'), 'new\n', { mode: 0o644 });
    expect((await fsp.lstat(join(dir, 'link.html'))).isFile()).toBe(true);
    expect(await fsp.readFile(join(dir, 'link.html'), 'utf8')).toBe('new\n');
    expect(await fsp.readFile(join(dir, 'target'), 'utf8')).toBe('kept\n');
  });
});
