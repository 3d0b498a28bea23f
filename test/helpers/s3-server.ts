/**
 * Real S3 servers for tests, on 127.0.0.1: Ceph's RADOS Gateway (one-node cluster, in-memory OSD;
 * working Object Lock) and moto_server (honours `If-None-Match: *`). Both are started by the
 * repository's scripts (scripts/s3-ceph.sh, scripts/s3-moto.sh), which a person can run too.
 *
 * A test that needs a server and cannot start it FAILS with the server's log in the error: it is
 * never skipped (issue 13). Start one per test file, in a `beforeAll`, and stop it in `afterAll`
 * (see {@link useS3Server}; several kinds for one file: {@link useS3ServersAtOnce}).
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

/**
 * One server for the tests of one file: started in a `beforeAll` (the returned object's fields are
 * filled then), stopped in `afterAll`. A failure to start fails every test of the file.
 */
export function useS3Server(kind: S3ServerKind): S3Server {
  const holder = {} as S3Server;
  beforeAll(async () => {
    Object.assign(holder, await startS3Server(kind));
  }, START_TIMEOUT_MS[kind] + 30_000);
  afterAll(async () => {
    await holder.stop?.();
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
    const started = await Promise.allSettled(kinds.map((k) => startS3Server(k)));
    started.forEach((r, i) => {
      const kind = kinds[i] as S3ServerKind;
      if (r.status === 'fulfilled') Object.assign(holders.get(kind) as S3Server, r.value);
      else failures.set(kind, r.reason);
    });
  }, Math.max(...kinds.map((k) => START_TIMEOUT_MS[k])) + 30_000);
  afterAll(async () => {
    await Promise.all([...holders.values()].map((h) => h.stop?.()));
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
