#!/usr/bin/env node
// S3 store benchmark (issue 13): `snap seal` and `snap verify` with `--store s3://BUCKET/PREFIX`
// against a plain upload of the same files with @aws-sdk/client-s3 measured in the same run — the
// way `aws s3 cp --recursive` uploads: PutObject of every file, UPLOAD_PARALLELISM requests at a
// time (the AWS CLI's default max_concurrent_requests), multipart (lib-storage, 8 MiB parts, the
// CLI's multipart_threshold / multipart_chunksize) for files of 8 MiB and more.
//
// Each round, each snap command runs right after its own reference upload into a fresh prefix (a
// pair, measured under the same load); each ratio is the median of the per-pair ratios with their
// min–max, for wall time and for CPU-seconds (user + system of the whole process tree, from
// /usr/bin/time; the server's CPU is not in either). The commands, per round r:
//   seal   snap seal DIR --as b@rR --key K --store s3://BUCKET/snap-R   (a fresh store: uploads everything)
//   verify snap verify DIR --against b@rR --pubkey P --store s3://BUCKET/snap-R
//   again  snap seal DIR --as b@againR … --store s3://BUCKET/snap-R    (unchanged data: uploads no object;
//          counted as new object versions under snap-R/objects/ in the versioned bucket, and from --json)
// Peak RSS of every snap run (and of the reference) from /usr/bin/time.
//
// The server is moto_server (scripts/s3-moto.sh, in-memory, on 127.0.0.1), or with --s3-server ceph
// the one-node Ceph RADOS Gateway (scripts/s3-ceph.sh, about 15 s to start). Either is on loopback:
// this measures snap's overhead over a plain upload, not a network. The server is stopped at the
// end, also when a command fails.
//
// The corpus (made once, deterministic, under DIR/s3-corpus-SCALE): round(300 × scale) files of
// 64 KiB – 1 MiB in 10 folders plus one file of round(72 MiB × scale) (above snap's 64 MiB
// multipart threshold at scale 1): about 230 MiB at scale 1, 23 MiB at 0.1.
//
// usage: node bench/s3-bench.mjs [--scale S] [--rounds R] [--dir DIR] [--s3-server moto|ceph] [--json FILE]
//        node bench/s3-bench.mjs --upload DIR s3://BUCKET/PREFIX   (the reference upload alone)
// Also used by bench/run.mjs (benchS3, s3Table).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, createReadStream, promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createCipheriv, createHash } from 'node:crypto';
import { join, dirname, resolve, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Concurrent requests of the reference upload: the AWS CLI's default `max_concurrent_requests`. */
export const UPLOAD_PARALLELISM = 10;
/** Files at least this large go up in parts, as the AWS CLI does (`multipart_threshold`, 8 MiB). */
const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/** Part size of the reference's multipart uploads (the AWS CLI's `multipart_chunksize`). */
const PART_SIZE = 8 * 1024 * 1024;
const KiB = 1024;
const MiB = 1024 * KiB;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs, d = 2) => (xs.length === 0 || xs.some((x) => !Number.isFinite(x)) ? 'n/a' : `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`);

/** S3 client for the reference and the bookkeeping (path-style, from the environment the server gave). */
export async function client(env) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  // The SDK's documented switch for its Node-version notice (as src/s3/client.ts): other warnings still show.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({ endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION ?? 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } });
}

/** Every file under `dir` (relative paths with `/`), sorted. */
async function listFiles(dir) {
  const out = [];
  const walk = async (d) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * The reference: upload every file under `dir` to `s3://bucket/prefix/RELPATH`, UPLOAD_PARALLELISM
 * at a time (PutObject, or a lib-storage multipart upload for files of MULTIPART_THRESHOLD or more).
 */
export async function plainUpload(dir, url, env = process.env) {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new Error(`not s3://BUCKET/PREFIX: ${url}`);
  const [, bucket, prefix] = m;
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const s3 = await client(env);
  const files = await listFiles(dir);
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < files.length) {
      const rel = files[next++];
      const path = join(dir, rel);
      const Key = `${prefix}/${rel}`;
      const { size } = await fsp.stat(path);
      bytes += size;
      if (size >= MULTIPART_THRESHOLD) {
        await new Upload({ client: s3, params: { Bucket: bucket, Key, Body: createReadStream(path) }, partSize: PART_SIZE, queueSize: 1 }).done();
      } else {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: await fsp.readFile(path) }));
      }
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_PARALLELISM }, worker));
  s3.destroy();
  return { files: files.length, bytes };
}

