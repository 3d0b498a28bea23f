/**
 * The examples of `snap COMMAND --help` run as shown: a reader who pastes them into a shell, in
 * order, with the key files and data they name, sees each exit 0 — not a usage error for a role
 * no key has yet, nor a record key the bundled example dataset does not use.
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO, snap, tempDir } from '../helpers/tree.js';

/** The commands of a command's `--help` examples, each continued line joined to its command. */
async function examplesOf(command: string): Promise<string[]> {
  const help = (await snap([command, '--help'], { env: { COLUMNS: '300' } })).stdout;
  const block = help.split(/\n\n/).find((b) => b.startsWith('Examples:')) ?? '';
  const commands: string[] = [];
  let continued = false;
  for (const line of block.split('\n').slice(1).map((l) => l.trim()).filter(Boolean)) {
    if (continued) commands[commands.length - 1] += ` ${line.replace(/ \\$/, '')}`;
    else if (!line.startsWith('#')) commands.push(line.replace(/ \\$/, ''));
    continued = !line.startsWith('#') && line.endsWith(' \\');
  }
  return commands;
}

/** Run one example line with bash in `cwd`, `snap` being the built CLI. */
function run(line: string, cwd: string) {
  const prelude = `snap() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }\n`;
  const env: NodeJS.ProcessEnv = { ...process.env, SNAP_STATE_DIR: join(cwd, '.state'), NO_COLOR: '1' };
  delete env.SNAP_STORE;
  const r = spawnSync('bash', ['-c', prelude + line], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Make the key pairs NAME.key / NAME.pub in `dir`. */
function keys(dir: string, ...names: string[]): void {
  for (const n of names) expect(run(`snap keygen ${n}`, dir).code).toBe(0);
}

describe('the examples of --help run as shown', () => {
  it('policy: init, add-key, rule and sign, pasted in order, each exit 0, the rule naming only roles a key was given', async () => {
    const dir = await tempDir('snap-help-policy-');
    const lines = await examplesOf('policy');
    const actions = lines.map((l) => l.split(' ')[2]);
    expect(actions[0]).toBe('init');
    expect(actions).toContain('rule');
    expect(actions.at(-1)).toBe('sign');
    // The keys the examples name, as --root-key/--pub (a .pub) and --key (a .key).
    const named = new Set(lines.flatMap((l) => [...l.matchAll(/--(?:root-key|pub|key) (\S+)\.(?:pub|key)\b/g)].map((m) => m[1] as string)));
    keys(dir, ...named);
    for (const line of lines) {
      const r = run(line, dir);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
  }, 60_000);

  it('prove and verify-proof: the record proof of the bundled examples/tabular is made and checks out', async () => {
    const dir = await tempDir('snap-help-prove-');
    keys(dir, 'ci');
    const proveLine = (await examplesOf('prove')).find((l) => l.includes('--record')) as string;
    const checkLine = (await examplesOf('verify-proof')).find((l) => l.includes('proof.json') && !l.includes('--file') && !l.startsWith('snap verify-proof ham-')) as string;
    expect(proveLine).toBeDefined();
    expect(checkLine).toBeDefined();
    // The snapshot the example names, sealed from the bundled dataset with its own snap.json.
    const ref = proveLine.split(' ')[2] as string;
    await fsp.cp(join(REPO, 'examples', 'tabular'), join(dir, 'tabular'), { recursive: true });
    expect(run(`snap seal tabular --as ${ref} --key ci.key`, dir).code).toBe(0);
    const made = run(proveLine, dir);
    expect(made.code, `${proveLine}\n${made.stderr}`).toBe(0);
    const checked = run(checkLine, dir);
    expect(checked.code, `${checkLine}\n${checked.stderr}`).toBe(0);
    expect(checked.stdout).toMatch(/^OK {4}record /);
  }, 60_000);
});
