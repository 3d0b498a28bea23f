/**
 * README's walk-throughs, run as written: the shell block of "The two-person rule" is taken from
 * README.md, each command run by bash in a fresh folder (with `snap` the built CLI and `python
 * train.py` a stand-in that says it ran), and each must exit as the README's prose says — and the
 * claims after the block (before bob signs, the gate exits 1 with POLICY_NOT_SATISFIED; a
 * revocation by bob makes it refuse with SNAPSHOT_REVOKED, naming bob and the reason) hold.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, REPO, makeTree, tempDir } from '../helpers/tree.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

/** The commands of the first ```sh block after `heading`: comments dropped, `\` continuations joined. */
function shellBlock(heading: string): string[] {
  const at = readme.indexOf(heading);
  expect(at, heading).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1] ?? '';
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Run one README command line in `cwd` with bash; `snap` is the built CLI, `python` a stand-in. */
function run(line: string, cwd: string, env: NodeJS.ProcessEnv) {
  const prelude = `snap() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }\npython() { echo "TRAINED $*"; }\n`;
  const r = spawnSync('bash', ['-c', prelude + line], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('README, "The two-person rule"', () => {
  it('runs as written: each command exits as the prose says, and training starts only with both signatures', async () => {
    const lines = shellBlock('### The two-person rule');
    const work = await tempDir('snap-readme-');
    await fsp.rename(await makeTree({ 'a.txt': 'a\n', 'b/c.txt': 'c\n' }), join(work, 'data'));
    const env = { ...process.env, SNAP_STATE_DIR: join(work, 'state'), SNAP_STORE: join(work, 'store'), NO_COLOR: '1' };
    const gate = lines.at(-1) as string;
    expect(gate).toMatch(/^snap verify data\/ --against fraud-train@v3 --policy policy\.json .*&& python train\.py$/);
    for (const line of lines) {
      if (line.startsWith('snap seal ')) {
        // The block diffs fraud-train@v2 with v3: the previous version alice sealed, made here first.
        expect(run(line.replace('fraud-train@v3', 'fraud-train@v2'), work, env).code).toBe(0);
        await fsp.writeFile(join(work, 'data', 'new.txt'), 'a new file in v3\n');
      }
      if (line.startsWith('snap sign ')) {
        // "Before bob signs, the last command exits 1 with POLICY_NOT_SATISFIED ("missing 1 more reviewer")".
        const before = run(gate.replace(' && python train.py', ' --json'), work, env);
        expect(before.code, before.stderr).toBe(1);
        const claim = /Before bob signs, the last command exits 1 with `([A-Z_]+)` \("([^"]+)"\)/.exec(readme);
        expect(claim).not.toBeNull();
        expect(JSON.parse(before.stdout).failure).toMatchObject({ code: claim![1], message: expect.stringContaining(claim![2] as string) });
      }
      const r = run(line, work, env);
      // diff exits 1 when the two snapshots differ (they do: v3 adds a file); every other command 0.
      expect(r.code, `${line}\n${r.stderr}`).toBe(line.startsWith('snap diff ') ? 1 : 0);
    }
    expect(run(gate, work, env).stdout).toContain('TRAINED train.py');

    // "snap revoke fraud-train@v3 --reason "…" --key bob.key makes every later verify refuse it".
    const revoke = /`(snap revoke fraud-train@v3 --reason "…" --key bob\.key)`/.exec(readme)?.[1] as string;
    expect(revoke).toBeDefined();
    expect(run(revoke.replace('…', 'flipped labels'), work, env).code).toBe(0);
    const after = run(gate.replace(' && python train.py', ' --json'), work, env);
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout).failure).toMatchObject({ code: 'SNAPSHOT_REVOKED', message: expect.stringMatching(/bob.*flipped labels/) });
  }, 120_000);
});

describe('README, "Use"', () => {
  it('the keys every command of the block uses are the files its keygen line writes', () => {
    const lines = shellBlock('## Use');
    const keygen = /^snap keygen (\S+) --out-dir (\S+)$/.exec(lines[0] as string);
    expect(keygen, lines[0]).not.toBeNull();
    const [, name, dir] = keygen as RegExpExecArray;
    const written = [`${dir}/${name}.key`, `${dir}/${name}.pub`];
    const used = lines.flatMap((l) => [...l.matchAll(/--(?:key|pubkey) (\S+)/g)].map((m) => m[1] as string));
    expect(new Set(used), 'the seal signs with the .key, the gate checks with the .pub').toEqual(new Set(written));
    for (const key of used) expect(written, `a key named in README's "Use": ${key}`).toContain(key);
  });

  it('its first three lines run as written: keygen, seal, then the gate exits 0', async () => {
    const [keygen, seal, gate] = shellBlock('## Use');
    const work = await tempDir('snap-readme-use-');
    await fsp.rename(await makeTree({ 'a.txt': 'a\n', 'b/c.txt': 'c\n' }), join(work, 'data'));
    const env = { ...process.env, HOME: join(work, 'home'), SNAP_STATE_DIR: join(work, 'state'), SNAP_STORE: join(work, 'store'), NO_COLOR: '1' };
    for (const line of [keygen, seal] as string[]) {
      const r = run(line, work, env);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
    const r = run(gate as string, work, env);
    expect(r.code, `${gate}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('TRAINED train.py');
  }, 60_000);
});
