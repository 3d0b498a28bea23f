/**
 * Test helpers: small inline file trees in temporary folders, the CLI run in-process (`snap`) or
 * as a subprocess of the built binary (`snapBin`), and a fixture key pair made with `snap keygen`.
 *
 * Every folder made here is removed after the test that made it (or after the file, when made in
 * a `beforeAll`).
 */
import { closeSync, openSync, promises as fsp } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, onTestFinished } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { removeAfterFile, removeTree, testStateDir } from './per-file.js';

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built binary (`npm run build` first). */
export const BIN = join(REPO, 'dist', 'cli', 'main.js');
/** The example dataset shipped with the repository. */
export const EXAMPLE = join(REPO, 'examples', 'spamassassin-mini');

/** What a tree holds at a `/`-separated relative path: text, bytes, or a symbolic link. */
export type TreeValue = string | Buffer | { symlink: string };
export type TreeSpec = Record<string, TreeValue>;

// ------------------------------------------------------------------ temporary folders

export { removeTree };

/** A new empty temporary folder, removed after the current test (or after the file). */
export async function tempDir(prefix = 'snap-test-'): Promise<string> {
  const dir = await fsp.mkdtemp(join(tmpdir(), prefix));
  try {
    onTestFinished(() => removeTree(dir));
  } catch {
    removeAfterFile(dir); // not inside a test (e.g. beforeAll): remove when the file is done
  }
  return dir;
}

/** Write `spec` under `root` (folders made as needed; existing files replaced). */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [rel, value] of Object.entries(spec)) {
    const abs = join(root, ...rel.split('/'));
    await fsp.mkdir(dirname(abs), { recursive: true });
    if (typeof value === 'object' && !Buffer.isBuffer(value)) {
      await fsp.rm(abs, { force: true });
      await fsp.symlink(value.symlink, abs);
    } else {
      await fsp.writeFile(abs, value);
    }
  }
}

/**
 * Make a temporary folder holding `spec`: keys are `/`-separated relative paths (nested folders
 * are created), values are text, bytes or `{ symlink: target }`.
 * @returns the folder's absolute path
 */
export async function makeTree(spec: TreeSpec): Promise<string> {
  const root = await tempDir();
  await writeTree(root, spec);
  return root;
}

/** Copy a folder tree (e.g. the example dataset) into a new temporary folder. */
export async function copyTree(src: string): Promise<string> {
  const root = await tempDir();
  await fsp.cp(src, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/** Make a path (file or folder tree) readable by every user: folders 0755, files 0644. */
export async function shareWithEveryone(path: string): Promise<void> {
  const st = await fsp.lstat(path);
  if (st.isSymbolicLink()) return;
  if (!st.isDirectory()) {
    await fsp.chmod(path, 0o644);
    return;
  }
  await fsp.chmod(path, 0o755);
  for (const n of await fsp.readdir(path)) await shareWithEveryone(join(path, n));
}

// ------------------------------------------------------------------ running the CLI

/** What a run of the CLI produced. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of a CLI run. */
export interface RunOptions {
  /** Working folder (default: the test process's). */
  cwd?: string;
  /** Added to (or, as `undefined`, removed from) a copy of the environment. */
  env?: Record<string, string | undefined>;
}

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    cb();
  }
}

/** The environment a run sees: the test process's, without variables that would change snap's behaviour. */
function runEnv(extra: RunOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SNAP_STATE_DIR: testStateDir() };
  delete env.SNAP_STORE;
  delete env.SNAP_TEST_MUTATE_DURING_READ;
  delete env.SNAP_TEST_REPLACE_BEFORE_OPEN;
  delete env.SNAP_TEST_SWAP_FILE;
  delete env.SNAP_TEST_HOLD_OUTPUT_TEMP;
  delete env.SNAP_TEST_HOLD_PROBE;
  delete env.SNAP_TEST_RECORD_WORKERS;
  delete env.SNAP_TEST_WORKER_DEATH;
  delete env.SNAP_TEST_KILL_AT;
  delete env.NO_COLOR;
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * `NODE_OPTIONS` for a CLI run in a small V8 heap of `mib` MiB (`--max-old-space-size`), the way the
 * memory-bound tests prove a command streams. The young generation is kept to 1 MiB semi-spaces
 * (`--max-semi-space-size=1`): with V8's default young generation beside an old space this small,
 * the committed heap sat at the limit and V8 marked the whole heap every few milliseconds although
 * the live heap was a third of it (prune --json over 60,000 objects in 24 MiB: 8.1 CPU-s, 2.2 with
 * this; 50,000 failed opens in 32 MiB: 75 CPU-s, 1.9 with this). The bound tested is the same: the
 * old space, where whatever a command holds ends up.
 */
export function heapLimit(mib: number): string {
  return `--max-old-space-size=${mib} --max-semi-space-size=1`;
}

