/**
 * Ctrl-C stops the short store-writing commands too — sign, revoke, attest, log checkpoint — when
 * it comes before they commit: exit 130, nothing signed, revoked, attested or checkpointed, no lock
 * left, and the same command then works. The signal is sent at each file-system change the command
 * makes before its commit in turn (test/helpers/kill-at-write.cjs, preloaded: the process signals
 * itself just before its N-th change), not at a moment a test could only hope to hit.
 */
import { existsSync, promises as fsp, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapBin, snapJson, tempDir, useKeyPair } from '../helpers/tree.js';

const producer = useKeyPair('producer');
const cosigner = useKeyPair('cosigner');

/** The preload that signals the process before its N-th file-system change. */
const HOOK = join(import.meta.dirname, '..', 'helpers', 'kill-at-write.cjs');

interface Case {
  name: string;
  args: (dir: string) => string[];
  /** A change of the command's commit, or one after it: the signal is sent at every change before the first such. */
  commit: RegExp;
  /** Whether the command's effect is in the store of `dir`. */
  done: (dir: string) => Promise<boolean>;
}

const store = (dir: string) => join(dir, 'store');
const signers = async (dir: string) => ((await snapJson(['show', 'ds@v1', '--store', store(dir)])).json.signers as unknown[]).length;
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

const CASES: Case[] = [
  { name: 'sign', args: (d) => ['sign', 'ds@v1', '--key', cosigner.key, '--store', store(d)], commit: /snapshots\/ds\/v1\/\.envelope\.json/, done: async (d) => (await signers(d)) === 2 },
  { name: 'revoke', args: (d) => ['revoke', 'ds@v1', '--reason', 'flipped labels', '--key', producer.key, '--store', store(d)], commit: /\/revocations\//, done: async (d) => entries(join(store(d), 'revocations')).length > 0 },
  { name: 'attest', args: (d) => ['attest', join(d, 'model.bin'), '--data', 'ds@v1', '--key', producer.key, '--as', 'm@1', '--store', store(d)], commit: /promises\.rename .*\/tmp\/attest-[^/]+$/, done: async (d) => existsSync(join(store(d), 'attestations', 'm', '1')) },
  { name: 'log checkpoint', args: (d) => ['log', 'checkpoint', '--key', producer.key, '--store', store(d)], commit: /\/log\.checkpoints/, done: async (d) => entries(join(store(d), 'log.checkpoints')).length > 0 },
];

/** A folder with a store holding ds@v1 (signed by the producer) and a model file. */
async function template(): Promise<string> {
  const dir = await tempDir('snap-int-short-');
  const data = await makeTree({ 'a.txt': 'one\n', 'b.txt': 'two\n' });
  const r = await snap(['seal', data, '--as', 'ds@v1', '--key', producer.key, '--store', store(dir), '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  await fsp.writeFile(join(dir, 'model.bin'), 'weights\n');
  return dir;
}

/** Run `args` with the preload: signalled before the `at`-th change (none: 0), logging the changes to `log`. */
function run(args: string[], log: string, at = 0) {
  return snapBin(args, { env: { NODE_OPTIONS: `--require ${HOOK}`, SNAP_TEST_KILL_LOG: log, ...(at > 0 ? { SNAP_TEST_KILL_AT: `${at}:SIGINT` } : {}) }, timeoutMs: 20_000 });
}

describe('a short store-writing command that gets SIGINT before it commits', () => {
  for (const c of CASES) {
    it(`${c.name}: exits 130 at every change before its commit, leaving nothing done and no lock, and then works`, async () => {
      const base = await template();
      // One whole run (on a copy) names the changes the command makes, and which is its commit.
      const whole = await tempDir('snap-int-short-');
      await fsp.cp(base, whole, { recursive: true });
      const r = await run(c.args(whole), join(whole, 'changes.log'));
      expect(r.code, r.stderr).toBe(0);
      const changes = readFileSync(join(whole, 'changes.log'), 'utf8').trim().split('\n');
      const commit = changes.findIndex((l) => c.commit.test(l)) + 1;
      expect(commit, `no change of ${c.name} matches ${c.commit}: ${changes.join('\n')}`).toBeGreaterThan(1);
      for (let at = 1; at < commit; at++) {
        const dir = await tempDir('snap-int-short-');
        await fsp.cp(base, dir, { recursive: true });
        const s = await run(c.args(dir), join(dir, 'changes.log'), at);
        const where = `${c.name} signalled before change ${at} (${changes[at - 1]})`;
        expect(s.code, `${where}: ${s.stderr}`).toBe(130);
        expect(s.stderr, where).toContain('[INTERRUPTED]');
        expect(await c.done(dir), `${where}: done anyway`).toBe(false);
        expect(existsSync(join(store(dir), 'lock')), `${where}: lock left`).toBe(false);
        expect(existsSync(join(store(dir), 'log.lock')), `${where}: log.lock left`).toBe(false);
        // What follows the interrupted run is not about a process: it runs in this one (runCli).
        const again = await snap(c.args(dir));
        expect(again.code, `${where}, then run again: ${again.stderr}`).toBe(0);
        expect(await c.done(dir), where).toBe(true);
        expect((await snap(['fsck', '--store', store(dir)])).code, where).toBe(0);
        expect((await snap(['log', '--verify', '--store', store(dir)])).code, where).toBe(0);
      }
    }, 240_000);
  }
});
