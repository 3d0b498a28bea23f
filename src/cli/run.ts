/**
 * The `snap` command line: parses arguments with yargs, calls the library, prints. Nothing here
 * decides integrity; exit codes come from `exit-codes.ts`.
 */
import yargs, { type Argv } from 'yargs';
import { resolve, relative } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { SnapError, isSnapError } from '../core/errors.js';
import type { TrustedKey } from '../core/envelope.js';
import { readPrivateKey, readPublicKey, writeKeyPair } from '../io/keyfile.js';
import { storePath, resolveRef, openStore, listSnapshots, isSnapshotFolder, type SnapshotLocation } from '../io/store.js';
import { seal } from '../seal.js';
import { verify, type VerifyReport, type Problem } from '../verify.js';
import { diff, isIdentical, type DiffInput, type DiffReport, type DiffSide } from '../diff.js';
import { readSnapshotUnverified } from '../snapshot.js';
import { isSymlinkEntry } from '../core/manifest.js';
import { TOOL_VERSION } from '../version.js';
import { EXIT_INTEGRITY, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { formatBytes, plural, shortDigest, shortId, shortKeyid, styler } from './format.js';
import { progressReporter } from './progress.js';

/** Where the CLI reads and writes; `process` by default, replaced in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

interface Common {
  store?: string;
  json?: boolean;
  quiet?: boolean;
  jobs?: number;
  debug?: boolean;
}

const EPILOG = `Exit codes: 0 success · 1 integrity failure (data differs, signature missing/invalid/untrusted, differences found) · 2 usage error · 3 input or environment error.
Store: --store PATH, else $SNAP_STORE, else ./.snap.   Docs: README.md, docs/FORMAT.md`;

function parser(): Argv {
  return yargs()
    .scriptName('snap')
    .usage('snap — tamper-evident training data: seal a dataset into a signed Merkle manifest, verify it before training, diff snapshots in an incident.\n\nUsage: snap <command> [options]')
    .command('keygen <name>', 'Make an Ed25519 key pair NAME.key (0600) and NAME.pub; never overwrites', (y) =>
      y
        .positional('name', { type: 'string', describe: 'base name of the two files' })
        .option('out-dir', { type: 'string', default: '.', describe: 'folder to write the key pair into' })
        .option('passphrase-env', { type: 'string', describe: 'encrypt NAME.key with the passphrase in this environment variable' })
        .example('snap keygen release --out-dir ~/.snap-keys', 'writes ~/.snap-keys/release.key and release.pub'),
    )
    .command('seal <dir>', 'Hash every file of DIR, build and sign its manifest, keep a deduplicated copy in the store', (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the dataset folder' })
        .option('as', { type: 'string', demandOption: true, describe: 'NAME@VERSION of the new snapshot (e.g. fraud-train@model-v3)' })
        .option('key', { type: 'string', demandOption: true, describe: 'private key file (PKCS#8 PEM) to sign with' })
        .option('passphrase-env', { type: 'string', describe: 'environment variable holding the key passphrase' })
        .option('parent', { type: 'string', describe: 'ref of the previous version (default: newest snapshot of NAME)' })
        .option('no-parent', { type: 'boolean', describe: 'record no parent' })
        .option('exclude', { type: 'string', array: true, default: [], describe: 'gitignore-style pattern to leave out (repeatable; recorded in the statement)' })
        .option('manifest-only', { type: 'boolean', default: false, describe: 'record and sign only; keep no copy of the contents' })
        .example('snap seal data/ --as spam@v1 --key keys/ci.key', 'seal data/ into ./.snap as spam@v1'),
    )
    .command('verify <dir>', 'The pre-training gate: exit 0 only if DIR is byte for byte what a trusted key signed', (y) =>
      y
        .positional('dir', { type: 'string', describe: 'the dataset folder to check' })
        .option('against', { type: 'string', demandOption: true, describe: 'snapshot ref: NAME@VERSION, snapshot id (or 8+ hex prefix), or snapshot folder' })
        .option('pubkey', { type: 'string', array: true, demandOption: true, describe: 'trusted public key file (SPKI PEM); repeatable' })
        .option('threshold', { type: 'number', default: 1, describe: 'how many distinct trusted keys must have signed' })
        .example('snap verify data/ --against spam@v1 --pubkey keys/ci.pub', 'exit 0: train; exit 1: stop'),
    )
    .command('diff <a> <b>', 'What changed between two snapshots, or a snapshot and a folder (exit 1 when they differ)', (y) =>
      y
        .positional('a', { type: 'string', describe: 'a ref or a folder' })
        .positional('b', { type: 'string', describe: 'a ref or a folder' })
        .option('pubkey', { type: 'string', array: true, describe: 'check each snapshot side\'s signers against these public keys' })
        .example('snap diff spam@v1 spam@v2', 'added, removed, modified and renamed files'),
    )
    .command('list [name]', 'List the snapshots in the store (all, or of one NAME)', (y) => y.positional('name', { type: 'string' }))
    .command('show <ref>', 'Show one snapshot: statement, signers, counts', (y) => y.positional('ref', { type: 'string' }))
    .option('store', { type: 'string', describe: 'store folder (default: $SNAP_STORE, else ./.snap)', global: true })
    .option('json', { type: 'boolean', describe: 'one JSON document on stdout, nothing else', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress, only the verdict', global: true })
    .option('jobs', { alias: 'j', type: 'number', describe: 'hashing worker threads (default: number of cores)', global: true })
    .option('debug', { type: 'boolean', describe: 'show stack traces', global: true, hidden: false })
    .demandCommand(1, 'Name a command: keygen, seal, verify, diff, list or show (snap --help).')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(TOOL_VERSION)
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100));
}

/** Parse argv; yargs prints nothing itself: help, version and errors come back to us. */
async function parse(argv: string[]): Promise<{ args?: Record<string, unknown>; output?: string; error?: string }> {
  return new Promise((res) => {
    parser().parse(argv, {}, (err: Error | undefined, args: Record<string, unknown>, output: string) => {
      if (err) res({ error: err.message, output });
      else res({ args, output });
    });
  });
}

function jsonOut(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function checkJobs(jobs: unknown): number | undefined {
  if (jobs === undefined) return undefined;
  if (typeof jobs !== 'number' || !Number.isSafeInteger(jobs) || jobs < 1 || jobs > 256) throw new SnapError('USAGE', `--jobs must be a whole number from 1 to 256, got ${String(jobs)}`);
  return jobs;
}

function passphrase(io: CliIo, envName: unknown): string | undefined {
  if (envName === undefined) return undefined;
  const v = io.env[String(envName)];
  if (v === undefined || v === '') throw new SnapError('KEY_PASSPHRASE_REQUIRED', `--passphrase-env ${String(envName)}: that environment variable is not set`);
  return v;
}

async function trustedKeys(paths: string[], cwd: string): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const p of paths) keys.push(await readPublicKey(resolve(cwd, p)));
  return keys;
}

