/**
 * Help that teaches (issue 8, item 7): each command's `--help` exits 0, describes every positional,
 * lists exactly the flags the command takes, and wraps long lines at word boundaries, at any
 * terminal width.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { COMMANDS, commandName } from '../../src/cli/commands/index.js';
import { snapBin } from '../helpers/tree.js';
import { yargs } from '../../src/cli/yargs.js';
import { MAX_UNREFERENCED_OBJECTS_READ } from '../../src/store/remote-session.js';
import { RECORD_ROW_LISTS } from '../../src/report/incident-facts.js';
import { MAX_DEFAULT_IO_JOBS } from '../../src/io/read-pool.js';
import { defaultFolderRef, defaultModelRef } from '../../src/provenance/attest.js';
import type { HashedArtifact } from '../../src/provenance/artifacts.js';

/** The trust flags of verify, import and restore (src/cli/trust-args.ts). */
const TRUST = ['pubkey', 'threshold', 'policy', 'root', 'policy-name', 'state-dir', 'revocations'];

/** Every flag each command takes (long names). `--json`, `--debug` and `--help` every command takes. */
const FLAGS: Record<string, string[]> = {
  keygen: ['quiet', 'out-dir', 'passphrase-env', 'passphrase-prompt'],
  init: ['store', 'quiet'],
  seal: ['store', 'quiet', 'jobs', 'as', 'key', 'passphrase-env', 'parent', 'no-parent', 'exclude', 'manifest-only', 'expires', 'out', 'records', 'no-records', 'incremental', 'message', 'source', 'license', 'derived-from', 'pipeline', 'no-pipeline', 'retain', 'retain-mode'],
  verify: ['store', 'quiet', 'jobs', 'against', 'shard', 'report', 'report-key', 'passphrase-env', 'run', 'merge', 'report-pubkey', ...TRUST],
  diff: ['store', 'jobs', 'pubkey', 'state-dir', 'no-records', 'order'],
  check: ['store', 'jobs', 'against', 'pubkey', 'state-dir', 'max-label-changes', 'max-modified', 'max-removed', 'max-added-share', 'max-conflicts', 'max-duplicates', 'max-unindexed-files', 'max-type-changes', 'max-reordered', 'max-shift', 'max-js-distance', 'max-psi', 'min-chi-square-p', 'allow-new-labels', 'allow-vanished-labels'],
  drill: ['store', 'jobs', 'against', ...TRUST, 'seed', 'attacks', 'no-records'],
  report: ['store', 'quiet', 'jobs', ...TRUST, 'out', 'format', 'max-items', 'drill'],
  list: ['store'],
  show: ['store'],
  fsck: ['store', 'quiet', 'jobs', 'clean', 'repair-from'],
  prune: ['store', 'quiet', 'yes'],
  log: ['store', 'verify', 'pubkey', 'checkpoint', 'key', 'passphrase-env', 'origin', 'out', 'state-dir', 'quiet'],
  retain: ['store', 'quiet', 'until', 'retain-mode', 'pubkey'],
  export: ['store', 'quiet', 'jobs', 'out'],
  import: ['store', 'quiet', ...TRUST],
  restore: ['store', 'quiet', 'jobs', 'allow-shared-target', ...TRUST],
  sign: ['store', 'quiet', 'key', 'passphrase-env', 'pubkey', 'state-dir'],
  revoke: ['store', 'quiet', 'reason', 'key', 'passphrase-env', 'out', 'pubkey'],
  policy: ['quiet', 'name', 'root-key', 'root-threshold', 'expires', 'pub', 'keyid', 'key-name', 'role', 'valid-from', 'valid-until', 'reason', 'datasets', 'require', 'max-age', 'key', 'passphrase-env', 'root'],
  prove: ['store', 'out', 'pubkey', 'threshold', 'record'],
  'verify-proof': ['pubkey', 'threshold', 'file', 'expect'],
  attest: ['store', 'quiet', 'data', 'key', 'passphrase-env', 'as', 'train-command', 'train-commit', 'hyperparameters', 'out', 'pubkey', 'state-dir'],
  'verify-model': ['store', 'quiet', 'pubkey', 'state-dir', 'attestation', 'expect', 'complete'],
  lineage: ['store', 'pubkey'],
  impact: ['store', 'pubkey', 'state-dir'],
  bom: ['store', 'quiet', 'model', 'out', 'pubkey', 'state-dir'],
};
const EVERY_COMMAND = ['json', 'debug', 'help'];

