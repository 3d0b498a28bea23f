/**
 * A trusted state read earlier in a run is taken again, unparsed, only while the state file holds
 * exactly the bytes it was read from (or written as): `readState(dir, { reuse })` and
 * `updateState(dir, change, { read })` (trust/state.ts). A verify used to parse the whole state
 * two to four times; a change made by another run in between must never be lost for it.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState, updateState, STATE_FILE, STATE_FORMAT, type TrustedState } from '../../src/trust/state.js';
import { tempDir } from '../helpers/tree.js';

const record = (version: string, hex: string) => ({ createdAt: '2026-12-01T00:00:00Z', seenAt: '2026-12-01T00:00:00Z', snapshot: `sha256:${hex.repeat(64)}`, version });

/** A state folder of this user's, holding a state whose `latest` remembers ds@VERSION in domain d. */
async function stateFolder(version = 'v1', hex = 'a'): Promise<string> {
  const dir = await tempDir('snap-state-reuse-');
  await fsp.chmod(dir, 0o700);
  await writeState(dir, version, hex);
  return dir;
}

async function writeState(dir: string, version: string, hex: string): Promise<void> {
  const state = { format: STATE_FORMAT, latest: { d: { ds: record(version, hex) } }, policies: {} };
  // Through a new file renamed into place, as snap writes it.
  await fsp.writeFile(join(dir, 'next.json'), JSON.stringify(state), { mode: 0o600 });
  await fsp.rename(join(dir, 'next.json'), join(dir, STATE_FILE));
}

describe('readState with a state read before', () => {
  it('gives that same state back while the file holds the bytes it was read from', async () => {
    const dir = await stateFolder();
    const first = await readState(dir);
    expect(await readState(dir, { reuse: first })).toBe(first);
  });

  it('reads the file anew once another run has rewritten it — even to the same size, as a new seenAt would', async () => {
    const dir = await stateFolder('v1', 'a');
    const first = await readState(dir);
    const before = (await fsp.stat(join(dir, STATE_FILE))).size;
    await writeState(dir, 'v2', 'b');
    expect((await fsp.stat(join(dir, STATE_FILE))).size).toBe(before);
    const again = await readState(dir, { reuse: first });
    expect(again).not.toBe(first);
    expect(again.latest.d?.ds?.version).toBe('v2');
  });

  it('reads it anew when the bytes changed in place (same inode)', async () => {
    const dir = await stateFolder('v1', 'a');
    const first = await readState(dir);
    const path = join(dir, STATE_FILE);
    await fsp.writeFile(path, (await fsp.readFile(path, 'utf8')).replace('"v1"', '"v7"'));
    expect((await readState(dir, { reuse: first })).latest.d?.ds?.version).toBe('v7');
  });

  it('still refuses a state file that has become another user\'s to write (IO_ERROR), as a first read does', async () => {
    const dir = await stateFolder();
    const first = await readState(dir);
    await fsp.chmod(join(dir, STATE_FILE), 0o666);
    await expect(readState(dir, { reuse: first })).rejects.toMatchObject({ code: 'IO_ERROR', details: { reason: 'unsafe' } });
  });

  it('gives an empty state read from no file back while there is still none, and reads a file written since', async () => {
    const dir = await tempDir('snap-state-reuse-');
    await fsp.chmod(dir, 0o700);
    const empty = await readState(dir);
    expect(await readState(dir, { reuse: empty })).toBe(empty);
    await writeState(dir, 'v3', 'c');
    expect((await readState(dir, { reuse: empty })).latest.d?.ds?.version).toBe('v3');
  });

  it('does not take a state that was never read (a copy, say): the file is read', async () => {
    const dir = await stateFolder();
    const copy = structuredClone(await readState(dir)) as TrustedState;
    const again = await readState(dir, { reuse: copy });
    expect(again).not.toBe(copy);
    expect(again).toEqual(copy);
  });
});

describe('updateState with a state read before', () => {
  it('edits that state when the file is unchanged, and takes it again after its own write', async () => {
    const dir = await stateFolder();
    const first = await readState(dir);
    let given: TrustedState | undefined;
    await updateState(dir, (s) => {
      given = s;
      (s.latest.d as Record<string, unknown>).other = record('v1', 'e');
      return true;
    }, { read: first });
    expect(given).toBe(first);
    expect(JSON.parse(await fsp.readFile(join(dir, STATE_FILE), 'utf8')).latest.d.other.version).toBe('v1');
    // The file now holds what was written from it: the next update takes it again.
    let next: TrustedState | undefined;
    await updateState(dir, (s) => ((next = s), false), { read: first });
    expect(next).toBe(first);
  });

  it('loses nothing another run wrote in between: its change is given the file as it is now', async () => {
    const dir = await stateFolder('v1', 'a');
    const first = await readState(dir);
    await writeState(dir, 'v2', 'b'); // another verify remembered ds@v2 meanwhile
    let seen: string | undefined;
    await updateState(dir, (s) => {
      seen = s.latest.d?.ds?.version;
      (s.latest.d as Record<string, unknown>).other = record('v1', 'e');
      return true;
    }, { read: first });
    expect(seen).toBe('v2');
    const onDisk = JSON.parse(await fsp.readFile(join(dir, STATE_FILE), 'utf8'));
    expect(onDisk.latest.d.ds.version).toBe('v2');
    expect(onDisk.latest.d.other.version).toBe('v1');
  });

  it('reads the file again after a change that stopped part-way (the state given may hold half of it)', async () => {
    const dir = await stateFolder();
    const first = await readState(dir);
    await expect(updateState(dir, (s) => {
      (s.latest.d as Record<string, unknown>).half = record('v9', 'f');
      throw new Error('stopped');
    }, { read: first })).rejects.toThrow('stopped');
    const again = await readState(dir, { reuse: first });
    expect(again).not.toBe(first);
    expect(again.latest.d?.half).toBeUndefined();
  });
});
