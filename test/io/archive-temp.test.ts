/**
 * The temporary file of an archive being written: its name says whose it is, and a writer of the
 * same archive removes only the ones a killed command left (io/archive-temp.ts).
 */
import { promises as fsp, utimesSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tree.js';
import { ARCHIVE_TEMP_ABANDONED_MS, archiveTempPath, isStaleArchiveTemp, parseArchiveTemp, removeStaleArchiveTemps } from '../../src/io/archive-temp.js';

/** The id of a process that has exited (a short child, waited for). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid as number;
}

/** `archiveTempPath(file)`'s name with another pid (the host tag of this host). */
function tempOfPid(file: string, pid: number): string {
  return basename(archiveTempPath(file)).replace(/-\d+-([0-9a-f]{12})\.tmp$/, `-${pid}-$1.tmp`);
}

/** Set a file's mtime `ms` into the past. */
function age(path: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  utimesSync(path, t, t);
}

describe('archive temporary files', () => {
  it('are named after the archive, this host and this process', () => {
    const name = basename(archiveTempPath('/x/ds@v1.snap.tar'));
    expect(name).toMatch(/^\.ds@v1\.snap\.tar\.[0-9a-f]{8}-\d+-[0-9a-f]{12}\.tmp$/);
    expect(parseArchiveTemp('ds@v1.snap.tar', name)).toMatchObject({ pid: process.pid });
    expect(parseArchiveTemp('ds@v1.snap.tar', '.ds@v1.snap.tar.0123456789ab.tmp')).toBe('legacy');
    expect(parseArchiveTemp('ds@v1.snap.tar', '.other.snap.tar.0123456789ab.tmp')).toBeUndefined();
    expect(parseArchiveTemp('ds@v1.snap.tar', 'ds@v1.snap.tar')).toBeUndefined();
  });

  it('of a dead process on this host are stale once untouched for 10 s; of a running one, or touched just now, they are not', () => {
    const file = '/x/a.snap.tar';
    const st = (idleMs: number) => ({ isFile: () => true, uid: process.getuid?.() ?? 0, mtimeMs: Date.now() - idleMs });
    const dead = tempOfPid(file, deadPid());
    expect(isStaleArchiveTemp('a.snap.tar', dead, st(11_000))).toBe(true);
    expect(isStaleArchiveTemp('a.snap.tar', dead, st(1_000))).toBe(false);
    expect(isStaleArchiveTemp('a.snap.tar', tempOfPid(file, process.ppid), st(11_000))).toBe(false);
    expect(isStaleArchiveTemp('a.snap.tar', tempOfPid(file, process.pid), st(11_000))).toBe(false);
  });

  it('from another host, or under the older name, are stale only after an hour untouched; another user\'s never', () => {
    const st = (idleMs: number, uid = process.getuid?.() ?? 0) => ({ isFile: () => true, uid, mtimeMs: Date.now() - idleMs });
    const foreign = `.a.snap.tar.00000000-${deadPid()}-0123456789ab.tmp`;
    expect(isStaleArchiveTemp('a.snap.tar', foreign, st(ARCHIVE_TEMP_ABANDONED_MS - 60_000))).toBe(false);
    expect(isStaleArchiveTemp('a.snap.tar', foreign, st(ARCHIVE_TEMP_ABANDONED_MS + 1))).toBe(true);
    expect(isStaleArchiveTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(60_000))).toBe(false);
    expect(isStaleArchiveTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(ARCHIVE_TEMP_ABANDONED_MS + 1))).toBe(true);
    if (typeof process.getuid === 'function') expect(isStaleArchiveTemp('a.snap.tar', '.a.snap.tar.0123456789ab.tmp', st(ARCHIVE_TEMP_ABANDONED_MS + 1, process.getuid() + 1))).toBe(false);
  });

  it('removeStaleArchiveTemps removes a killed writer\'s file of that archive only', async () => {
    const dir = await tempDir('snap-archive-temp-');
    const file = join(dir, 'a.snap.tar');
    const stale = join(dir, tempOfPid(file, deadPid()));
    const young = join(dir, tempOfPid(file, deadPid()));
    const live = join(dir, tempOfPid(file, process.ppid));
    const other = join(dir, tempOfPid(join(dir, 'b.snap.tar'), deadPid()));
    for (const p of [stale, young, live, other]) await fsp.writeFile(p, 'partial');
    for (const p of [stale, live, other]) age(p, 60_000);
    expect(await removeStaleArchiveTemps(file)).toEqual([stale]);
    expect((await fsp.readdir(dir)).sort()).toEqual([basename(young), basename(live), basename(other)].sort());
  });
});
