/**
 * The docs stay true to the code (the guide: keep the docs true): README's command table names
 * only flags each command takes, and names every flag each command takes; every source file the
 * docs name exists; README and DESIGN list the commands that write an audit-log line; README names
 * the commands that take a `.snap.tar` archive where a ref goes; DESIGN's table of layers has a row
 * for every folder of `src/` and names every layer each one loads; an error code the docs give an
 * exit code has that exit code; DESIGN's audit-log line has the members a real line has; a constant
 * the docs quote by name with a value has that value in `src/`. Drift of this kind is silent
 * otherwise — a flag renamed, or added to a command and never documented, a module moved (the
 * operations moved to `src/ops/`), a bound raised in the code and not in the docs — so it is
 * checked here rather than by reading.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { COMMANDS, commandName } from '../../src/cli/commands/index.js';
import { REPO, snapJson, useKeyPair, writeTree } from '../helpers/tree.js';
import { sealAndExport, sealTree } from '../helpers/store.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

/** Captures what is written. */
class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
}

/** The flags `snap NAME --help` lists: long names, and each one-letter alias mapped to its long name. */
async function flagsOf(name: string): Promise<{ long: Set<string>; short: Map<string, string> }> {
  const stdout = new Sink();
  expect(await runCli([name, '--help'], { stdout, stderr: new Sink(), env: {}, cwd: REPO })).toBe(0);
  const options = stdout.text.split(/\n\n/).find((block) => block.startsWith('Options:')) ?? '';
  const long = new Set<string>();
  const short = new Map<string, string>();
  for (const m of options.matchAll(/^\s+(?:-(\w), )?--([a-z][a-z-]*)/gm)) {
    long.add(m[2] as string);
    if (m[1]) short.set(m[1], m[2] as string);
  }
  return { long, short };
}

/** The `--flag` / `-f` names in a piece of README text (long names; one-letter ones as `-f`). */
function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])(?![\w-])/g)].map((m) => m[1] as string);
}

