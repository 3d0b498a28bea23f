/**
 * `seal -m/--source/--license/--derived-from/--pipeline`: provenance signed into the statement
 * (docs/FORMAT.md §3.1), shown by `show`, and covered by the signature.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTree, snap, snapBin, snapJson, tempDir, useKeyPair, writeTree } from '../helpers/tree.js';
import { sealTree, tamper, uniqueName, useStore } from '../helpers/store.js';
import { validateStatement } from '../../src/core/statement.js';
import { SnapError } from '../../src/core/errors.js';

const keys = useKeyPair();
const store = useStore();
const COMMIT = 'a'.repeat(40);
const DIGEST = 'B'.repeat(64);

/** A folder that looks like a git working tree on branch main at COMMIT, origin holding a token. */
async function gitTree(): Promise<string> {
  const dir = await tempDir('snap-git-');
  await writeTree(dir, {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/refs/heads/main': `${COMMIT}\n`,
    '.git/config': '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://bot:s3cret@git.example.com/team/pipe.git\n',
  });
  return dir;
}

async function sealWith(extra: string[], opts: { cwd?: string } = {}) {
  const data = await makeTree({ 'a.txt': 'a\n', 'b/c.txt': 'c\n' });
  const ref = `${uniqueName('prov')}@v1`;
  const r = await snapJson(['seal', data, '--as', ref, '--key', keys.key, '--store', store.path, ...extra], opts);
  return { ...r, ref, data };
}

async function predicateOf(ref: string) {
  const r = await snapJson(['show', ref, '--store', store.path]);
  expect(r.code, r.stderr).toBe(0);
  return r.json.statement.predicate;
}