/** A terminal of the given width, capturing what is written. */
class Terminal extends Writable {
  text = '';
  isTTY = true;
  constructor(readonly columns: number) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
}

/** `snap ARGS` in this process, with stdout a terminal `columns` wide. */
async function helpAt(args: string[], columns: number): Promise<{ code: number; text: string }> {
  const stdout = new Terminal(columns);
  const stderr = new Terminal(columns);
  const code = await runCli(args, { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, text: stdout.text };
}

/** The `--flag` names a help text lists in its Options section. */
function listedFlags(help: string): string[] {
  const options = help.split(/\n\n/).find((block) => block.startsWith('Options:')) ?? '';
  return [...options.matchAll(/^\s+(?:-\w, )?--([a-z][a-z-]*)/gm)].map((m) => m[1] as string).sort();
}

/** The positionals of a command string: `restore <ref> <dir>` → ref, dir. */
function positionals(command: string): string[] {
  return [...command.matchAll(/[<[]([a-z]+)[>\]]/g)].map((m) => m[1] as string);
}

describe('snap COMMAND --help', () => {
  it('has an expectation for every command', () => {
    expect(COMMANDS.map(commandName).sort()).toEqual(Object.keys(FLAGS).sort());
  });

  for (const entry of COMMANDS) {
    const name = commandName(entry);
    describe(name, () => {
      it('exits 0 and prints help on stdout', async () => {
        const r = await helpAt([name, '--help'], 80);
        expect(r.code).toBe(0);
        expect(r.text).toContain(`snap ${entry.command}`);
      });

      it('lists exactly the flags the command takes', async () => {
        const r = await helpAt([name, '--help'], 80);
        expect(listedFlags(r.text)).toEqual([...EVERY_COMMAND, ...(FLAGS[name] ?? [])].sort());
      });

      it('describes every positional', async () => {
        const r = await helpAt([name, '--help'], 80);
        const block = r.text.split(/\n\n/).find((b) => b.startsWith('Positionals:')) ?? '';
        for (const p of positionals(entry.command)) {
          // "  name  description…": the positional's line carries words besides its type.
          const line = block.split('\n').find((l) => l.trimStart().startsWith(`${p} `)) ?? '';
          expect(line.replace(p, '').replace(/\[[a-z]+\]/g, '').trim(), `${name} <${p}>`).not.toBe('');
        }
      });

      it('says the default of every flag that has one', async () => {
        // yargs' own "[default: …]" column is hidden with the types (run.ts): each description must say it.
        const declared = (await entry.load()).builder(yargs()) as unknown as { getOptions(): { default: Record<string, unknown> } };
        const defaults = Object.entries(declared.getOptions().default).filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0));
        const r = await helpAt([name, '--help'], 300);
        for (const [flag] of defaults) {
          const line = r.text.split('\n').find((l) => new RegExp(`^\\s+(?:-\\w, )?--${flag}\\s`).test(l)) ?? '';
          expect(line, `${name} --${flag}`).toMatch(/default/);
        }
      });

      it('lists the values a positional with choices takes', async () => {
        const declared = (await entry.load()).builder(yargs()) as unknown as { getOptions(): { choices: Record<string, string[]> } };
        const r = await helpAt([name, '--help'], 300);
        for (const p of positionals(entry.command)) {
          const choices = declared.getOptions().choices[p];
          if (!choices) continue;
          const line = r.text.split('\n').find((l) => l.trimStart().startsWith(`${p} `)) ?? '';
          for (const c of choices) expect(line, `${name} <${p}>`).toContain(c);
        }
      });

      it('breaks no word across lines, at any width', async () => {
        // Wrapping moves whole words only: the sequence of words is the same at every width (a
        // terminal narrower than 60 columns gets help 60 columns wide), but for the `\` and `#` that
        // carry an example's command or comment over to its next line.
        const words = async (columns: number) => (await helpAt([name, '--help'], columns)).text.split(/\s+/).filter((w) => w !== '' && w !== '\\' && w !== '#');
        const wide = await words(300);
        for (const columns of [30, 60, 72, 80, 100]) expect(await words(columns), `${columns} columns`).toEqual(wide);
      });

      it('prints each example as lines a shell reads as the whole command, at any width', async () => {
        // A command too long for the terminal goes on with ` \` line continuations, a comment with
        // `# ` on each line: pasted into a shell, no tail of an example runs as a command of its own.
        const examples = async (columns: number) => {
          const block = (await helpAt([name, '--help'], columns)).text.split(/\n\n/).find((b) => b.startsWith('Examples:')) ?? '';
          const lines = block.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
          const commands: string[] = [];
          let continued = false;
          for (const line of lines) {
            if (continued) commands[commands.length - 1] += ` ${line.replace(/ \\$/, '')}`;
            else if (!line.startsWith('#')) {
              expect(line, `${name} --help at ${columns} columns: "${line}" is neither a comment nor a command`).toMatch(/(^|; )snap /);
              commands.push(line.replace(/ \\$/, ''));
            }
            continued = !line.startsWith('#') && line.endsWith(' \\');
          }
          return commands;
        };
        const wide = await examples(300);
        expect(wide.length, `${name} has examples`).toBeGreaterThan(0);
        for (const columns of [60, 72, 80]) expect(await examples(columns), `${columns} columns`).toEqual(wide);
      });

      it('indents the continued lines of a long example under its command, at any width', async () => {
        // `snap check … \` then `  --max-added-share 0.1` at the command's own indent read as two
        // commands: each continued line is indented two columns deeper than the line that starts it.
        for (const columns of [60, 72, 80, 300]) {
          const block = (await helpAt([name, '--help'], columns)).text.split(/\n\n/).find((b) => b.startsWith('Examples:')) ?? '';
          const indent = (l: string) => l.length - l.trimStart().length;
          let first: number | undefined;
          for (const line of block.split('\n').slice(1)) {
            if (first !== undefined) expect(indent(line), `${name} --help at ${columns} columns: "${line}"`).toBe(first + 2);
            else expect(indent(line), `${name} --help at ${columns} columns: "${line}"`).toBe(2);
            const continues = !line.trimStart().startsWith('#') && line.endsWith(' \\');
            first = continues ? (first ?? indent(line)) : undefined;
          }
        }
      });

      it('ends with what its exit codes mean', async () => {
        const r = await helpAt([name, '--help'], 300);
        expect(r.text.trimEnd().split('\n\n').at(-1)?.replace(/\s+/g, ' ')).toMatch(/^Exit codes: 0 success · 1 integrity failure .* · 2 usage error · 3 input or environment error · 130 \/ 143 interrupted/);
      });

      it('fits lines within the terminal width (80 columns)', async () => {
        const r = await helpAt([name, '--help'], 80);
        const long = r.text.split('\n').filter((l) => l.length > 80 && /\s/.test(l.trim()));
        expect(long).toEqual([]);
      });
    });
  }

  it('fsck says what it re-hashes in an S3 store (the objects no snapshot names up to MAX_UNREFERENCED_OBJECTS_READ) and what a repair stopped by a signal names', async () => {
    const text = (await helpAt(['fsck', '--help'], 300)).text.replace(/\s+/g, ' ');
    expect(text).toContain(`in an S3 store, of the objects no snapshot names only the first ${MAX_UNREFERENCED_OBJECTS_READ.toLocaleString('en-US')}, the others counted`);
    expect(text).toContain('stopped by Ctrl-C or SIGTERM, it names the objects it had put back, which stay');
  });

  it('report says that the record lists of all sets share RECORD_ROW_LISTS × --max-items rows', async () => {
    const text = (await helpAt(['report', '--help'], 300)).text.replace(/\s+/g, ' ');
    expect(text).toContain(`the record lists of all record sets share ${RECORD_ROW_LISTS} × that many rows`);
  });

  it('export and restore say that their reading and writing workers default to the cores, at most MAX_DEFAULT_IO_JOBS', async () => {
    for (const cmd of ['export', 'restore']) {
      const text = (await helpAt([cmd, '--help'], 300)).text.replace(/\s+/g, ' ');
      expect(text, cmd).toContain(`(default: the number of cores, at most ${MAX_DEFAULT_IO_JOBS})`);
    }
  });

  it("attest says what --as defaults to as defaultModelRef and defaultFolderRef make it: the file's name lower-cased without its extension, a folder's name for a MODEL_DIR", async () => {
    const text = (await helpAt(['attest', '--help'], 300)).text.replace(/\s+/g, ' ');
    const sha256 = 'ab'.repeat(32);
    expect(defaultModelRef({ name: 'Spam-CLF.safetensors', digest: { sha256 } })).toBe(`spam-clf@${sha256.slice(0, 12)}`);
    expect(defaultFolderRef('/models/fraud', [{ name: 'w.bin', digest: { sha256 } } as HashedArtifact])).toMatch(/^fraud@[0-9a-f]{12}$/);
    expect(text).toContain("(default: the first file's name, lower-cased and without its extension, @ the first 12 hex digits of its digest; for a MODEL_DIR, the folder's name @ the first 12 hex digits of a digest of its files' names and digests)");
  });

  it('report does not call --pubkey needed: without --pubkey or --policy it writes the report and says the signers were not checked (verify, restore, import and drill need one)', async () => {
    const text = (await helpAt(['report', '--help'], 300)).text.replace(/\s+/g, ' ');
    expect(text).not.toContain('needed unless --policy is given');
    expect(text).toContain('--pubkey trusted public key file (SPKI PEM); repeatable (optional: without it or --policy, the signers are not checked)');
    for (const cmd of ['verify', 'restore', 'import', 'drill']) expect((await helpAt([cmd, '--help'], 300)).text.replace(/\s+/g, ' '), cmd).toContain('(needed unless --policy is given)');
  });

  it('refuses a flag the command does not take: exit 2', async () => {
    for (const args of [['list', '--jobs', '2'], ['show', 'x@v1', '-q'], ['keygen', 'k', '--store', '/tmp']]) {
      expect((await helpAt(args, 80)).code, args.join(' ')).toBe(2);
    }
  });
});

describe('snap --help', () => {
  it('lists every command and breaks no word across lines', async () => {
    const wide = (await helpAt(['--help'], 300)).text;
    for (const entry of COMMANDS) expect(wide).toContain(`snap ${entry.command}`);
    const words = (t: string) => t.split(/\s+/).filter(Boolean);
    for (const columns of [50, 80]) expect(words((await helpAt(['--help'], columns)).text)).toEqual(words(wide));
  });

  it('wraps at word boundaries in the built binary too (its bundled yargs)', async () => {
    const r = await snapBin(['fsck', '--help']); // not a terminal: 80 columns
    expect(r.code).toBe(0);
    const words = (t: string) => t.split(/\s+/).filter(Boolean);
    expect(words(r.stdout)).toEqual(words((await helpAt(['fsck', '--help'], 300)).text));
  });
});
