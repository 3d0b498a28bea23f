/**
 * The runnable examples of a split verify (examples/k8s/verify-indexed-job.yaml,
 * examples/github-actions/verify-matrix.yml): a structural check of the YAML (no YAML library is
 * installed), and every `snapds verify` command line in them, with its variables filled in as the
 * engine would, run with snap's own parser against a real sealed tree — the shards pass and the
 * merge gives one verdict.
 */
import { promises as fsp } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import { sealTree, useStore } from '../helpers/store.js';

const keys = useKeyPair();
/** The key the workers sign their reports with (docs/FORMAT.md §20.7), another than the snapshot's. */
const worker = useKeyPair('worker');
const shared = useStore();
const K8S = join(REPO, 'examples', 'k8s', 'verify-indexed-job.yaml');
const GHA = join(REPO, 'examples', 'github-actions', 'verify-matrix.yml');

/** Structural sanity of block YAML: spaces only, even indentation, every `key:` line well formed, balanced flow brackets. */
function checkYamlShape(text: string): void {
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    expect(line, `line ${i + 1}`).not.toMatch(/\t/);
    expect((/^ */.exec(line) as RegExpExecArray)[0].length % 2, `line ${i + 1} indentation`).toBe(0);
    expect(line.split('[').length, `line ${i + 1} brackets`).toBe(line.split(']').length);
    expect(line.split('{').length - (line.match(/\$\{\{/g)?.length ?? 0) * 2, `line ${i + 1} braces`).toBe(line.split('}').length - (line.match(/\}\}/g)?.length ?? 0) * 2);
  }
}

/** The `snapds verify …` command lines of a file. */
function commandLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/^run: /, ''))
    .filter((l) => l.startsWith('snapds verify'));
}

