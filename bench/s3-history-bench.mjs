#!/usr/bin/env node
// What a store's history costs a reader of an S3 store: `snap verify DIR --against x@1 --store
// s3://…` against a store holding x@1 and a year of CI history — SNAPSHOTS other snapshots and an
// audit log of LOG_LINES lines — paired in each round with the same verify against a store holding
// x@1 alone (the reference: a store with no history), on moto_server (scripts/s3-moto.sh, 127.0.0.1).
// A reader copies only the snapshots its refs name and the log's last line (docs/FORMAT.md §23.5),
// so the ratio should stay near 1 whatever the history; before, each snapshot cost four GETs and
// each log line one.
//
// The history is planted, not sealed (sealing 500 snapshots would take minutes): the other
// snapshots are copies of x@1's commit object and files under y/vNNNN (verify never reads them);
// the log's lines are real audit log lines (io/audit-log.ts appendAudit in a local store, uploaded
// as log/<seq>.jsonl with its log.head), sealed after by x@1's own line.
//
// usage: node bench/s3-history-bench.mjs [--snapshots N] [--log-lines L] [--rounds R] [--data DIR] [--work DIR]
// Prints the per-round wall times and the ratio (median, min–max); exit 1 when a verify fails.
import { existsSync, mkdtempSync, promises as fsp } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { client, run, startServer } from './s3-bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const cli = join(repo, 'dist', 'cli', 'main.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const snapshots = Number(opt('snapshots', '500'));
const logLines = Number(opt('log-lines', '3000'));
const rounds = Number(opt('rounds', '3'));
const data = resolve(opt('data', join(repo, 'examples', 'spamassassin-mini')));
const work = opt('work', mkdtempSync(join(tmpdir(), 'snap-s3-history-')));
const key = join(repo, 'keys.example', 'example-DO-NOT-USE.key');
const pub = join(repo, 'keys.example', 'example-DO-NOT-USE.pub');
if (!existsSync(cli)) throw new Error(`${cli} is missing: npm run build first`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs, d = 2) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

/** Run `fn` over `items`, `jobs` at a time. */
async function eachLimit(items, jobs, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const server = await startServer('moto', work);
try {
  const env = { ...process.env, ...server.env, NODE_NO_WARNINGS: '1' };
  const s3 = await client(server.env);
  const { CreateBucketCommand, PutObjectCommand, ListObjectsV2Command, CopyObjectCommand } = await import('@aws-sdk/client-s3');
  const bucket = `snap-history-${process.pid}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const snap = (...a) => run('node', [cli, ...a], env);

  // The history's log: LOG_LINES real lines made in a local store, uploaded under big/.
  const { appendAudit } = await import(join(repo, 'dist', 'io', 'audit-log.js'));
  const { openStore } = await import(join(repo, 'dist', 'io', 'store.js'));
  const local = await openStore(join(work, 'log-store'), { create: true });
  for (let i = 0; i < logLines; i++) await appendAudit(local.root, { command: 'verify', ref: 'x@1', outcome: 'ok', exit: 0 });
  const lines = logLines > 0 ? (await fsp.readFile(join(local.root, 'log.jsonl'), 'utf8')).split('\n').filter(Boolean) : [];
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big/store.json', Body: '{"format":"snap-store/1"}\n' }));
  await eachLimit(lines.map((l, i) => [l, i]), 32, ([l, i]) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `big/log/${String(i + 1).padStart(12, '0')}.jsonl`, Body: `${l}\n` })));
  if (lines.length > 0) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big/log.head', Body: await fsp.readFile(join(local.root, 'log.head')) }));

  // x@1 in both stores; then SNAPSHOTS copies of it under big/snapshots/y/.
  for (const prefix of ['one', 'big']) snap('seal', data, '--as', 'x@1', '--key', key, '--store', `s3://${bucket}/${prefix}/`);
  const src = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'big/snapshots/x/1/' }))).Contents.map((o) => o.Key);
  const copies = [];
  for (let v = 0; v < snapshots; v++) for (const k of src) copies.push([k, k.replace('snapshots/x/1/', `snapshots/y/v${String(v).padStart(4, '0')}/`)]);
  await eachLimit(copies, 32, ([from, to]) => s3.send(new CopyObjectCommand({ Bucket: bucket, CopySource: `${bucket}/${from}`, Key: to })));

  const verify = (prefix) => snap('verify', data, '--against', 'x@1', '--pubkey', pub, '--store', `s3://${bucket}/${prefix}/`);
  verify('one'); // warm the server, the page cache and the SDK's modules (not timed)
  const ms = { one: [], big: [] };
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const one = verify('one');
    const big = verify('big');
    ms.one.push(one.ms);
    ms.big.push(big.ms);
    ratios.push(big.ms / one.ms);
  }
  console.log(`verify --against x@1 of an S3 store (moto), ${rounds} rounds, ${data}`);
  console.log(`  store with x@1 alone (reference):                  ${spread(ms.one.map((x) => x / 1000))} s`);
  console.log(`  store with ${snapshots} more snapshots and a ${logLines}-line log: ${spread(ms.big.map((x) => x / 1000))} s`);
  console.log(`  ratio (history / none):                            ${spread(ratios)}`);
} finally {
  server.stop();
}
