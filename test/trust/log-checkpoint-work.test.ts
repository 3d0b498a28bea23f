/**
 * The work a planted checkpoint costs. impact and verify-model check the store's checkpoints
 * without a key (no signature is checked), so whoever can write the store can plant a checkpoint
 * over 10^7 empty lines (10 MB): every line under it was hashed to compare its root, 23–26 CPU-s.
 * No checkpoint snap signs covers a line shorter than any log line (MIN_LOG_LINE_BYTES) unless it
 * is a torn append the next line sealed off and recorded (`log checkpoint` refuses a log with any
 * other malformed line), so the first such line ends the hashing: every checkpoint of that many
 * lines or more is a `mismatch`. Work is counted as the leaves handed to the pass's sink.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, signNoteLine } from '../../src/core/signed-note.js';
import { publicKeyOf } from '../../src/core/ed25519.js';
import { keyidOf } from '../../src/core/keys.js';
import { MIN_LOG_LINE_BYTES, appendAudit, parseAuditLine, type LeafSink } from '../../src/io/audit-log.js';
import { openStore } from '../../src/io/store.js';
import { hashLog, logRoots, makeCheckpoint, verifyCheckpoints } from '../../src/trust/log-checkpoints.js';
import { tempDir } from '../helpers/tree.js';

const LINES = 10_000;

/** A sink that counts the leaves it is handed (the hashing work of a pass). */
function countingSink(upTo: number): LeafSink & { leaves: number; lines?: number } {
  const s = {
    upTo,
    leaves: 0,
    lines: undefined as number | undefined,
    leaf() {
      s.leaves++;
    },
    end(n: number) {
      s.lines = n;
    },
    fail(e: unknown) {
      throw e;
    },
    cut() {},
  };
  return s;
}

/** A store whose log is `lines` copies of `line`, with a checkpoint of all of them planted (its root the true one: what an attacker can compute). */
async function planted(lines: number, line: string): Promise<string> {
  const root = await tempDir('snap-cpwork-');
  await fsp.writeFile(join(root, 'log.jsonl'), `${line}\n`.repeat(lines));
  const { roots } = await logRoots(root, [lines], { whole: false }); // the attacker's own computation (the code before the bound)
  const origin = 'snap.local/log/0123456789abcdef';
  const seed = new Uint8Array(randomBytes(32));
  const text = formatCheckpoint({ origin, size: lines, root: roots.get(lines) ?? new Uint8Array(32), extensions: [] });
  await fsp.mkdir(join(root, 'log.checkpoints'));
  await fsp.writeFile(join(root, 'log.checkpoints', `${String(lines).padStart(16, '0')}.checkpoint`), `${text}\n${signNoteLine(text, { name: origin, publicKey: publicKeyOf(seed), seed })}`);
  return root;
}

describe('a checkpoint planted over short lines', () => {
  it('MIN_LOG_LINE_BYTES is the length of the shortest line a log line can be', () => {
    const shortest = `{"command":"","host":"","outcome":"ok","pid":0,"prev":"${'0'.repeat(64)}","seq":1,"time":"","user":""}`;
    expect(parseAuditLine(Buffer.from(shortest))).toBeDefined();
    expect(shortest.length).toBe(MIN_LOG_LINE_BYTES);
  });

  it(`over ${LINES} empty lines is a mismatch after hashing at most one line, not ${LINES}`, async () => {
    const root = await planted(LINES, '');
    const sink = countingSink(LINES);
    await hashLog(root, sink);
    expect(sink.lines).toBe(LINES);
    expect(sink.leaves).toBeLessThanOrEqual(1);
    const v = await verifyCheckpoints(root, { pubkeys: [], external: [] });
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ kind: 'mismatch', size: LINES, message: expect.stringContaining('line 1 of the log') })]);
  });

  it('over lines of one byte less than a log line is a mismatch too, and one over lines of MIN_LOG_LINE_BYTES is hashed (it costs what its bytes cost)', async () => {
    const short = await planted(100, 'x'.repeat(MIN_LOG_LINE_BYTES - 1));
    expect((await verifyCheckpoints(short, { pubkeys: [], external: [] })).problems.map((p) => p.kind)).toEqual(['mismatch']);
    const long = await planted(100, 'x'.repeat(MIN_LOG_LINE_BYTES));
    const sink = countingSink(100);
    await hashLog(long, sink);
    expect(sink.leaves).toBe(100);
    expect((await verifyCheckpoints(long, { pubkeys: [], external: [] })).ok).toBe(true); // unsigned: only log --verify --pubkey refuses it
  });

  it('a torn append sealed off by the next line (a short malformed line recorded as recovered) stays under a checkpoint snap signs, which verifies', async () => {
    const root = await tempDir('snap-cptorn-');
    await openStore(root, { create: true });
    const entry = { command: 'verify', outcome: 'ok' as const, exit: 0 };
    expect((await appendAudit(root, entry)).written).toBe(true);
    await fsp.appendFile(join(root, 'log.jsonl'), '{"com'); // a crash mid-append
    expect((await appendAudit(root, entry)).written).toBe(true); // seals it off, recording it
    expect((await appendAudit(root, entry)).written).toBe(true);
    const seed = new Uint8Array(randomBytes(32));
    const publicKey = publicKeyOf(seed);
    const key = { seed, publicKey, keyid: keyidOf(publicKey) };
    const made = await makeCheckpoint(root, key);
    expect(made.checkpoint.size).toBe(4);
    const v = await verifyCheckpoints(root, { pubkeys: [key], external: [] });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it('a short line whose next line records other bytes is not sealed off: a checkpoint over it is a mismatch', async () => {
    const root = await tempDir('snap-cptorn2-');
    await openStore(root, { create: true });
    const entry = { command: 'verify', outcome: 'ok' as const, exit: 0 };
    await appendAudit(root, entry);
    await fsp.appendFile(join(root, 'log.jsonl'), '{"com');
    await appendAudit(root, entry);
    const text = await fsp.readFile(join(root, 'log.jsonl'), 'utf8');
    await fsp.writeFile(join(root, 'log.jsonl'), text.replace('\n{"com\n', '\n{"cXm\n')); // the fragment changed: its record no longer matches
    const { roots } = await logRoots(root, [3], { whole: false }).catch(() => ({ roots: new Map() }));
    const origin = 'snap.local/log/0123456789abcdef';
    const ctext = formatCheckpoint({ origin, size: 3, root: roots.get(3) ?? new Uint8Array(32), extensions: [] });
    await fsp.mkdir(join(root, 'log.checkpoints'));
    const seed = new Uint8Array(randomBytes(32));
    await fsp.writeFile(join(root, 'log.checkpoints', `${String(3).padStart(16, '0')}.checkpoint`), `${ctext}\n${signNoteLine(ctext, { name: origin, publicKey: publicKeyOf(seed), seed })}`);
    const v = await verifyCheckpoints(root, { pubkeys: [], external: [] });
    expect(v.problems).toEqual([expect.objectContaining({ kind: 'mismatch', size: 3, message: expect.stringContaining('line 2 of the log') })]);
  });
});