/** Expand a command line as sh would for these examples: $((I + 1)), $VAR, ${VAR}, double quotes, and a `*` in a word (a glob). */
async function shellWords(line: string, vars: Record<string, string>, cwd: string): Promise<string[]> {
  let text = line.replace(/\$\(\(\s*(\w+)\s*\+\s*1\s*\)\)/g, (_, v: string) => String(Number(vars[v]) + 1));
  text = text.replace(/\$\{?([A-Z_]+)\}?/g, (_, v: string) => {
    if (vars[v] === undefined) throw new Error(`no value for $${v}`);
    return vars[v] as string;
  });
  const words: string[] = [];
  for (const m of text.matchAll(/(?:"[^"]*"|[^\s"]+)+/g)) {
    const raw = m[0];
    const word = raw.replace(/"/g, '');
    const unquoted = raw.replace(/"[^"]*"/g, '');
    if (!unquoted.includes('*')) {
      words.push(word);
      continue;
    }
    const dir = dirname(word);
    const re = new RegExp(`^${basename(word).split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const names = (await fsp.readdir(join(cwd, dir))).filter((n) => re.test(n)).sort();
    words.push(...names.map((n) => join(dir, n)));
  }
  return words;
}

async function sealed() {
  return sealTree({ 'a.txt': 'alpha', 'b/c.txt': 'gamma', 'b/d.bin': Buffer.alloc(200_000, 7), 'e.txt': 'epsilon', 'f.txt': 'phi' }, keys, { store: shared.path });
}

describe('examples/k8s/verify-indexed-job.yaml', () => {
  it('is block YAML of two batch/v1 Jobs, the first Indexed with 4 completions', async () => {
    const text = await fsp.readFile(K8S, 'utf8');
    checkYamlShape(text);
    const docs = text.split(/^---$/m);
    expect(docs.length).toBe(2);
    for (const d of docs) expect(d).toMatch(/^apiVersion: batch\/v1$/m);
    expect(docs[0]).toMatch(/^  completionMode: Indexed$/m);
    expect(docs[0]).toMatch(/^  completions: 4$/m);
    expect(docs[0]).toMatch(/name: SHARDS\n\s+value: "4"/);
  });

  it('runs: one pod per JOB_COMPLETION_INDEX 0..3 (shard index + 1), then the merge, exit 0', async () => {
    const s = await sealed();
    const reports = await tempDir('snap-k8s-reports-');
    const [shardLine, mergeLine] = commandLines(await fsp.readFile(K8S, 'utf8'));
    expect(shardLine).toContain('--shard');
    expect(mergeLine).toContain('--merge');
    const vars = { SHARDS: '4', REF: s.ref, DATA: s.data, PUBKEY: keys.pub, REPORTS: reports, WORKER_KEY: worker.key, WORKER_PUBKEY: worker.pub, RUN: 'spam-v1-run-1' };
    for (let i = 0; i < 4; i++) {
      const argv = await shellWords(shardLine as string, { ...vars, JOB_COMPLETION_INDEX: String(i) }, reports);
      const r = await snap(argv.slice(1), { env: { SNAP_STORE: s.store } });
      expect(r.code, r.stderr).toBe(0);
    }
    const merge = await shellWords(mergeLine as string, vars, '/');
    expect(merge.filter((w) => w.endsWith('.json')).length).toBe(4);
    const r = await snap([...merge.slice(1), '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout).shards.map((x: { signedBy?: string }) => x.signedBy)).toEqual(Array(4).fill(worker.keyid));
    // A report of another run on the volume (RUN changed for this one) is refused.
    const next = await snap(await shellWords(mergeLine as string, { ...vars, RUN: 'spam-v1-run-2' }, '/').then((w) => w.slice(1)));
    expect(next.code, next.stdout).toBe(1);
    expect(next.stdout).toMatch(/stale/);
  });
});

describe('examples/github-actions/verify-matrix.yml', () => {
  it('is block YAML with a 4-way shard matrix and a merge job that needs it and always runs', async () => {
    const text = await fsp.readFile(GHA, 'utf8');
    checkYamlShape(text);
    expect(text).toMatch(/^ {8}shard: \[1, 2, 3, 4\]$/m);
    expect(text).toMatch(/^ {2}merge:\n {4}needs: verify\n {4}if: always\(\)$/m);
  });

  it('runs: each matrix job writes its report, the merge job combines the downloaded reports, exit 0', async () => {
    const s = await sealed();
    const work = await tempDir('snap-gha-');
    await fsp.mkdir(join(work, 'reports'));
    const text = await fsp.readFile(GHA, 'utf8');
    const [shardLine, mergeLine] = commandLines(text);
    const vars = { SHARDS: '4', REF: s.ref, DATA: s.data, PUBKEY: keys.pub, WORKER_KEY: worker.key, WORKER_PUBKEY: worker.pub, RUN: '8765' };
    expect(text).toMatch(/^ {2}RUN: \$\{\{ github\.run_id \}\}$/m);
    for (let k = 1; k <= 4; k++) {
      const argv = await shellWords((shardLine as string).replace(/\$\{\{ matrix\.shard \}\}/g, String(k)), vars, work);
      // The artifact download puts every report in reports/: write them there directly.
      const r = await snap(argv.slice(1), { env: { SNAP_STORE: s.store }, cwd: join(work, 'reports') });
      expect(r.code, r.stderr).toBe(0);
    }
    const merge = await shellWords(mergeLine as string, vars, work);
    const r = await snap(merge.slice(1), { cwd: work });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('all 4 shards');
    // One report replaced by a forged, unsigned one that says it passed: the merge fails.
    const one = join(work, 'reports', 'shard-2.json');
    const unsigned = await snap(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--shard', '2/4', '--report', one, '--run', '8765'], { env: { SNAP_STORE: s.store } });
    expect(unsigned.code, unsigned.stderr).toBe(0);
    expect(JSON.parse(await fsp.readFile(one, 'utf8')).ok).toBe(true);
    const again = await snap(merge.slice(1), { cwd: work });
    expect(again.code, again.stdout).toBe(1);
    expect(again.stdout).toMatch(/not signed/);
  });
});