/** Resolve a ref, accepting snapshot folders relative to cwd. */
async function locate(text: string, io: CliIo, store: string): Promise<SnapshotLocation> {
  const asPath = resolve(io.cwd, text);
  if ((text.includes('/') || text.startsWith('.')) && existsSync(asPath)) return resolveRef(asPath, store).then((l) => ({ ...l, ref: text }));
  return resolveRef(text, store);
}

/** The store folder, when it lies inside `dir` (then it is left out of the walk). */
function storeInside(dir: string, store: string): string[] {
  const rel = relative(resolve(dir), store);
  return rel !== '' && !rel.startsWith('..') ? [store] : [];
}

// ---------------------------------------------------------------- commands

async function cmdKeygen(a: Record<string, unknown>, io: CliIo): Promise<number> {
  const r = await writeKeyPair(resolve(io.cwd, String(a['out-dir'] ?? '.')), String(a.name), { passphrase: passphrase(io, a['passphrase-env']) });
  if (a.json) jsonOut(io, { keyid: r.keyid, key: r.keyPath, pub: r.pubPath });
  else {
    io.stdout.write(`${r.keyid}\n`);
    if (!a.quiet) io.stderr.write(`wrote ${r.keyPath} (private, mode 0600: keep it secret) and ${r.pubPath} (public: give it to verifiers)\n`);
  }
  return EXIT_OK;
}