/** The rows of README's command table: the synopsis (first cell) and the whole row. */
function tableRows(): { synopsis: string; row: string }[] {
  return readme
    .split('\n')
    .filter((l) => /^\| `(snap |--store)/.test(l))
    .map((row) => ({ synopsis: row.split(/(?<!\\)\|/)[1] ?? '', row }));
}

/** Each `snap CMD …` piece of the code spans of `text`: the command and what follows it up to the next `snap`. */
function commandPieces(text: string): { command: string; text: string }[] {
  const pieces: { command: string; text: string }[] = [];
  for (const span of text.matchAll(/`([^`]+)`/g)) {
    for (const piece of (span[1] as string).split(/(?=\bsnap [a-z])/)) {
      const m = /^snap ([a-z][a-z-]*)/.exec(piece);
      if (m) pieces.push({ command: m[1] as string, text: piece.slice(m[0].length) });
    }
  }
  return pieces;
}

/** The flags every command (or every command that uses them) takes, named once in the prose under the table. */
const GENERAL = ['--json', '--debug', '--help', '--store', '--quiet', '--jobs'];

/** The trust flags of verify (src/cli/trust-args.ts): a row that says "the trust flags of `verify`" names them all. */
const TRUST = ['--pubkey', '--threshold', '--policy', '--root', '--state-dir', '--revocations', '--policy-name'];

/** Commands whose flags README leaves to their own help: `policy`'s eight actions each take their own (FORMAT §16). */
const HELP_ONLY = new Set(['policy']);

describe("README's command table", () => {
  it('gives each command only flags it takes', async () => {
    const names = new Set(COMMANDS.map(commandName));
    const wrong: string[] = [];
    // Every `snap CMD …` of the table and of README's shell examples.
    const examples = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => `\`${(m[1] as string).replace(/\\\n\s*/g, ' ').replace(/#.*$/gm, '')}\``).join('\n');
    for (const { command, text } of commandPieces(tableRows().map((r) => r.row).join('\n') + '\n' + examples)) {
      if (!names.has(command)) {
        wrong.push(`snap ${command}: no such command`);
        continue;
      }
      const { long, short } = await flagsOf(command);
      for (const f of flagsIn(text)) {
        const ok = f.startsWith('--') ? long.has(f.slice(2)) : short.has(f.slice(1));
        if (!ok) wrong.push(`snap ${command} ${f}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('names every flag of every command, in a row about that command', async () => {
    const prose = readme.slice(readme.indexOf('A **ref** is'));
    for (const f of GENERAL) expect(prose, `README's prose under the table names ${f}`).toContain(`\`${f}`);
    // An encrypted key's passphrase: said once, for every command that signs (keygen's row).
    expect(readme).toMatch(/every command that signs[^|]*`--passphrase-env VAR`/);
    const omitted: string[] = [];
    for (const name of COMMANDS.map(commandName).filter((n) => !HELP_ONLY.has(n))) {
      const { long, short } = await flagsOf(name);
      const named = new Set<string>([...GENERAL, '--passphrase-env']);
      for (const { synopsis, row } of tableRows()) {
        if (!commandPieces(synopsis).some((p) => p.command === name)) continue;
        for (const f of flagsIn(row)) named.add(f.startsWith('--') ? f : `--${short.get(f.slice(1)) ?? f}`);
        if (row.includes('the trust flags of `verify`')) for (const f of TRUST) named.add(f);
      }
      for (const { command, text } of commandPieces(tableRows().map((r) => r.row).join('\n'))) {
        if (command === name) for (const f of flagsIn(text)) named.add(f.startsWith('--') ? f : `--${short.get(f.slice(1)) ?? f}`);
      }
      for (const f of long) if (!named.has(`--${f}`)) omitted.push(`snap ${name} --${f}`);
    }
    expect(omitted).toEqual([]);
  });
});

/** The docs that describe the code as it is. PERFORMANCE.md is a dated record: a path there may be of its time when followed by `(now \`NEW\`)`. */
const DOCS = ['README.md', 'docs/DESIGN.md', 'docs/FORMAT.md', 'docs/PERFORMANCE.md', 'keys.example/README.md'];

/** The folders of `src/` a doc may name a module by without the `src/` (`io/store.ts`). */
const SRC_FOLDERS = readdirSync(join(REPO, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

/** Every file name under `dir`, at any depth (for a module named alone: `` `parallel-walk.ts` ``). */
function fileNames(dir: string, into = new Set<string>()): Set<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) fileNames(join(dir, e.name), into);
    else into.add(e.name);
  }
  return into;
}

describe('the source paths the docs name', () => {
  it('exist: every src/, test/, bench/, scripts/ and examples/ path, module path (`io/store.ts`) and module name', () => {
    const names = new Set<string>();
    for (const d of ['src', 'test', 'bench', 'scripts', 'docs']) fileNames(join(REPO, d), names);
    for (const e of readdirSync(REPO, { withFileTypes: true })) if (e.isFile()) names.add(e.name);
    const missing: string[] = [];
    for (const doc of DOCS) {
      const text = readFileSync(join(REPO, doc), 'utf8');
      const where = (at: number) => `${doc}:${text.slice(0, at).split('\n').length}`;
      // Moved since a dated entry of PERFORMANCE.md, and said so: `OLD` (now `NEW`).
      const nowSaid = (at: number, end: number) => {
        const m = /^`? \(now `([^`]+)`\)/.exec(text.slice(end));
        return m !== null && existsSync(join(REPO, m[1] as string));
      };
      // src/…, test/…, bench/…, scripts/…, examples/… (a glob or a cut name, `s3-*`, `x…`, is not a path).
      for (const m of text.matchAll(/(?<![\w./$-])(?:src|test|bench|scripts|examples)\/[\w./-]*[\w/](?![\w*…])/g)) {
        if (!existsSync(join(REPO, m[0])) && !nowSaid(m.index, m.index + m[0].length)) missing.push(`${where(m.index)} ${m[0]}`);
      }
      // A module by its folder under src/: `io/store.ts`, records/label-flips.ts.
      const short = new RegExp(`(?<![\\w./-])(?:${SRC_FOLDERS.join('|')})\\/[\\w.-]+\\.ts\\b`, 'g');
      for (const m of text.matchAll(short)) {
        if (!existsSync(join(REPO, 'src', m[0])) && !nowSaid(m.index, m.index + m[0].length)) missing.push(`${where(m.index)} ${m[0]} (src/${m[0]})`);
      }
      // A module by its name alone: `parallel-walk.ts`.
      for (const m of text.matchAll(/`([\w.-]+\.(?:ts|mjs))`/g)) {
        if (!names.has(m[1] as string)) missing.push(`${where(m.index)} ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/**
 * The commands that append to the audit log, from their modules: each `audit(io, …, { command: 'X'`
 * (a line when the command ends) and each `auditErrors('X'` (a line when an error stops it), with
 * `log-checkpoint` as the docs write it, `log checkpoint`.
 */
function auditedCommands(): { any: Set<string>; onError: Set<string> } {
  const any = new Set<string>();
  const onError = new Set<string>();
  const dir = join(REPO, 'src', 'cli', 'commands');
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\baudit\(\s*io,[^{]*\{\s*command: '([a-z-]+)'/g)) any.add((m[1] as string).replace('log-checkpoint', 'log checkpoint'));
    for (const m of text.matchAll(/\bauditErrors\('([a-z-]+)'/g)) onError.add(m[1] as string);
  }
  return { any, onError };
}

/** The command names of a doc's list `a, b (…), c and d`, without their parenthesized remarks and backticks. */
function listed(text: string): string[] {
  return text.replace(/\([^)]*\)/g, '').replace(/`/g, '').split(/,\s*|\s+and\s+/).map((w) => w.trim()).filter(Boolean).sort();
}

describe('the commands the docs say write an audit-log line', () => {
  it('are those that do, in README and in DESIGN', () => {
    const { any, onError } = auditedCommands();
    expect(any.size, 'the audit calls were found').toBeGreaterThan(5);
    for (const c of onError) expect(any, `${c} logs its errors, and its verdict too`).toContain(c);
    const readmeList = /one hash-chained line per ([^:]+):/.exec(readme)?.[1];
    expect(readmeList, "README's log row: one hash-chained line per …:").toBeDefined();
    expect(listed(readmeList as string)).toEqual([...any].sort());
    const design = readFileSync(join(REPO, 'docs', 'DESIGN.md'), 'utf8').replace(/\s+/g, ' ');
    const designList = /`STORE\/log\.jsonl` gets one line per (.+?), including commands/.exec(design)?.[1];
    expect(designList, 'DESIGN, "Audit log": gets one line per …, including commands').toBeDefined();
    expect(listed(designList as string)).toEqual([...any].sort());
    // "including commands that stopped with an error (all but X and Y; …)": X and Y log only how they ended well.
    const notErring = /including commands that stopped with an error \(all but ([^;]+);/.exec(design)?.[1];
    expect(notErring, 'DESIGN names the commands whose errors are not logged').toBeDefined();
    expect(listed(notErring as string)).toEqual([...any].filter((c) => !onError.has(c)).sort());
  });
});

const keys = useKeyPair('docs-drift');

/**
 * One run of each command that takes a snapshot ref, with the archive `ds@v1.snap.tar` (in the
 * working folder) as that ref. `retain` is left out: it needs an S3 store.
 */
const ARCHIVE_AS_REF: Record<string, (x: { data: string; store: string; model: string }) => string[]> = {
  diff: (x) => ['diff', 'ds@v1.snap.tar', x.data],
  report: (x) => ['report', 'ds@v1.snap.tar', x.data, '-o', 'incident.html'],
  check: (x) => ['check', x.data, '--against', 'ds@v1.snap.tar'],
  show: () => ['show', 'ds@v1.snap.tar'],
  prove: () => ['prove', 'ds@v1.snap.tar', 'a.txt', '-o', 'p.json'],
  lineage: () => ['lineage', 'ds@v1.snap.tar'],
  impact: () => ['impact', 'ds@v1.snap.tar'],
  bom: () => ['bom', 'ds@v1.snap.tar', '-o', 'bom.json'],
  sign: () => ['sign', 'ds@v1.snap.tar', '--key', keys.key],
  revoke: () => ['revoke', 'ds@v1.snap.tar', '--reason', 'a drill', '--key', keys.key],
  export: () => ['export', 'ds@v1.snap.tar', '-o', 'again.snap.tar'],
  'attest --data': (x) => ['attest', x.model, '--data', 'ds@v1.snap.tar', '--key', keys.key, '--as', 'm@1'],
  'verify --against': (x) => ['verify', x.data, '--against', 'ds@v1.snap.tar', '--pubkey', keys.pub],
  'drill --against': (x) => ['drill', x.data, '--against', 'ds@v1.snap.tar', '--pubkey', keys.pub, '--attacks', 'crlf'],
  restore: () => ['restore', 'ds@v1.snap.tar', 'restored', '--pubkey', keys.pub],
};

describe('the commands README says take an archive where a ref goes', () => {
  it('are those that do', async () => {
    const x = await sealAndExport({ 'a.txt': 'alpha\n', 't.csv': 'id,label\n1,ham\n2,spam\n', 'snap.json': '{"records":[{"pattern":"t.csv","key":["id"],"label":"label"}]}' }, keys, 'snap-docs-drift-');
    const take: string[] = [];
    for (const [name, args] of Object.entries(ARCHIVE_AS_REF)) {
      // Each in a folder of its own with its own copy: sign rewrites the archive.
      const cwd = join(x.work, name.replace(/\W+/g, '-'));
      mkdirSync(cwd);
      copyFileSync(x.file, join(cwd, 'ds@v1.snap.tar'));
      const model = join(cwd, 'model.bin');
      await writeTree(cwd, { 'model.bin': 'weights\n' });
      const r = await snapJson(args({ data: x.data, store: x.store, model }).concat(['--store', x.store]), { cwd });
      // A verdict (0 or 1) is taking it; "not a snapshot folder" (REF_NOT_FOUND, exit 3) is not.
      if (r.code === 0 || r.code === 1) take.push(name);
      else expect({ name, code: r.code, error: r.json?.error?.code }).toEqual({ name, code: 3, error: 'REF_NOT_FOUND' });
    }
    const said = /; (`[^;.]*`) also take an archive file `NAME@VERSION\.snap\.tar`/.exec(readme.replace(/\s+/g, ' '))?.[1];
    expect(said, 'README: `…` also take an archive file `NAME@VERSION.snap.tar`').toBeDefined();
    expect(listed(said as string)).toEqual(take.sort());
    const saidNot = /; (`[^;.]*`) take none: `REF_NOT_FOUND`/.exec(readme.replace(/\s+/g, ' '))?.[1];
    expect(saidNot, 'README: `…` take none: `REF_NOT_FOUND`').toBeDefined();
    expect(listed(saidNot as string)).toEqual(Object.keys(ARCHIVE_AS_REF).filter((n) => !take.includes(n)).sort());
  }, 120_000);
});

/** Every `.ts` file under `dir`. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/**
 * The layers the modules of `src/FOLDER/` load at run time: the folder of `src/` (or the top-level
 * module, `snapshot`) each relative import and re-export leads to, but for `import type` and
 * `export type` (erased) and `version.ts` (the version string, which any layer may read).
 */
function layersLoadedBy(folder: string): Set<string> {
  const src = join(REPO, 'src');
  const loaded = new Set<string>();
  for (const file of tsFiles(join(src, folder))) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specs = [
      ...[...code.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?'(\.[^']+)'/gm)].filter((m) => !m[1]).map((m) => m[2] as string),
      ...[...code.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1] as string),
    ];
    for (const spec of specs) {
      const [top, ...rest] = relative(src, resolve(dirname(file), spec)).split('/');
      const layer = rest.length > 0 ? (top as string) : (top as string).replace(/\.js$/, '');
      if (layer !== folder && layer !== 'version') loaded.add(layer);
    }
  }
  return loaded;
}

describe("DESIGN's table of layers", () => {
  const design = readFileSync(join(REPO, 'docs', 'DESIGN.md'), 'utf8');
  const rows = new Map([...design.matchAll(/^\| `src\/([a-z0-9]+)\/` \|.*\| ([^|]*) \|$/gm)].map((m) => [m[1] as string, m[2] as string]));
  const folders = readdirSync(join(REPO, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

  it('has a row for every folder of src/', () => {
    expect([...rows.keys()].sort()).toEqual([...folders].sort());
  });

  it("names, in each row's \"may use\", every layer its modules load", () => {
    const unnamed: string[] = [];
    for (const [folder, mayUse] of rows) {
      // `core`, `src/core/`, `records/index-line.ts`, `snapshot.ts`: the layer each names; "everything (below `cli`)".
      const named = new Set([...mayUse.matchAll(/`(?:src\/)?([a-z0-9]+)(?:\/[^`]*|\.ts)?`/g)].map((m) => m[1] as string));
      const all = /everything below `cli`/.test(mayUse) ? folders.filter((f) => f !== 'cli').concat('snapshot') : /everything/.test(mayUse) ? [...folders, 'snapshot'] : [];
      for (const layer of layersLoadedBy(folder)) if (!named.has(layer) && !all.includes(layer)) unnamed.push(`src/${folder}/ loads ${layer}`);
    }
    expect(unnamed).toEqual([]);
  });
});

describe('report, whose sides README says are "as for `diff`"', () => {
  it('describes in its help each kind of side diff takes, s3://BUCKET/PREFIX included', async () => {
    const positionalsOf = async (name: string) => {
      const stdout = new Sink();
      expect(await runCli([name, '--help'], { stdout, stderr: new Sink(), env: {}, cwd: REPO })).toBe(0);
      return (stdout.text.split(/\n\n/).find((b) => b.startsWith('Positionals:')) ?? '').replace(/\s+/g, ' ');
    };
    expect(readme).toMatch(/the \*\*incident report\*\* of A \(the last known-good side\) → B, sides as for `diff`/);
    const diff = await positionalsOf('diff');
    const report = await positionalsOf('report');
    for (const kind of ['NAME@VERSION', 'snap.tar', 'folder', 's3://BUCKET/PREFIX']) {
      expect(diff, `diff --help: ${kind}`).toContain(kind);
      expect(report.split(/ b /)[0], `report --help, a: ${kind}`).toContain(kind);
      expect(report.split(/ b /)[1] ?? '', `report --help, b: ${kind === 'NAME@VERSION' || kind === 'snap.tar' ? 'a ref, an archive' : kind}`).toContain(kind === 'NAME@VERSION' ? 'a ref' : kind === 'snap.tar' ? 'an archive' : kind);
    }
  });
});

describe('the exit codes the docs give error codes', () => {
  it('are those the CLI maps them to (src/cli/exit-codes.ts)', () => {
    const wrong: string[] = [];
    let pairs = 0;
    for (const doc of ['README.md', 'docs/DESIGN.md', 'docs/FORMAT.md']) {
      // One line of prose, table cells kept apart: "`CODE`, exit N", "(exit N, `CODE`", "`CODE` (exit N)".
      const text = readFileSync(join(REPO, doc), 'utf8').replace(/ \| /g, ' . ').replace(/\s+/g, ' ');
      for (const m of text.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`[,:]? \(?exit (\d+)|exit (\d+)[,:]? \(?`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)) {
        const code = (m[1] ?? m[4]) as string;
        const exit = Number(m[2] ?? m[3]);
        pairs++;
        if (exitCodeFor(code) !== exit) wrong.push(`${doc}: ${code} exit ${exit}, but the CLI exits ${exitCodeFor(code)}: …${text.slice(Math.max(0, m.index - 60), m.index + m[0].length)}`);
      }
    }
    expect(pairs, 'pairs found').toBeGreaterThan(40);
    expect(wrong).toEqual([]);
  });
});

describe('DESIGN\'s audit-log line ("Audit log": "Each line is RFC 8785 JSON of `{…}`")', () => {
  it('is what the log holds: the members it says every line has are in every line, no line has one it does not name, and each command and outcome is spelled as a line spells it', async () => {
    const design = readFileSync(join(REPO, 'docs', 'DESIGN.md'), 'utf8');
    const section = design.slice(design.indexOf('\n## Audit log'), design.indexOf('\n## ', design.indexOf('\n## Audit log') + 1)).replace(/\s+/g, ' ');
    const sentence = /Each line is RFC 8785 JSON of `\{([^}]*)\}`([^.]*)\./.exec(section);
    expect(sentence, 'DESIGN, "Audit log": Each line is RFC 8785 JSON of `{…}` …').not.toBeNull();
    const always = (sentence?.[1] as string).split(/,\s*/);
    const named = new Set([...always, ...[...(sentence?.[2] as string).matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1] as string)]);
    const spelled = new Set([...section.matchAll(/`([a-z-]+)`/g)].map((m) => m[1] as string));
    const commands = new Set(COMMANDS.map(commandName));

    // Lines of each outcome, with and without a snapshot: a seal, a verify that fails, one stopped
    // before it found its snapshot, an fsck, a checkpoint.
    const s = await sealTree({ 'a.txt': 'alpha\n' }, keys);
    await writeTree(s.data, { 'a.txt': 'alpha!\n' });
    expect((await snapJson(['verify', s.data, '--against', s.ref, '--pubkey', keys.pub, '--store', s.store])).code).toBe(1);
    expect((await snapJson(['verify', s.data, '--against', 'absent@v1', '--pubkey', keys.pub, '--store', s.store])).code).toBe(3);
    expect((await snapJson(['fsck', '--store', s.store])).code).toBe(0);
    expect((await snapJson(['log', 'checkpoint', '--key', keys.key, '--store', s.store])).code).toBe(0);
    const lines = readFileSync(join(s.store, 'log.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.command)).toEqual(['seal', 'verify', 'verify', 'fsck', 'log-checkpoint']);
    const wrong: string[] = [];
    for (const l of lines) {
      for (const m of always) if (!(m in l)) wrong.push(`${String(l.command)}: no ${m}, which DESIGN says every line has`);
      for (const m of Object.keys(l)) if (!named.has(m)) wrong.push(`${String(l.command)}: ${m}, which DESIGN does not name`);
      // A command is named as it is typed (\`seal\`), unless its line spells it otherwise (\`log checkpoint\`).
      if (!commands.has(String(l.command)) && !spelled.has(String(l.command))) wrong.push(`${String(l.command)}: the command, not written so in DESIGN's "Audit log"`);
      if (!spelled.has(String(l.outcome))) wrong.push(`${String(l.command)}: outcome \`${String(l.outcome)}\`, not written so in DESIGN's "Audit log"`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});

/** The multiples a quoted size may carry. */
const UNIT: Record<string, number> = { KiB: 1024, MiB: 1024 * 1024, GiB: 1024 * 1024 * 1024 };
/** A number as the docs write one (`1,024`, `64 KiB`): not part of a word (`UTF-8`), a sum (`+ 1`) or a larger number. */
const QUOTED = String.raw`(?<![\w.,+-])(?<![\d+] )(\d{1,3}(?:,\d{3})+|\d+)(?: (KiB|MiB|GiB)\b)?`;
const CONSTANT = '`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`';
/**
 * The ways the docs give a constant its value, each a regex with the groups of the value, its unit
 * and the constant's name: "64 KiB (`X`", "1,024 lines (`X`", "the first 1,000 by name, `X`", "64 MiB — `X`",
 * "`X` (1,000", "`X` = 65,536", and a table row "| `X`: what | 64 |". (Not "(`X` + 256 KiB)": a sum.)
 */
const QUOTE_FORMS: { re: RegExp; value: number; name: number }[] = [
  { re: new RegExp(`${QUOTED}(?: [A-Za-z][\\w-]*){0,3} \\(${CONSTANT}(?! [+×])`, 'g'), value: 1, name: 3 },
  { re: new RegExp(`${QUOTED}(?: [A-Za-z][\\w-]*){0,3}(?: —|,) ${CONSTANT}(?! [+×])`, 'g'), value: 1, name: 3 },
  { re: new RegExp(`${CONSTANT} (?:\\(|= )${QUOTED}`, 'g'), value: 2, name: 1 },
  { re: new RegExp(`\\| ${CONSTANT}[^|]*\\| ${QUOTED}`, 'g'), value: 2, name: 1 },
];

describe('the constants the docs quote with their value', () => {
  it('have that value in src/: each `NAME` of an exported constant given a number beside it', async () => {
    const defined = new Map<string, string>();
    for (const file of tsFiles(join(REPO, 'src'))) for (const m of readFileSync(file, 'utf8').matchAll(/^export const ([A-Z][A-Z0-9_]+) /gm)) defined.set(m[1] as string, file);
    const wrong: string[] = [];
    let quotes = 0;
    for (const doc of ['README.md', 'docs/FORMAT.md', 'docs/DESIGN.md']) {
      const text = readFileSync(join(REPO, doc), 'utf8').replace(/\s+/g, ' ');
      for (const form of QUOTE_FORMS) {
        for (const m of text.matchAll(form.re)) {
          const name = m[form.name] as string;
          const file = defined.get(name);
          if (file === undefined) continue; // an error code or an environment variable
          const value: unknown = ((await import(file)) as Record<string, unknown>)[name];
          if (typeof value !== 'number') continue;
          quotes++;
          const unit = m[form.value + 1];
          const quoted = Number((m[form.value] as string).replace(/,/g, '')) * (unit ? (UNIT[unit] as number) : 1);
          if (quoted !== value) wrong.push(`${doc}: "${m[0]}" gives ${name} ${quoted}, but ${relative(REPO, file)} has ${value}`);
        }
      }
    }
    expect(quotes, 'quotes found').toBeGreaterThan(30);
    expect(wrong).toEqual([]);
  });
});

/** Every member name a JSON Schema's objects declare (`properties`), outside its `$defs`. */
function schemaMembers(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) schemaMembers(s, into);
  else if (typeof schema === 'object' && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'properties') for (const name of Object.keys(v as object)) into.add(name);
      if (k !== '$defs') schemaMembers(v, into);
    }
  }
  return into;
}

/** The outputs FORMAT describes member by member, and the sections that do. */
const OUTPUT_SECTIONS: Record<string, string[]> = {
  'verify-model': ['## 13.'],
  'verify-merge': ['### 20.3', '### 20.4'],
  check: ['### 19.8'],
  'verify-proof': ['### 11.5', '### 11.6'],
};

describe("FORMAT's descriptions of --json outputs", () => {
  it('name every member of the output the published schema (docs/schemas/) allows', () => {
    const format = readFileSync(join(REPO, 'docs', 'FORMAT.md'), 'utf8');
    const section = (heading: string) => {
      const start = format.indexOf(`\n${heading}`);
      expect(start, heading).toBeGreaterThan(0);
      return format.slice(start, format.indexOf('\n#', start + 1));
    };
    const unnamed: string[] = [];
    for (const [output, headings] of Object.entries(OUTPUT_SECTIONS)) {
      const text = headings.map(section).join('\n');
      const schema: unknown = JSON.parse(readFileSync(join(REPO, 'docs', 'schemas', `${output}.schema.json`), 'utf8'));
      for (const member of schemaMembers(schema)) if (!new RegExp(`\\b${member}\\b`).test(text)) unnamed.push(`${output}: ${member} (FORMAT ${headings.join(', ')})`);
    }
    expect(unnamed).toEqual([]);
  });
});