/** Make the corpus (once): see the module comment. Deterministic bytes (AES-256-CTR of zeros). */
export function ensureS3Corpus(base, scale) {
  const dir = join(base, `s3-corpus-${scale}`);
  const marker = join(dir, '.done');
  const data = join(dir, 'data');
  if (existsSync(marker)) return data;
  console.error(`making the S3 corpus at scale ${scale} in ${dir} …`);
  rmSync(dir, { recursive: true, force: true });
  const n = Math.max(10, Math.round(300 * scale));
  const bytesFor = (name, size) => {
    const k = createHash('sha256').update(name).digest();
    return createCipheriv('aes-256-ctr', k, Buffer.alloc(16)).update(Buffer.alloc(size));
  };
  let s = 12345;
  const rnd = () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    const sub = join(data, `part-${String(i % 10).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    const size = 64 * KiB + Math.floor(rnd() * 960 * KiB);
    const name = `f${String(i).padStart(5, '0')}.bin`;
    writeFileSync(join(sub, name), bytesFor(name, size));
  }
  writeFileSync(join(data, 'large.bin'), bytesFor('large', Math.round(72 * MiB * scale)));
  writeFileSync(marker, '');
  return data;
}

/** Run a command (with /usr/bin/time when present): wall ms, CPU ms, peak RSS KiB, stdout. Throws on failure. */
export function run(cmd, argv, env) {
  const full = timeBin ? [timeBin, ['-f', '%M %U %S', cmd, ...argv]] : [cmd, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 1 << 28, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd} ${argv.join(' ')}\n${r.stderr}`);
  let rssKiB = NaN;
  let cpuMs = NaN;
  if (timeBin) {
    const lines = r.stderr.trim().split('\n');
    const [mx, u, sy] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    rssKiB = mx;
    cpuMs = ((u ?? NaN) + (sy ?? NaN)) * 1000;
  }
  return { ms, cpuMs, rssKiB, stdout: r.stdout };
}

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => res(port));
    });
  });
}

/**
 * Start moto or Ceph with the repository's script in a new folder under `work`.
 * @returns {{ env: Record<string,string>, stop: () => void }} stop is synchronous and safe to call twice
 */
export async function startServer(kind, work) {
  const dir = join(work, `s3-${kind}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const script = join(repo, 'scripts', kind === 'ceph' ? 's3-ceph.sh' : 's3-moto.sh');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    spawnSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const t0 = Date.now();
  const r = spawnSync('bash', [script, 'start', dir, String(await freePort())], { encoding: 'utf8', timeout: 240_000 });
  const env = {};
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  if (r.status !== 0 || !env.AWS_ENDPOINT_URL) {
    stop();
    throw new Error(`the ${kind} S3 server did not start (exit ${r.status})\n${r.stderr}`);
  }
  return { env, stop, startMs: Date.now() - t0 };
}

/** Count object versions under a prefix (every version: a write-once store adds none for an object it has). */
async function countVersions(s3, bucket, prefix) {
  const { ListObjectVersionsCommand } = await import('@aws-sdk/client-s3');
  let n = 0;
  let km;
  let vm;
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...(km ? { KeyMarker: km } : {}), ...(vm ? { VersionIdMarker: vm } : {}) }));
    n += (r.Versions ?? []).length;
    if (!r.IsTruncated) return n;
    km = r.NextKeyMarker;
    vm = r.NextVersionIdMarker;
  }
}

/** Delete every version under a prefix (frees the in-memory server between rounds). */
async function deletePrefix(s3, bucket, prefix) {
  const { ListObjectVersionsCommand, DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
    const ids = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
    if (ids.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: ids, Quiet: true } }));
  }
}

/**
 * Benchmark seal / verify / an unchanged second seal to an S3 store against a plain upload.
 * @param {{ data: string, work: string, key: string, pub: string, rounds?: number, server?: 'moto'|'ceph' }} o
 * @returns per-pair times (ms), CPU (ms), ratios, peak RSS (MiB), the second seal's uploads
 */
export async function benchS3(o) {
  const rounds = o.rounds ?? 3;
  const kind = o.server ?? 'moto';
  const server = await startServer(kind, o.work);
  const env = { ...process.env, ...server.env };
  const s3 = await client(server.env);
  try {
    const { CreateBucketCommand, PutBucketVersioningCommand } = await import('@aws-sdk/client-s3');
    const bucket = `snap-bench-${process.pid}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const snap = (...a) => run('node', [cli, ...a], env);
    const upload = async (prefix) => {
      const r = run('node', [fileURLToPath(import.meta.url), '--upload', o.data, `s3://${bucket}/${prefix}`], env);
      await deletePrefix(s3, bucket, `${prefix}/`);
      return r;
    };
    // Warm the page cache, the server and the SDK's modules (not timed).
    await upload('warm');
    const files = (await listFiles(o.data)).length;
    const bytes = (await Promise.all((await listFiles(o.data)).map((f) => fsp.stat(join(o.data, f))))).reduce((a, st) => a + st.size, 0);
    const ms = { reference: [], seal: [], verify: [], again: [] };
    const cpuMs = { reference: [], seal: [], verify: [], again: [] };
    const ratios = { seal: [], verify: [], again: [] };
    const cpuRatios = { seal: [], verify: [], again: [] };
    const rss = { reference: 0, seal: 0, verify: 0, again: 0 };
    let againUploads = 0;
    let firstSealObjects = 0;
    let againNewObjects = 0;
    for (let r = 0; r < rounds; r++) {
      const store = `s3://${bucket}/snap-${r}`;
      const pairs = [
        ['seal', async () => {
          const a = snap('seal', o.data, '--as', `b@r${r}`, '--key', o.key, '--store', store, '--quiet');
          // A check that the count below looks where the objects are: the first seal put one per distinct file.
          firstSealObjects = await countVersions(s3, bucket, `snap-${r}/objects/`);
          return a;
        }],
        ['verify', () => snap('verify', o.data, '--against', `b@r${r}`, '--pubkey', o.pub, '--store', store, '--quiet')],
        ['again', async () => {
          const before = await countVersions(s3, bucket, `snap-${r}/objects/`);
          const a = snap('seal', o.data, '--as', `b@again${r}`, '--key', o.key, '--store', store, '--json');
          againUploads = Math.max(againUploads, (await countVersions(s3, bucket, `snap-${r}/objects/`)) - before);
          againNewObjects = Math.max(againNewObjects, JSON.parse(a.stdout).newObjects);
          return a;
        }],
      ];
      for (const [name, cmd] of pairs) {
        const ref = await upload(`ref-${r}-${name}`);
        const x = await cmd();
        ms.reference.push(ref.ms);
        cpuMs.reference.push(ref.cpuMs);
        rss.reference = Math.max(rss.reference, ref.rssKiB);
        ms[name].push(x.ms);
        cpuMs[name].push(x.cpuMs);
        ratios[name].push(x.ms / ref.ms);
        cpuRatios[name].push(x.cpuMs / ref.cpuMs);
        rss[name] = Math.max(rss[name], x.rssKiB);
      }
      await deletePrefix(s3, bucket, `snap-${r}/`);
    }
    const med = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, Math.round(median(v))]));
    return {
      server: kind,
      serverStartMs: server.startMs,
      files,
      bytes,
      rounds,
      uploadParallelism: UPLOAD_PARALLELISM,
      medianMs: med(ms),
      medianCpuMs: med(cpuMs),
      ms,
      cpuMs,
      ratio: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, median(v)])),
      ratios,
      cpuRatio: Object.fromEntries(Object.entries(cpuRatios).map(([k, v]) => [k, median(v)])),
      cpuRatios,
      peakRssMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round(v / 1024)])),
      firstSealObjectUploads: firstSealObjects,
      secondSealObjectUploads: againUploads,
      secondSealNewObjects: againNewObjects,
    };
  } finally {
    s3.destroy();
    server.stop();
  }
}