async function cmdSeal(a: Record<string, unknown> & Common, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const key = await readPrivateKey(resolve(io.cwd, String(a.key)), { passphrase: passphrase(io, a['passphrase-env']) });
  const dir = resolve(io.cwd, String(a.dir));
  const progress = await progressReporter(!a.quiet && !a.json && !!io.stderr.isTTY, io.stderr as NodeJS.WriteStream, 'sealing');
  let r;
  try {
    r = await seal({
      dir,
      as: String(a.as),
      key,
      store,
      parent: a['no-parent'] || a.parent === false ? null : (a.parent as string | undefined),
      excludes: (a.exclude as string[]) ?? [],
      manifestOnly: !!a['manifest-only'],
      jobs: checkJobs(a.jobs),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
  if (a.json) {
    jsonOut(io, {
      ok: true, ref: r.ref, snapshot: r.snapshot, files: r.files, bytes: r.bytes, merkleRoot: r.merkleRoot, manifestSha256: r.manifestSha256,
      signer: r.keyid, createdAt: r.createdAt, ...(r.parent ? { parent: r.parent } : {}), newObjects: r.newObjects, newObjectBytes: r.newObjectBytes,
      seconds: Number(r.seconds.toFixed(3)), store, manifestOnly: !!a['manifest-only'],
    });
  } else {
    const lines = [
      `sealed ${r.ref}`,
      `  snapshot     ${r.snapshot}`,
      `  files        ${r.files.toLocaleString('en-US')} (${formatBytes(r.bytes)})`,
      `  merkle root  ${r.merkleRoot}`,
      `  signed by    ${r.keyid}`,
      ...(r.parent ? [`  parent       ${r.parent}`] : []),
      a['manifest-only'] ? `  contents     not kept (--manifest-only)` : `  store        ${store}: ${plural(r.newObjects, 'new object')} (${formatBytes(r.newObjectBytes)})`,
      `  took         ${r.seconds.toFixed(2)} s (${formatBytes(r.bytes / Math.max(r.seconds, 1e-3))}/s)`,
    ];
    io.stdout.write(lines.join('\n') + '\n');
  }
  return EXIT_OK;
}

function describeProblem(p: Problem): string {
  const e = p.expected as Record<string, unknown> | undefined;
  const x = p.actual as Record<string, unknown> | undefined;
  const sz = (o?: Record<string, unknown>) => (o && typeof o.size === 'number' ? formatBytes(o.size) : '');
  const dg = (o?: Record<string, unknown>) => (o && typeof o.sha256 === 'string' ? shortDigest(o.sha256) : o && typeof o.target === 'string' ? `→ ${o.target}` : '');
  switch (p.kind) {
    case 'modified':
      return `${p.path}  ${sz(e)} ${dg(e)} → now ${sz(x)} ${dg(x)}`.replace(/\s+/g, ' ');
    case 'missing':
      return `${p.path}  (${[sz(e), dg(e)].filter(Boolean).join(' ')})`;
    case 'extra':
      return `${p.path}${p.reason ? `  (${p.reason})` : ''}`;
    case 'type-changed':
      return `${p.path}  was ${e && 'target' in e ? 'a symlink' : 'a file'}, now ${x && 'target' in x ? 'a symlink' : String(x?.type ?? 'something else')}`;
    default:
      return `${p.path}${p.reason ? `  (${p.reason})` : ''}`;
  }
}

function printVerify(r: VerifyReport, dir: string, io: CliIo, color: boolean): void {
  const s = styler(color);
  const signers = r.signers.filter((x) => x.trusted).map((x) => shortKeyid(x.keyid));
  const out: string[] = [];
  if (r.ok) {
    out.push(`${s.green(s.bold('OK'))}    ${dir} matches ${r.ref} (${shortId(r.snapshot)}): ${plural(r.counts.matched, 'file')}, ${formatBytes(r.bytes)}, signed by ${signers.join(', ')}`);
  } else if (r.failure) {
    out.push(`${s.red(s.bold('FAIL'))}  ${r.ref} (${shortId(r.snapshot)}) cannot be trusted: ${r.failure.message}`);
    for (const g of r.signers) out.push(`  signature keyid ${shortKeyid(g.keyid) || '(none)'}: ${g.trusted ? 'trusted' : (g.reason ?? 'untrusted')}`);
    out.push('  No data check is trusted. Do not train on this data.');
  } else {
    const parts = (['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const).filter((k) => r.counts[k] > 0).map((k) => `${r.counts[k]} ${k}`);
    out.push(`${s.red(s.bold('FAIL'))}  ${dir} differs from ${r.ref} (${shortId(r.snapshot)}): ${parts.join(', ')}; ${plural(r.counts.matched, 'file')} matched`);
    out.push(`  signed by ${signers.join(', ')} (trusted)`);
    for (const kind of ['modified', 'missing', 'extra', 'type-changed', 'unreadable'] as const) {
      const list = r.problems.filter((p) => p.kind === kind);
      if (list.length === 0) continue;
      out.push(`${s.bold(kind)} (${list.length}):`);
      for (const p of list.slice(0, 20)) out.push(`  ${describeProblem(p)}`);
      if (list.length > 20) out.push(`  … and ${list.length - 20} more (--json lists all)`);
    }
  }
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdVerify(a: Record<string, unknown> & Common, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const threshold = a.threshold as number;
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new SnapError('USAGE', `--threshold must be a whole number of at least 1, got ${String(a.threshold)}`);
  const trusted = await trustedKeys(a.pubkey as string[], io.cwd);
  const snapshot = await locate(String(a.against), io, store);
  const dir = resolve(io.cwd, String(a.dir));
  if (!existsSync(dir)) throw new SnapError('NOT_FOUND', `the dataset folder ${dir} does not exist`, { path: dir });
  if (!statSync(dir).isDirectory()) throw new SnapError('USAGE', `${dir} is not a folder`, { path: dir });
  const progress = await progressReporter(!a.quiet && !a.json && !!io.stderr.isTTY, io.stderr as NodeJS.WriteStream, 'verifying');
  let r: VerifyReport;
  try {
    r = await verify({ dir, snapshot, trusted, threshold, jobs: checkJobs(a.jobs), skipDirs: storeInside(dir, store), onProgress: (p) => progress.update(p) });
  } finally {
    progress.stop();
  }
  if (a.json) {
    jsonOut(io, {
      ok: r.ok, snapshot: r.snapshot, ref: r.ref,
      signers: r.signers.map((x) => ({ keyid: x.keyid, trusted: x.trusted, ...(x.reason ? { reason: x.reason } : {}) })),
      ...(r.failure ? { failure: r.failure } : {}),
      counts: r.counts, problems: r.problems, manifest: r.manifest, files: r.files, bytes: r.bytes, seconds: Number(r.seconds.toFixed(3)),
    });
  } else printVerify(r, String(a.dir), io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return r.ok ? EXIT_OK : EXIT_INTEGRITY;
}

async function diffInput(text: string, io: CliIo, store: string): Promise<DiffInput> {
  const p = resolve(io.cwd, text);
  if (existsSync(p) && statSync(p).isDirectory() && !isSnapshotFolder(p)) return { kind: 'folder', path: p };
  return { kind: 'snapshot', location: await locate(text, io, store) };
}

function sideName(s: DiffSide): string {
  return 'folder' in s ? s.folder : `${s.ref} (${shortId(s.snapshot)}, ${s.createdAt}, signed by ${s.signers.map((g) => shortKeyid(g.keyid) + (g.trusted === undefined ? '' : g.trusted ? ' trusted' : ' UNTRUSTED')).join(', ') || 'nobody'})`;
}

function printDiff(r: DiffReport, io: CliIo, color: boolean): void {
  const s = styler(color);
  const m = r.summary;
  const out: string[] = [`a: ${sideName(r.a)}`, `b: ${sideName(r.b)}`];
  if (isIdentical(r)) out.push(`${s.green('identical')}: ${plural(m.unchanged, 'entry', 'entries')}`);
  else out.push(`${s.bold('differences')}: ${m.added} added, ${m.removed} removed, ${m.modified} modified, ${m.renamed} renamed, ${m.unchanged} unchanged (+${formatBytes(m.bytesAdded)} / -${formatBytes(m.bytesRemoved)})`);
  const size = (e: { size?: number } | object) => ('size' in e && typeof e.size === 'number' ? formatBytes(e.size) : 'symlink');
  const section = (title: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`${s.bold(title)} (${lines.length}):`);
    for (const l of lines.slice(0, 50)) out.push(`  ${l}`);
    if (lines.length > 50) out.push(`  … and ${lines.length - 50} more (--json lists all)`);
  };
  section('renamed', r.renamed.map((x) => `${x.from} → ${x.to}  (${formatBytes(x.size)}, ${shortDigest(x.sha256)})`));
  section('added', r.added.map((e) => `${s.green('+')} ${e.path}  (${size(e)})`));
  section('removed', r.removed.map((e) => `${s.red('-')} ${e.path}  (${size(e)})`));
  section('modified', r.modified.map((x) => `${s.yellow('~')} ${x.path}  ${size(x.a)} → ${size(x.b)}${!isSymlinkEntry(x.a) && !isSymlinkEntry(x.b) ? `  ${shortDigest(x.a.sha256)} → ${shortDigest(x.b.sha256)}` : ''}`));
  io.stdout.write(out.join('\n') + '\n');
}

async function cmdDiff(a: Record<string, unknown> & Common, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const ia = await diffInput(String(a.a), io, store);
  const ib = await diffInput(String(a.b), io, store);
  const trusted = a.pubkey ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
  const r = await diff(ia, ib, { jobs: checkJobs(a.jobs), trusted, skipDirs: [store] });
  if (a.json) jsonOut(io, r);
  else printDiff(r, io, !!io.stdout.isTTY && !io.env.NO_COLOR);
  return isIdentical(r) ? EXIT_OK : EXIT_INTEGRITY;
}

async function cmdList(a: Record<string, unknown> & Common, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  const list = await listSnapshots(store, name);
  if (a.json) {
    jsonOut(io, { store: store.root, snapshots: list.map(({ dir: _d, ...rest }) => ({ ref: `${rest.name}@${rest.version}`, ...rest })) });
    return EXIT_OK;
  }
  if (list.length === 0) {
    io.stdout.write(name ? `no snapshots of ${name} in ${store.root}\n` : `no snapshots in ${store.root}\n`);
    return EXIT_OK;
  }
  const rows = list.map((s) => [`${s.name}@${s.version}`, shortId(s.id), s.createdAt, s.fileCount.toLocaleString('en-US'), formatBytes(s.totalBytes)]);
  const head = ['REF', 'SNAPSHOT', 'CREATED', 'FILES', 'BYTES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  io.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  return EXIT_OK;
}

async function cmdShow(a: Record<string, unknown> & Common, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  const loc = await locate(String(a.ref), io, store);
  const info = await readSnapshotUnverified(loc);
  const p = info.statement?.predicate;
  if (a.json) {
    jsonOut(io, { ref: loc.ref, snapshot: info.snapshot, dir: loc.dir, signers: info.keyids.map((k) => ({ keyid: k })), statement: info.statement, verified: false });
    return EXIT_OK;
  }
  if (!p) throw new SnapError('SNAPSHOT_MALFORMED', 'no statement');
  const lines = [
    `${p.dataset}@${p.version}`,
    `  snapshot         ${info.snapshot}`,
    `  created          ${p.createdAt}`,
    `  files            ${p.fileCount.toLocaleString('en-US')} (${formatBytes(p.totalBytes)})`,
    `  merkle root      ${p.merkleRoot}`,
    `  manifest sha256  ${p.manifestSha256}`,
    ...(p.parent ? [`  parent           ${p.parent}`] : []),
    ...(p.excludes ? [`  excludes         ${p.excludes.join(' ')}`] : []),
    `  tool             ${p.tool.name} ${p.tool.version}`,
    `  signatures       ${info.keyids.map((k) => k || '(no keyid)').join(', ') || 'none'}`,
    `  (not verified here: run "snap verify DIR --against ${loc.ref} --pubkey KEY.pub")`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

const COMMANDS: Record<string, (a: Record<string, unknown> & Common, io: CliIo) => Promise<number>> = {
  keygen: cmdKeygen,
  seal: cmdSeal,
  verify: cmdVerify,
  diff: cmdDiff,
  list: cmdList,
  show: cmdShow,
};

/**
 * Run the CLI. Never throws and never exits the process.
 * @returns the exit code (SPEC §8)
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const wantsJson = argv.includes('--json');
  const debug = argv.includes('--debug');
  const { args, output, error } = await parse(argv);
  if (error !== undefined) {
    if (wantsJson) jsonOut(io, { ok: false, error: { code: 'USAGE', message: error } });
    io.stderr.write(`snap: ${error}\nRun "snap --help" (or "snap <command> --help") for usage.\n`);
    return EXIT_USAGE;
  }
  if (output) {
    io.stdout.write(output + '\n');
    return EXIT_OK;
  }
  const a = args as Record<string, unknown> & Common;
  const cmd = String((a._ as unknown[])[0]);
  const handler = COMMANDS[cmd];
  if (!handler) {
    io.stderr.write(`snap: unknown command ${JSON.stringify(cmd)}; run "snap --help"\n`);
    return EXIT_USAGE;
  }
  try {
    return await handler(a, io);
  } catch (e) {
    const err = isSnapError(e) ? e : new SnapError('INTERNAL', `unexpected error: ${(e as Error)?.message ?? String(e)} (please report this)`, undefined, { cause: e });
    const code = exitCodeFor(err.code);
    if (a.json) jsonOut(io, { ok: false, error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    io.stderr.write(`snap ${cmd}: ${err.message} [${err.code}]\n`);
    if (debug) io.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return code;
  }
}
