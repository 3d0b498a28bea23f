/**
 * The second command name (issue 8, item 8): package.json installs the CLI as `snap` and as
 * `snapds` (Ubuntu's snapd owns `/usr/bin/snap`). Run through links made from package.json's `bin`
 * map, as npm makes them, each name works and its usage, help and error lines name the program as
 * it was invoked.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/tree.js';
import { DEFAULT_PROGRAM_NAME, PROGRAM_NAMES, programNameOf } from '../../src/cli/program-name.js';

const pkg = JSON.parse(await fsp.readFile(join(REPO, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

/** A folder holding one link per entry of package.json's `bin`, pointing where npm would point it. */
async function binFolder(): Promise<string> {
  const dir = await tempDir('snap-bin-');
  for (const [name, target] of Object.entries(pkg.bin)) await fsp.symlink(join(REPO, target), join(dir, name));
  return dir;
}

/** Run the program through its link NAME in `bin` (node runs the link, so `process.argv[1]` is the link). */
function run(bin: string, name: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(bin, name), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('package.json installs two command names', () => {
  it('maps both snap and snapds to the same built CLI, and nothing else', () => {
    expect(pkg.bin).toEqual({ snap: 'dist/cli/main.js', snapds: 'dist/cli/main.js' });
    expect(Object.keys(pkg.bin).sort()).toEqual([...PROGRAM_NAMES].sort());
  });
});

describe.each(PROGRAM_NAMES.map((n) => [n]))('the CLI run as %s', (name) => {
  it('prints the package version for --version and exits 0', async () => {
    const r = run(await binFolder(), name, ['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('names itself in --help: the title, the usage line and every command line', async () => {
    const r = run(await binFolder(), name, ['--help']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]?.startsWith(`${name} — `)).toBe(true);
    expect(lines).toContain(`Usage: ${name} <command> [options]`);
    const commandLines = lines.filter((l) => /^ {2}\S+ (keygen|seal|verify|diff|list|show|export|import|restore|fsck|log)\b/.test(l));
    expect(commandLines.length).toBeGreaterThanOrEqual(11);
    for (const l of commandLines) expect(l.startsWith(`  ${name} `), l).toBe(true);
  });

  it('names itself in a command\'s --help examples', async () => {
    const r = run(await binFolder(), name, ['verify', '--help']);
    expect(r.code, r.stderr).toBe(0);
    const examples = r.stdout.slice(r.stdout.indexOf('Examples:'));
    expect(examples).toContain(`  ${name} verify `);
    expect(examples).not.toContain('$0');
  });

  it('names itself in a usage error: exit 2, USAGE', async () => {
    const r = run(await binFolder(), name, ['nosuch-command', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('USAGE');
    expect(r.stderr.startsWith(`${name}: `), r.stderr).toBe(true);
  });

  it('names itself in a command\'s error: exit 3, NOT_FOUND for a store that does not exist', async () => {
    const work = await tempDir();
    const r = run(await binFolder(), name, ['list', '--store', join(work, 'no-store'), '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe('NOT_FOUND');
    expect(r.stderr.startsWith(`${name} list: `), r.stderr).toBe(true);
  });

  it('names itself in a failed check\'s line: bom of a snapshot no --pubkey key signed, exit 1, no BOM', async () => {
    const bin = await binFolder();
    const work = await tempDir();
    const data = join(work, 'data');
    await fsp.mkdir(data);
    await fsp.writeFile(join(data, 'a.txt'), 'alpha\n');
    for (const k of ['signer', 'stranger']) expect(run(bin, name, ['keygen', k, '--out-dir', work]).code).toBe(0);
    const store = join(work, 'store');
    expect(run(bin, name, ['seal', data, '--as', 'ds@v1', '--key', join(work, 'signer.key'), '--store', store]).code).toBe(0);
    const r = run(bin, name, ['bom', 'ds@v1', '--pubkey', join(work, 'stranger.pub'), '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`${name} bom: not written: `), r.stderr).toBe(true);
  });
});

describe('programNameOf', () => {
  it('gives the base name of the script path when it is one of the installed names', () => {
    expect(programNameOf('/usr/local/bin/snapds')).toBe('snapds');
    expect(programNameOf('/usr/local/bin/snap')).toBe('snap');
    expect(programNameOf('node_modules/.bin/snapds')).toBe('snapds');
  });

  it('falls back to snap for any other path, so nothing from the path reaches the output', () => {
    expect(DEFAULT_PROGRAM_NAME).toBe('snap');
    for (const p of [undefined, '', '/repo/dist/cli/main.js', '/bin/snapds2', '/bin/snap\x1b[2K', '/bin/SNAPDS']) {
      expect(programNameOf(p), String(p)).toBe('snap');
    }
  });
});