/** A markdown table of one benchS3 result. */
export function s3Table(r) {
  const lines = [
    `${r.files} files, ${(r.bytes / MiB).toFixed(0)} MiB; ${r.server} on 127.0.0.1; reference: plain SDK upload, ${r.uploadParallelism} at a time, median ${(r.medianMs.reference / 1000).toFixed(2)} s wall, ${(r.medianCpuMs.reference / 1000).toFixed(2)} CPU-s, peak RSS ${r.peakRssMiB.reference} MiB`,
    '',
    '| command (× plain upload) | wall ratio | CPU-s ratio | median wall s | median CPU-s | peak RSS |',
    '|---|---|---|---|---|---|',
  ];
  const label = { seal: `seal into an empty S3 store (objects uploaded: ${r.firstSealObjectUploads})`, verify: 'verify against the S3 store', again: `unchanged 2nd seal (objects uploaded: ${r.secondSealObjectUploads}, newObjects ${r.secondSealNewObjects})` };
  for (const k of ['seal', 'verify', 'again']) {
    lines.push(`| ${label[k]} | ${spread(r.ratios[k])} | ${spread(r.cpuRatios[k])} | ${(r.medianMs[k] / 1000).toFixed(2)} | ${(r.medianCpuMs[k] / 1000).toFixed(2)} | ${r.peakRssMiB[k]} MiB |`);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------ standalone
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--upload') {
    if (args.length !== 3) {
      console.error('usage: node bench/s3-bench.mjs --upload DIR s3://BUCKET/PREFIX');
      process.exit(2);
    }
    await plainUpload(args[1], args[2]);
  } else {
    const opt = (name, def) => {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : def;
    };
    if (!existsSync(cli)) {
      console.error('dist/cli/main.js is missing: run "npm run build" first');
      process.exit(2);
    }
    const server = opt('s3-server', 'moto');
    if (server !== 'moto' && server !== 'ceph') {
      console.error('--s3-server must be moto or ceph');
      process.exit(2);
    }
    const base = resolve(opt('dir', process.env.SNAP_BENCH_DIR ?? join(tmpdir(), 'snap-bench')));
    const scale = Number(opt('scale', '1'));
    const work = join(base, 'work-s3');
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      const keys = join(work, 'keys');
      spawnSync('node', [cli, 'keygen', 'bench', '--out-dir', keys, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
      const data = ensureS3Corpus(base, scale);
      const r = await benchS3({ data, work, key: join(keys, 'bench.key'), pub: join(keys, 'bench.pub'), rounds: Number(opt('rounds', '3')), server });
      console.log(`\nS3 store (scale ${scale}):\n\n${s3Table(r)}`);
      const jsonOut = opt('json', undefined);
      if (jsonOut) writeFileSync(jsonOut, JSON.stringify(r, null, 2) + '\n');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
