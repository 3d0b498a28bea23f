/**
 * The trusted state's shape (docs/FORMAT.md §16.5): a remembered policy root that could be met by
 * no signature at all — threshold 0, or more than its keys — is not a state this snap wrote, and is
 * refused (STATE_MALFORMED) rather than letting any self-signed policy rotate in.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readState, stateDir, STATE_FILE, STATE_FORMAT } from '../../src/trust/state.js';
import { tempDir } from '../helpers/tree.js';

const KEY = 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=';

async function stateWith(root: { keys: Record<string, string>; threshold: unknown }, version: unknown = 1): Promise<string> {
  const dir = await tempDir('snap-state-shape-');
  await fsp.chmod(dir, 0o700);
  const state = { format: STATE_FORMAT, policies: { acme: { root, seenAt: '2026-11-30T00:00:00Z', sha256: 'a'.repeat(64), version } }, latest: {} };
  await fsp.writeFile(join(dir, STATE_FILE), JSON.stringify(state), { mode: 0o600 });
  return dir;
}

describe('a remembered policy root in the trusted state', () => {
  it('with threshold 1 of one key is read as it is', async () => {
    const s = await readState(await stateWith({ keys: { k1: KEY }, threshold: 1 }));
    expect(s.policies.acme?.root.threshold).toBe(1);
  });
  it.each([
    ['threshold 0', { keys: { k1: KEY }, threshold: 0 }, 1],
    ['a negative threshold', { keys: { k1: KEY }, threshold: -1 }, 1],
    ['a threshold above its number of keys', { keys: { k1: KEY }, threshold: 2 }, 1],
    ['no keys at all', { keys: {}, threshold: 1 }, 1],
    ['version 0', { keys: { k1: KEY }, threshold: 1 }, 0],
  ])('with %s is refused as malformed (STATE_MALFORMED)', async (_what, root, version) => {
    await expect(readState(await stateWith(root, version))).rejects.toMatchObject({ code: 'STATE_MALFORMED' });
  });
});

describe('the state folder', () => {
  const home = userInfo().homedir;
  it('is --state-dir, then SNAP_STATE_DIR, then XDG_STATE_HOME/snap, each relative to the working folder', () => {
    expect(stateDir('s', { SNAP_STATE_DIR: '/e', XDG_STATE_HOME: '/x', HOME: '/h' }, '/w')).toBe('/w/s');
    expect(stateDir(undefined, { SNAP_STATE_DIR: 'e', XDG_STATE_HOME: '/x', HOME: '/h' }, '/w')).toBe('/w/e');
    expect(stateDir(undefined, { XDG_STATE_HOME: 'x', HOME: '/h' }, '/w')).toBe('/w/x/snap');
  });

  it('is under an absolute HOME, and under the password database\'s home folder when HOME is empty, relative or unset (an empty HOME put it under the working folder)', () => {
    expect(stateDir(undefined, { HOME: '/h' }, '/w')).toBe('/h/.local/state/snap');
    for (const env of [{ HOME: '' }, { HOME: 'rel' }, {}]) expect(stateDir(undefined, env, '/w')).toBe(join(home, '.local', 'state', 'snap'));
  });

  it('is refused (USAGE, naming --state-dir and SNAP_STATE_DIR) when HOME is empty, relative or unset and the user has no home folder in the password database', () => {
    const noEntry = () => {
      throw new Error('ENOENT: no such user');
    };
    for (const [env, said] of [[{ HOME: '' }, 'empty'], [{ HOME: 'rel' }, 'not an absolute path ("rel")'], [{}, 'not set']] as const) {
      for (const passwd of [noEntry, () => '', () => 'relative/home']) {
        let thrown: unknown;
        try {
          stateDir(undefined, env, '/w', passwd);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toMatchObject({ code: 'USAGE', message: expect.stringContaining(`HOME is ${said}`) });
        expect((thrown as Error).message).toMatch(/--state-dir DIR or set SNAP_STATE_DIR/);
      }
    }
    // an absolute HOME, or a state folder given otherwise, needs no password database entry
    expect(stateDir(undefined, { HOME: '/h' }, '/w', noEntry)).toBe('/h/.local/state/snap');
    expect(stateDir(undefined, { SNAP_STATE_DIR: '/e' }, '/w', noEntry)).toBe('/e');
  });
});
