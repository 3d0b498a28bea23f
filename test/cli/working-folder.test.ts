/**
 * The built CLI never lists the working folder nor the folders above it unless a command is given
 * one of them: yargs guessed a version for each parser it made by reading the listing of every
 * folder from the working folder up (escalade, for a package.json), so that a command run inside a
 * dataset of 300,000 files took 170 ms and 38 MB more (scripts/bundle-cli.mjs, `noFindUp`). A
 * preload records every folder the process lists, through `fs` and `fs.promises`.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, makeTree, tempDir } from '../helpers/tree.js';

const SPY = `
const fs = require('node:fs');
const listed = [];
for (const name of ['readdirSync', 'opendirSync', 'readdir', 'opendir']) {
  const original = fs[name];
  fs[name] = function (path, ...rest) { listed.push(String(path)); return original.call(this, path, ...rest); };
}
for (const name of ['readdir', 'opendir']) {
  const original = fs.promises[name];
  fs.promises[name] = function (path, ...rest) { listed.push(String(path)); return original.call(this, path, ...rest); };
}
process.on('exit', () => fs.writeFileSync(process.env.SNAP_TEST_LISTED, JSON.stringify(listed)));
`;

/** The folders `snap ARGS…` listed when run from `cwd` (paths as the process gave them, made absolute). */
async function listedBy(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; listed: string[] }> {
  const dir = await tempDir('snap-listed-');
  const spy = join(dir, 'spy.cjs');
  const out = join(dir, 'listed.json');
  await fsp.writeFile(spy, SPY);
  const r = spawnSync(process.execPath, ['--require', spy, BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', SNAP_TEST_LISTED: out, ...env }, encoding: 'utf8', timeout: 60_000 });
  const listed = JSON.parse(await fsp.readFile(out, 'utf8')) as string[];
  return { code: r.status, listed: listed.map((p) => resolve(cwd, p)) };
}

/** `dir` and every folder above it. */
function foldersUp(dir: string): string[] {
  const out = [dir];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) out.push(dirname(d));
  return out;
}

describe('the working folder', () => {
  it('is never listed by help, version or a command that was not given it (it was: every folder from it up, for each parser yargs made)', async () => {
    const cwd = await makeTree({ 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n' });
    const store = join(await tempDir('snap-listed-store-'), 'store');
    const data = await makeTree({ 'x.txt': 'x\n' });
    const keys = await tempDir('snap-listed-keys-');
    const key = join(keys, 'k');
    const runs = [
      ['--version'],
      ['--help'],
      ['verify', '--help'],
      ['keygen', 'k', '--out-dir', keys],
      ['seal', data, '--as', 'd@v1', '--key', `${key}.key`, '--store', store, '--manifest-only'],
      ['list', '--store', store],
      ['verify', data, '--against', 'd@v1', '--pubkey', `${key}.pub`, '--store', store],
    ];
    const above = new Set(foldersUp(cwd));
    for (const args of runs) {
      const { code, listed } = await listedBy(args, cwd, { SNAP_STATE_DIR: join(store, '..', 'state') });
      expect(code, args.join(' ')).toBe(0);
      expect(listed.filter((p) => above.has(p)), args.join(' ')).toEqual([]);
    }
    // The spy sees what a command is given: `seal .` lists the working folder.
    const own = await listedBy(['seal', '.', '--as', 'd@v2', '--key', `${key}.key`, '--store', store, '--manifest-only'], cwd, { SNAP_STATE_DIR: join(store, '..', 'state') });
    expect(own.code).toBe(0);
    expect(own.listed).toContain(cwd);
  });
});