/** Run `snap ARGS` in this process (runCli) with captured, non-terminal stdout and stderr. */
export async function snap(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(args, { stdout, stderr, env: runEnv(opts.env), cwd: opts.cwd ?? process.cwd() });
  await new Promise((r) => setImmediate(r));
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/**
 * Run `snap ARGS --json` in this process and parse stdout, which must be exactly one JSON document.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function snapJson<T = any>(args: string[], opts: RunOptions = {}): Promise<RunResult & { json: T }> {
  const r = await snap([...args, '--json'], opts);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`snap ${args.join(' ')} --json (exit ${r.code}) did not print one JSON document on stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { ...r, json };
}

/** Options of a subprocess run. */
export interface BinOptions extends RunOptions {
  /** Run as this user and group (the test process must be root). */
  uid?: number;
  gid?: number;
  /** Kill the process after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  /** A command (and its arguments) to run node through, e.g. `setpriv …`. */
  wrap?: string[];
  /** Open this file (e.g. `/dev/full`) as the process's stdout or stderr instead of a pipe (that output is then not captured). */
  stdoutFile?: string;
  stderrFile?: string;
}

/** A subprocess run's result; `signal` is set when it was killed. */
export interface BinResult extends RunResult {
  signal: NodeJS.Signals | null;
}

/**
 * Start `snap ARGS` (a `--json` command that streams a long document), press Ctrl-C (SIGINT) once
 * its first bytes are on stdout, and check what a stopped command must leave: exit 130 and one
 * whole document, as `JSON.stringify(doc, null, 2)` writes it.
 * @returns the document, for the caller's checks of what was listed so far
 */
export async function jsonStoppedByCtrlC(args: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const { child, done } = spawnSnap(args, { timeoutMs: 110_000 });
  await new Promise<void>((res) => child.stdout?.once('data', () => res()));
  child.kill('SIGINT');
  const r = await done;
  expect(r.code, r.stderr.slice(-400)).toBe(130);
  const doc = JSON.parse(r.stdout);
  expect(r.stdout).toBe(JSON.stringify(doc, null, 2) + '\n');
  expect(doc).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } });
  return doc;
}

/** Start `node dist/cli/main.js ARGS` as a subprocess; `done` resolves when it exits. */
export function spawnSnap(args: string[], opts: BinOptions = {}): { child: ChildProcess; done: Promise<BinResult> } {
  const argv = [...(opts.wrap ?? []), process.execPath, BIN, ...args];
  // A file given as stdout or stderr is open in the child only (spawn dups it): closed here at once.
  const files = [opts.stdoutFile, opts.stderrFile].map((f) => (f === undefined ? 'pipe' : openSync(f, 'w')));
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: opts.cwd ?? process.cwd(),
    env: runEnv(opts.env),
    stdio: ['ignore', files[0] as number | 'pipe', files[1] as number | 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  for (const fd of files) if (typeof fd === 'number') closeSync(fd);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const done = new Promise<BinResult>((res, rej) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? -1, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/**
 * Resolve once `child` (from {@link spawnSnap}) has written `text` on its stderr — e.g. the note
 * that it waits for a lock, so a test acts when the child really waits rather than after a guessed
 * time. Rejects if the child exits first, or after `ms`.
 */
export function stderrSays(child: ChildProcess, text: string, ms = 20_000): Promise<void> {
  return new Promise<void>((res, rej) => {
    let seen = '';
    const stop = (e?: Error) => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('close', onClose);
      if (e) rej(e);
      else res();
    };
    const onData = (d: string | Buffer) => {
      seen += String(d);
      if (seen.includes(text)) stop();
    };
    const onClose = () => stop(new Error(`the child exited before it wrote ${JSON.stringify(text)} on stderr (it wrote: ${JSON.stringify(seen)})`));
    const timer = setTimeout(() => stop(new Error(`no ${JSON.stringify(text)} on stderr after ${ms} ms (it wrote: ${JSON.stringify(seen)})`)), ms);
    child.stderr?.on('data', onData);
    child.on('close', onClose);
  });
}

/**
 * Options that make a subprocess subject to file permissions even when the tests run as root (as
 * they do in CI): run as the user "nobody" (65534) when it can read the built CLI; otherwise (a
 * checkout under a private folder) stay root but without the capabilities that bypass permission
 * checks (`setpriv`, util-linux). Not root: nothing to do.
 * With uid 65534, whatever the run reads must be readable by others ({@link shareWithEveryone}).
 */
export function unprivileged(): BinOptions {
  if (process.getuid?.() !== 0) return {};
  const probe = `const fs = require('node:fs'); for (const p of ${JSON.stringify([BIN, join(REPO, 'node_modules', 'yargs', 'package.json')])}) fs.accessSync(p, fs.constants.R_OK);`;
  if (spawnSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, stdio: 'ignore' }).status === 0) return { uid: 65534, gid: 65534 };
  return { wrap: ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'] };
}

/** Run `node dist/cli/main.js ARGS` as a subprocess and wait for it. */
export function snapBin(args: string[], opts: BinOptions = {}): Promise<BinResult> {
  return spawnSnap(args, opts).done;
}

// ------------------------------------------------------------------ keys

/** A key pair made by `snap keygen`. */
export interface KeyPair {
  dir: string;
  /** Private key file (PKCS#8 PEM, 0600). */
  key: string;
  /** Public key file (SPKI PEM). */
  pub: string;
  keyid: string;
}

/** Make a key pair with `snap keygen NAME` in a new temporary folder. */
export async function makeKeyPair(name = 'test'): Promise<KeyPair> {
  const dir = await tempDir('snap-keys-');
  const r = await snapJson<{ keyid: string; key: string; pub: string }>(['keygen', name, '--out-dir', dir]);
  if (r.code !== 0) throw new Error(`snap keygen failed (exit ${r.code}): ${r.stderr}`);
  return { dir, key: r.json.key, pub: r.json.pub, keyid: r.json.keyid };
}

/**
 * A fixture key pair made once for the test file (in a `beforeAll`); its fields are filled in
 * before the first test runs.
 */
export function useKeyPair(name = 'test'): KeyPair {
  const kp = { dir: '', key: '', pub: '', keyid: '' } as KeyPair;
  // Registered where this is called (the file's top level or a describe block).
  beforeAll(async () => {
    Object.assign(kp, await makeKeyPair(name));
  });
  return kp;
}
