/**
 * Small files someone else may have planted (io/small-file.ts), read synchronously as
 * `listSnapshots` reads each version's statement: bounded, only a regular file, never waiting on a
 * FIFO — the same answers as the asynchronous reader.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnapError } from '../../src/core/errors.js';
import { readSmallFile, readSmallFileSync } from '../../src/io/small-file.js';
import { tempDir } from '../helpers/tree.js';

const notRegular = (shown: string) => new SnapError('SNAPSHOT_MALFORMED', `${shown} is not a regular file`);

describe('readSmallFileSync', () => {
  it('reads a regular file whole, and at most the limit of a longer one, as readSmallFile does', async () => {
    const dir = await tempDir('snap-small-file-');
    const path = join(dir, 'statement.json');
    await fsp.writeFile(path, 'x'.repeat(1000));
    expect(readSmallFileSync(path, 4096, 'cannot read', notRegular).toString()).toBe('x'.repeat(1000));
    expect(readSmallFileSync(path, 10, 'cannot read', notRegular)).toHaveLength(10);
    expect(readSmallFileSync(path, 10, 'cannot read', notRegular)).toEqual(await readSmallFile(path, 10, 'cannot read', notRegular));
    expect(readSmallFileSync(path, 1001, 'cannot read', notRegular)).toHaveLength(1000);
  });

  it('refuses a FIFO planted in its place at once, unread (the error given), instead of waiting for a writer', async () => {
    const dir = await tempDir('snap-small-file-');
    const path = join(dir, 'statement.json');
    execFileSync('mkfifo', [path]);
    expect(() => readSmallFileSync(path, 4096, 'cannot read', notRegular)).toThrow(expect.objectContaining({ code: 'SNAPSHOT_MALFORMED' }));
  });

  it('refuses a folder with the error given, and says NOT_FOUND for nothing there', async () => {
    const dir = await tempDir('snap-small-file-');
    await fsp.mkdir(join(dir, 'statement.json'));
    expect(() => readSmallFileSync(join(dir, 'statement.json'), 4096, 'cannot read', notRegular)).toThrow(expect.objectContaining({ code: 'SNAPSHOT_MALFORMED' }));
    expect(() => readSmallFileSync(join(dir, 'absent.json'), 4096, 'cannot read', notRegular)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