describe('seal records provenance in the signed statement', () => {
  it('records description, sources, licence, pipeline and derivation, and show prints them', async () => {
    const base = await sealTree({ 'raw.csv': '1,2\n' }, keys, { store: store.path });
    const cwd = await gitTree();
    const r = await sealWith(
      ['-m', 'cleaned\tspam corpus', '--source', 'https://vendor.example/export.csv', '--source', `s3://bucket/x.parquet#sha256=${DIGEST}`, '--license', 'CC-BY-4.0', '--derived-from', base.ref],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    const pv = (await predicateOf(r.ref)).provenance;
    expect(pv.description).toBe('cleaned\tspam corpus');
    expect(pv.sources).toEqual([{ uri: 'https://vendor.example/export.csv' }, { uri: 's3://bucket/x.parquet', sha256: DIGEST.toLowerCase() }]);
    expect(pv.license).toBe('CC-BY-4.0');
    expect(pv.derivedFrom).toEqual([{ snapshot: base.snapshot, ref: base.ref }]);
    expect(pv.pipeline.git).toEqual({ commit: COMMIT, ref: 'refs/heads/main', repository: 'https://git.example.com/team/pipe.git' });
    expect(pv.pipeline.command.slice(0, 3)).toEqual(['snap', 'seal', r.data]);

    const text = await snap(['show', r.ref, '--store', store.path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('description      cleaned\\tspam corpus');
    expect(text.stdout).toContain(`derived from     ${base.ref} ${base.snapshot}`);
    expect(text.stdout).toContain('license          CC-BY-4.0');
    expect(text.stdout).not.toContain('s3cret');
  });

  it('shows a description with a line break and a bidirectional control escaped, on one line', async () => {
    const r = await sealWith(['-m', 'line one\nrefs: ok\u202e', '--no-pipeline']);
    expect(r.code, r.stderr).toBe(0);
    const text = await snap(['show', r.ref, '--store', store.path]);
    expect(text.stdout).toContain('description      line one\\nrefs: ok\\u202e\n');
    expect(text.stdout).not.toContain('\u202e');
    expect(text.stdout.split('\n').filter((l) => l.startsWith('refs:'))).toEqual([]);
  });

  it('records no provenance member when no provenance flag is given', async () => {
    const r = await sealWith([]);
    expect(r.code).toBe(0);
    expect((await predicateOf(r.ref)).provenance).toBeUndefined();
  });

  it('leaves the pipeline out with --no-pipeline, and records it alone with --pipeline', async () => {
    const a = await sealWith(['--license', 'MIT', '--no-pipeline'], { cwd: await gitTree() });
    expect((await predicateOf(a.ref)).provenance).toEqual({ license: 'MIT' });
    const b = await sealWith(['--pipeline'], { cwd: await gitTree() });
    expect(Object.keys((await predicateOf(b.ref)).provenance)).toEqual(['pipeline']);
  });

  it('reads no file of .git that is a FIFO (a planted HEAD hung the seal for ever, deaf to SIGTERM): HEAD, packed-refs or config a FIFO gives no git state, or none of what it holds', async () => {
    const cases: { file: string; git: unknown }[] = [
      { file: 'HEAD', git: undefined },
      { file: 'packed-refs', git: undefined }, // read only because the branch's own ref file is gone
      { file: 'config', git: { commit: COMMIT, ref: 'refs/heads/main' } },
    ];
    for (const c of cases) {
      const cwd = await gitTree();
      if (c.file === 'packed-refs') await fsp.rm(join(cwd, '.git/refs/heads/main'));
      await fsp.rm(join(cwd, '.git', c.file), { force: true });
      execFileSync('mkfifo', [join(cwd, '.git', c.file)]);
      const data = await makeTree({ 'a.txt': 'a\n' });
      const ref = `${uniqueName('prov')}@v1`;
      const r = await snapBin(['seal', data, '--as', ref, '--key', keys.key, '--store', store.path, '--pipeline', '-q'], { cwd, timeoutMs: 15_000 });
      expect(r.signal, `seal hung on .git/${c.file} as a FIFO`).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect((await predicateOf(ref)).provenance.pipeline.git, c.file).toEqual(c.git);
    }
  });

  it('records provenance in a seal straight into an archive (--out)', async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const out = join(await tempDir(), 'arc@v1.snap.tar');
    const r = await snapJson(['seal', data, '--as', 'arc@v1', '--key', keys.key, '--out', out, '--store', store.path, '--license', 'MIT', '--no-pipeline']);
    expect(r.code, r.stderr).toBe(0);
    const s = await snapJson(['show', out, '--store', store.path]);
    expect(s.json.statement.predicate.provenance).toEqual({ license: 'MIT' });
  });
});

describe('provenance is covered by the signature', () => {
  it('verify exits 1 (INTEGRITY_FAILURE) when a provenance field of statement.json is changed', async () => {
    const r = await sealWith(['-m', 'original', '--no-pipeline']);
    const [name] = r.ref.split('@') as [string];
    const ok = await snapJson(['verify', r.data, '--against', r.ref, '--pubkey', keys.pub, '--store', store.path]);
    expect(ok.code, ok.stderr).toBe(0);
    await tamper(join(store.path, 'snapshots', name, 'v1', 'statement.json'), (t) => t.replace('"original"', '"tampered"'));
    const bad = await snapJson(['verify', r.data, '--against', r.ref, '--pubkey', keys.pub, '--store', store.path]);
    expect(bad.code).toBe(1);
    expect(JSON.stringify(bad.json)).toContain('INTEGRITY_FAILURE');
  });

  it('verify exits 1 (SIGNATURE_INVALID) when the signed payload itself is changed', async () => {
    const r = await sealWith(['--license', 'MIT', '--no-pipeline']);
    const [name] = r.ref.split('@') as [string];
    const dir = join(store.path, 'snapshots', name, 'v1');
    const env = JSON.parse(await fsp.readFile(join(dir, 'envelope.json'), 'utf8'));
    const forged = Buffer.from(env.payload, 'base64').toString('utf8').replace('"MIT"', '"GPL-3.0-only"');
    await tamper(join(dir, 'envelope.json'), () => JSON.stringify({ ...env, payload: Buffer.from(forged).toString('base64') }));
    await tamper(join(dir, 'statement.json'), () => forged);
    const bad = await snapJson(['verify', r.data, '--against', r.ref, '--pubkey', keys.pub, '--store', store.path]);
    expect(bad.code).toBe(1);
    expect(JSON.stringify(bad.json)).toContain('SIGNATURE_INVALID');
  });
});

describe('bad provenance is refused before anything is sealed', () => {
  const cases: [string, string[]][] = [
    ['a source that is not a URI', ['--source', 'just words']],
    ['a source URI holding a password', ['--source', 'https://me:pw@host.example/x']],
    ['a pre-signed source URL', ['--source', 'https://b.s3.amazonaws.com/x.csv?X-Amz-Credential=AK&X-Amz-Signature=abc']],
    ['a source URL with a token', ['--source', 'https://host.example/x.csv?Token=abc']],
    ['a malformed licence', ['--license', 'MIT; rm -rf /']],
    ['a description with a control character', ['-m', 'a\x1b[2Jb']],
    ['a description over 4096 bytes', ['-m', 'x'.repeat(4097)]],
    ['--message given twice', ['-m', 'a', '-m', 'b']],
    // Without a value, the repeatable ones were an empty list: sealed (exit 0), the flag dropped.
    ['--source without a value', ['--source']],
    ['--derived-from without a value', ['--derived-from']],
    ['--source without a value, before another flag', ['--source', '--no-pipeline']],
  ];
  for (const [what, args] of cases) {
    it(`exits 2 (USAGE) for ${what}`, async () => {
      const r = await sealWith(args);
      expect(r.code).toBe(2);
      expect(r.json.error.code).toBe('USAGE');
      // Nothing was sealed: list NAME finds no snapshot of it (exit 3, REF_NOT_FOUND).
      const list = await snapJson(['list', r.ref.split('@')[0] as string, '--store', store.path]);
      expect([list.code, list.json.error?.code]).toEqual([3, 'REF_NOT_FOUND']);
    });
  }

  it('exits 3 (REF_NOT_FOUND) for --derived-from a snapshot that does not exist', async () => {
    const r = await sealWith(['--derived-from', 'nothing@v9']);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('REF_NOT_FOUND');
  });

  it('exits 1 (SNAPSHOT_NAME_MISMATCH) for --derived-from a store folder holding another snapshot', async () => {
    const a = await sealTree({ 'x.txt': 'x' }, keys, { store: store.path });
    const b = await sealTree({ 'y.txt': 'y' }, keys, { store: store.path });
    for (const f of ['statement.json', 'envelope.json', 'manifest.jsonl']) {
      await fsp.chmod(join(b.dir, f), 0o644);
      await fsp.copyFile(join(a.dir, f), join(b.dir, f));
    }
    const r = await sealWith(['--derived-from', b.ref]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('SNAPSHOT_NAME_MISMATCH');
  });
});

describe('the statement validator checks provenance strictly', () => {
  const base = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'ds@v1', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: 'urn:snap:dataset-snapshot:v1',
    predicate: { dataset: 'ds', version: 'v1', merkleRoot: 'a'.repeat(64), manifestSha256: 'b'.repeat(64), fileCount: 1, totalBytes: 1, createdAt: '2026-11-21T10:00:00Z', tool: { name: 'snap', version: '0.1.0' } },
  };
  const withProvenance = (pv: unknown) => ({ ...base, predicate: { ...base.predicate, provenance: pv } });
  const code = (v: unknown) => {
    try {
      validateStatement(v);
      return 'valid';
    } catch (e) {
      return (e as SnapError).code;
    }
  };

  it('accepts a full provenance', () => {
    expect(code(withProvenance({ description: 'd', sources: [{ uri: 'https://x.example/a?version=2&keyword=x', sha256: 'c'.repeat(64) }], license: 'MIT OR Apache-2.0', pipeline: { git: { commit: 'd'.repeat(40) }, command: ['snap'] }, derivedFrom: [{ snapshot: `sha256:${'e'.repeat(64)}`, ref: 'raw@v1' }] }))).toBe('valid');
  });

  for (const [what, pv] of [
    ['an unknown member', { license: 'MIT', signedOffBy: 'me' }],
    ['an empty object', {}],
    ['an empty sources array', { sources: [] }],
    ['257 sources', { sources: Array.from({ length: 257 }, (_, i) => ({ uri: `https://x.example/${i}` })) }],
    ['a repeated source', { sources: [{ uri: 'https://x.example/a' }, { uri: 'https://x.example/a' }] }],
    ['an unknown source member', { sources: [{ uri: 'https://x.example/a', md5: 'x' }] }],
    ['an uppercase source digest', { sources: [{ uri: 'https://x.example/a', sha256: 'C'.repeat(64) }] }],
    ['a short git commit', { pipeline: { git: { commit: 'abc' } } }],
    ['an empty pipeline', { pipeline: {} }],
    ['257 command arguments', { pipeline: { command: Array.from({ length: 257 }, () => 'x') } }],
    ['a derivation that is not a snapshot id', { derivedFrom: [{ snapshot: 'sha256:xyz', ref: 'a@v1' }] }],
    ['a derivation without a ref', { derivedFrom: [{ snapshot: `sha256:${'e'.repeat(64)}` }] }],
    ['65 derivations', { derivedFrom: Array.from({ length: 65 }, (_, i) => ({ snapshot: `sha256:${i.toString(16).padStart(64, '0')}`, ref: 'a@v1' })) }],
    ['null', null],
  ] as const) {
    it(`refuses ${what} as STATEMENT_INVALID`, () => {
      expect(code(withProvenance(pv))).toBe('STATEMENT_INVALID');
    });
  }
});
