/**
 * The built CLI starts from a V8 code cache (scripts/bundle-cli.mjs, scripts/cli-loader.mjs;
 * docs/DESIGN.md, "The CLI as shipped"): `npm run build` leaves one that this Node accepts, and a
 * cache that is missing, damaged, of another build or refused by V8 (made by another Node) changes
 * nothing but the speed. Each case runs the loader from a copy of the built CLI with that cache.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, makeKeyPair, makeTree, tempDir, type KeyPair } from '../helpers/tree.js';

const CLI = join(REPO, 'dist', 'cli');
/** The header line's first word (scripts/cli-loader.mjs). */
const CACHE_MAGIC = 'snap-code-cache-1';
/** Bytes 4–7 of V8's code cache data: the hash of the V8 version that made it. */
const V8_VERSION_HASH_AT = 4;

/** A run of the loader `main` with `args` (from `cwd`): its exit code, output, and what it made of the cache. */
interface ProbeResult {
  code: number | null;
  stdout: string;
  stderr: string;
  state: string | undefined;
}

/**
 * Run `node MAIN ARGS…` through a probe that imports the loader as `node` would run it, then reports
 * its `codeCacheState` on stderr when the process exits.
 */
async function probe(main: string, args: string[], env: Record<string, string>, cwd: string): Promise<ProbeResult> {
  const dir = await tempDir('snap-cache-probe-');
  const probeFile = join(dir, 'probe.mjs');
  await fsp.writeFile(
    probeFile,
    [
      'const [main, ...args] = process.argv.slice(2);',
      'process.argv = [process.argv[0], main, ...args];',
      'const loader = await import(main);',
      "process.on('exit', () => process.stderr.write(`\\ncode-cache-state: ${loader.codeCacheState}\\n`));",
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, [probeFile, main, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 30_000 });
  const m = /\ncode-cache-state: (\S+)\n$/.exec(r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: m ? r.stderr.slice(0, m.index) : r.stderr, state: m?.[1] };
}

let keys: KeyPair;
let data: string;
let env: Record<string, string>;
let work: string;

beforeAll(async () => {
  keys = await makeKeyPair('cache');
  data = await makeTree({ 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' });
  work = await tempDir('snap-cache-work-');
  env = { SNAP_STORE: join(work, 'store'), SNAP_STATE_DIR: join(work, 'state') };
  const sealed = spawnSync(process.execPath, [join(CLI, 'main.js'), 'seal', data, '--as', 'd@v1', '--key', keys.key, '--manifest-only'], { cwd: work, env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(sealed.status, sealed.stderr).toBe(0);
});

const verifyArgs = () => ['verify', data, '--against', 'd@v1', '--pubkey', keys.pub];

describe('the built CLI and its code cache', () => {
  it('npm run build leaves an ASCII bundle that names its build, and a code cache of that build which this Node accepts', async () => {
    const bundle = await fsp.readFile(join(CLI, 'snap.cjs'));
    expect(bundle.every((b) => b < 0x80)).toBe(true);
    const text = bundle.toString('latin1');
    const m = /\/\/# snap-build ([0-9a-f]{64})\n$/.exec(text);
    expect(m?.[1]).toBe(createHash('sha256').update(text.slice(0, m!.index)).digest('hex'));
    const cache = await fsp.readFile(join(CLI, 'snap.cjs.cache'));
    expect(cache.subarray(0, cache.indexOf(10)).toString('latin1').split(' ').slice(0, 2)).toEqual([CACHE_MAGIC, m?.[1]]);

    const r = await probe(join(CLI, 'main.js'), verifyArgs(), env, work);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^OK {4}/);
    expect(r.state).toBe('accepted');
  });

  describe('a cache that cannot be used changes nothing but speed', () => {
    /** What the built cache file holds: its header's words and its V8 data. */
    const built = async () => {
      const bytes = await fsp.readFile(join(CLI, 'snap.cjs.cache'));
      const nl = bytes.indexOf(10);
      return { words: bytes.subarray(0, nl).toString('latin1').split(' '), data: bytes.subarray(nl + 1) };
    };
    const withHeader = (id: string, data: Buffer) => Buffer.concat([Buffer.from(`${CACHE_MAGIC} ${id} ${createHash('sha256').update(data).digest('hex')}\n`), data]);
    const cases: [string, () => Promise<Buffer | undefined>, string][] = [
      ['no cache file', async () => undefined, 'none'],
      ['random bytes', async () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), 'none'],
      ['the cache cut short', async () => (await fsp.readFile(join(CLI, 'snap.cjs.cache'))).subarray(0, 100_000), 'none'],
      [
        'one byte of its V8 data changed',
        async () => {
          const bytes = Buffer.from(await fsp.readFile(join(CLI, 'snap.cjs.cache')));
          bytes.writeUInt8((bytes.readUInt8(bytes.length - 1000) ^ 0x01), bytes.length - 1000);
          return bytes;
        },
        'none',
      ],
      ['a cache of another build of the bundle', async () => withHeader('0'.repeat(64), (await built()).data), 'none'],
      ['V8 data of another script, under this build\u2019s header', async () => withHeader((await built()).words[1] as string, new Script('1 + 1').createCachedData()), 'rejected'],
      [
        'V8 data made by another V8 version (as another Node would), under this build\u2019s header',
        async () => {
          const { words, data } = await built();
          const other = Buffer.from(data);
          other.writeUInt8(other.readUInt8(V8_VERSION_HASH_AT) ^ 0xff, V8_VERSION_HASH_AT);
          return withHeader(words[1] as string, other);
        },
        'rejected',
      ],
    ];

    it.each(cases)('%s: --version and a verify give the same output and exit code', async (_name, make, state) => {
      const copy = await tempDir('snap-cli-copy-');
      for (const f of ['main.js', 'snap.cjs']) await fsp.copyFile(join(CLI, f), join(copy, f));
      const cache = await make();
      if (cache) await fsp.writeFile(join(copy, 'snap.cjs.cache'), cache);

      for (const args of [['--version'], verifyArgs()]) {
        const want = await probe(join(CLI, 'main.js'), args, env, work);
        const got = await probe(join(copy, 'main.js'), args, env, work);
        expect(want.state).toBe('accepted');
        expect(got.state).toBe(state);
        expect({ code: got.code, stdout: got.stdout, stderr: got.stderr }).toEqual({ code: want.code, stdout: want.stdout, stderr: want.stderr });
        expect(got.code).toBe(0);
      }
    });
  });

  it('a seal, a verify and --version load no module of the AWS SDK', async () => {
    const dir = await tempDir('snap-cache-sdk-');
    const preload = join(dir, 'list-modules.cjs');
    await fsp.writeFile(preload, "if (require('node:worker_threads').isMainThread) process.on('exit', () => process.stderr.write(`\\nloaded: ${Object.keys(require.cache).filter((p) => p.includes('node_modules')).length} ${Object.keys(require.cache).filter((p) => /[\\\\/]@(aws-sdk|smithy)[\\\\/]/.test(p)).length}\\n`));\n");
    for (const args of [['--version'], ['seal', data, '--as', 'd@v2', '--key', keys.key, '--manifest-only'], verifyArgs()]) {
      const r = spawnSync(process.execPath, ['--require', preload, join(CLI, 'main.js'), ...args], { cwd: work, env: { ...process.env, ...env }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/\nloaded: \d+ 0\n$/);
    }
  });
});
