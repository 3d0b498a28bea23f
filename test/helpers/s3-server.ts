/**
 * Real S3 servers for tests, on 127.0.0.1: Ceph's RADOS Gateway (one-node cluster, in-memory OSD;
 * working Object Lock) and moto_server (honours `If-None-Match: *`). Both are started by the
 * repository's scripts (scripts/s3-ceph.sh, scripts/s3-moto.sh), which a person can run too.
 *
 * A test that needs a server and cannot start it FAILS with the server's log in the error: it is
 * never skipped (issue 13). A test file takes one with {@link useS3Server} (several kinds:
 * {@link useS3ServersAtOnce}): started in a `beforeAll` by the first file of a test process that
 * needs that kind, and kept for the next files of the process (vitest.config.ts: most files share
 * a process, a file after another) — moto emptied between files (its `/moto-api/reset`), Ceph kept
 * as it is (each test makes its own buckets) — and stopped when the process ends. A start costs a
 * second or two of moto's CPU (15–20 s of waiting for Ceph); 29 files start moto.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { REPO } from './tree.js';

/** A running S3 server and how to reach it. */
export interface S3Server {
  /** Which server: `ceph` (RADOS Gateway 16) or `moto`. */
  kind: S3ServerKind;
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Always `us-east-1`. */
  region: string;
  /** The environment variables that point the AWS SDK (and snap) at this server. */
  env: Record<string, string>;
  /** Stop the server and remove its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export type S3ServerKind = 'ceph' | 'moto';

/** Start-up budgets: Ceph takes about 15-20 s on an idle 2-core machine, moto about 4 s. */
const START_TIMEOUT_MS: Record<S3ServerKind, number> = { ceph: 240_000, moto: 90_000 };

/** A TCP port on 127.0.0.1 that is free now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Run a script; resolves with its exit code, stdout and stderr (killed after `timeoutMs`). */
function runScript(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // SNAP_MOTO_PLANT=1: moto_server with the route plantOnMoto (test/store/s3-fixture.ts) uses.
    const child = spawn('bash', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SNAP_MOTO_PLANT: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}\n${String(e)}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parse the scripts' `export NAME=VALUE` lines. */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

async function readLogs(dir: string): Promise<string> {
  const out: string[] = [];
  for (const sub of ['', 'log']) {
    const names = await fsp.readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const n of names.filter((x) => x.endsWith('.log'))) {
      const text = await fsp.readFile(join(dir, sub, n), 'utf8').catch(() => '');
      out.push(`--- ${join(sub, n)} (last 40 lines)\n${text.split('\n').slice(-40).join('\n')}`);
    }
  }
  return out.join('\n');
}

/**
 * Start a server with its script in a new temporary folder, on a free port.
 * @throws Error (never skips) when it does not start, with the script's output and the server's logs
 */
export async function startS3Server(kind: S3ServerKind): Promise<S3Server> {
  // A port found free can be taken by another file's server before ours binds it: ours then does
  // not start (the scripts check that their own server listens), and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startS3ServerOnce(kind);
    } catch (e) {
      if (attempt >= START_ATTEMPTS) throw e;
    }
  }
}

/** Tries of {@link startS3Server}, each on a new free port. */
const START_ATTEMPTS = 3;

/**
 * `bash -c WATCHDOG watchdog OWNER DIR PID...`: once process OWNER is gone, SIGTERM each PID that is
 * still the process it was when the watchdog started (same command line: a pid used again by
 * another process is left alone), SIGKILL those left after 5 s, and remove DIR.
 */
const WATCHDOG = `owner=$1; dir=$2; shift 2
declare -A was
for p in "$@"; do was[$p]="$(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)"; done
same() { [ -n "\${was[$1]}" ] && [ "$(tr '\\0' ' ' < /proc/$1/cmdline 2>/dev/null)" = "\${was[$1]}" ]; }
while kill -0 "$owner" 2>/dev/null; do sleep 2; done
for p in "$@"; do same "$p" && kill "$p" 2>/dev/null; done
for _ in $(seq 1 50); do left=0; for p in "$@"; do same "$p" && left=1; done; [ "$left" = 0 ] && break; sleep 0.1; done
for p in "$@"; do same "$p" && kill -9 "$p" 2>/dev/null; done
rm -rf "$dir"`;

/** The pids in a started server's pid files (moto: DIR/moto.pid; Ceph: DIR/run/NAME.pid). */
async function daemonPids(dir: string): Promise<string[]> {
  const files = [join(dir, 'moto.pid'), ...(await fsp.readdir(join(dir, 'run')).catch(() => [] as string[])).filter((n) => n.endsWith('.pid')).map((n) => join(dir, 'run', n))];
  const pids = await Promise.all(files.map((f) => fsp.readFile(f, 'utf8').then((t) => t.trim(), () => '')));
  return pids.filter((p) => /^[0-9]+$/.test(p));
}


async function startS3ServerOnce(kind: S3ServerKind): Promise<S3Server> {
  const dir = await fsp.mkdtemp(join(tmpdir(), `snap-s3-${kind}-`));
  const script = join(REPO, 'scripts', kind === 'ceph' ? 's3-ceph.sh' : 's3-moto.sh');
  const port = await freePort();
  const started = await runScript([script, 'start', dir, String(port)], START_TIMEOUT_MS[kind]);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await runScript([script, 'stop', dir], 60_000);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const env = parseEnv(started.stdout);
  if (started.code !== 0 || !env.AWS_ENDPOINT_URL || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    const logs = await readLogs(dir);
    await stop();
    throw new Error(`the ${kind} S3 server did not start (${script} start ${dir} ${port}: exit ${started.code})\n${started.stderr}\n${logs}`);
  }
  // The server outlives this process unless stopped (the scripts start it in its own session): a
  // watchdog stops it and removes its folder once this process is gone, however it ended. It is
  // given the daemons' pids now: by then the script and the folder may be gone (.ci/run removes
  // the copy of the repository and TMPDIR as soon as the tests end).
  spawn('bash', ['-c', WATCHDOG, 'watchdog', String(process.pid), dir, ...(await daemonPids(dir))], { detached: true, stdio: 'ignore' }).unref();
  return {
    kind,
    endpoint: env.AWS_ENDPOINT_URL,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    region: env.AWS_REGION ?? 'us-east-1',
    env: { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, AWS_REGION: env.AWS_REGION ?? 'us-east-1' },
    stop,
  };
}

/** Start a one-node Ceph cluster with the RADOS Gateway (about 15-20 s). @throws Error when it cannot */
export function startCeph(): Promise<S3Server> {
  return startS3Server('ceph');
}

/** Start moto_server (about 4 s). @throws Error when it cannot */
export function startMoto(): Promise<S3Server> {
  return startS3Server('moto');
}

/** The servers this process started, by kind and slot (`moto:0`), kept from one test file for the next ({@link useS3Server}). */
const kept = new Map<string, Promise<S3Server>>();

/** Does the server answer HTTP at all (any status)? */
async function answers(server: S3Server): Promise<boolean> {
  try {
    await fetch(`${server.endpoint}/`, { signal: AbortSignal.timeout(10_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * This process's server of `kind`: the one a previous file used when it still answers, else a new
 * one. @throws Error when it does not start (as {@link startS3Server})
 */
async function serverFor(kind: S3ServerKind, slot: number): Promise<S3Server> {
  const key = `${kind}:${slot}`;
  const before = kept.get(key);
  if (before) {
    const server = await before.catch(() => undefined);
    if (server && (await answers(server))) return server;
    kept.delete(key);
    await server?.stop();
  }
  const starting = startS3Server(kind);
  kept.set(key, starting);
  starting.catch(() => kept.delete(key));
  return starting;
}

/**
 * A file is done with its server: moto is emptied for the next file (every bucket gone, as from a
 * new server); a moto that cannot be emptied is stopped (the next file starts another). Ceph is kept
 * as it is: no test lists the buckets of others.
 */
async function releaseServer(kind: S3ServerKind, slot: number): Promise<void> {
  const key = `${kind}:${slot}`;
  const server = await kept.get(key)?.catch(() => undefined);
  if (!server || kind !== 'moto') return;
  const reset = await fetch(`${server.endpoint}/moto-api/reset`, { method: 'POST', signal: AbortSignal.timeout(60_000) }).then((r) => r.ok, () => false);
  if (!reset) {
    kept.delete(key);
    await server.stop();
  }
}

/**
 * A server for the tests of one file: the process's server of that kind, started in a `beforeAll`
 * when there is none yet (the returned object's fields are filled then), handed on to the next file
 * in `afterAll` (moto emptied). A failure to start fails every test of the file. A file that needs
 * two servers of one kind (two endpoints) asks for the second with `slot` 1.
 */
export function useS3Server(kind: S3ServerKind, slot = 0): S3Server {
  const holder = {} as S3Server;
  beforeAll(async () => {
    Object.assign(holder, await serverFor(kind, slot));
  }, START_TIMEOUT_MS[kind] + 30_000);
  afterAll(async () => {
    await releaseServer(kind, slot);
  }, 90_000);
  return holder;
}

/** What {@link useS3ServersAtOnce} returns. */
export interface S3ServersAtOnce {
  /**
   * The server of `kind`, for the tests of the calling `describe`: a `beforeAll` there fails them
   * (with the start's error, never a skip) when that server did not start.
   */
  use(kind: S3ServerKind): S3Server;
}

/**
 * Servers of several kinds for one file, all started at once in one `beforeAll` of the file and
 * stopped in its `afterAll`: Ceph's start (15-20 s) is mostly waiting, and overlaps moto's start
 * and the moto tests that run meanwhile, where one `beforeAll` per kind would wait for each in
 * turn. Call at the top level of a file; each `describe` takes its server with `use(kind)`. A
 * server that does not start fails the tests that use it (and only those).
 */
export function useS3ServersAtOnce(kinds: readonly S3ServerKind[]): S3ServersAtOnce {
  const holders = new Map(kinds.map((k) => [k, {} as S3Server]));
  const failures = new Map<S3ServerKind, unknown>();
  beforeAll(async () => {
    const started = await Promise.allSettled(kinds.map((k) => serverFor(k, 0)));
    started.forEach((r, i) => {
      const kind = kinds[i] as S3ServerKind;
      if (r.status === 'fulfilled') Object.assign(holders.get(kind) as S3Server, r.value);
      else failures.set(kind, r.reason);
    });
  }, Math.max(...kinds.map((k) => START_TIMEOUT_MS[k])) + 30_000);
  afterAll(async () => {
    await Promise.all(kinds.map((k) => releaseServer(k, 0)));
  }, 90_000);
  return {
    use(kind: S3ServerKind): S3Server {
      const holder = holders.get(kind);
      if (!holder) throw new Error(`useS3ServersAtOnce was not given ${kind}`);
      beforeAll(() => {
        if (failures.has(kind)) throw failures.get(kind);
      });
      return holder;
    },
  };
}
