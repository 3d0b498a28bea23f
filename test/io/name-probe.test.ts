/**
 * What a restore killed while probing its target left there is told from the probe of a restore
 * still running (src/io/name-probe.ts, removeProbeLeftovers): by its process on this host, else by
 * an hour untouched; and only entries of the shape a probe gives them are removed.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeName, removeProbeLeftovers } from '../../src/io/name-probe.js';
import { hostTag } from '../../src/io/output-temp.js';
import { tempDir } from '../helpers/tree.js';

/** The id of a process that ran on this host and has ended. */
function endedPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const HOUR_AND_A_MINUTE_AGO = new Date(Date.now() - 61 * 60 * 1000);

describe('removeProbeLeftovers: the probe entries of a killed restore', () => {
  it('removes those of a process of this host that has ended — an empty file, a link, a folder of names holding an empty file — and leaves everything else', async () => {
    const dir = await tempDir('snap-probe-left-');
    const pid = endedPid();
    const dead = (suffix: string) => `.snap-probe.${hostTag()}-${pid}-0123456789ab.${suffix}`;
    await fsp.writeFile(join(dir, dead('a')), '');
    await fsp.symlink('.snap-probe.x.target', join(dir, dead('link')));
    await fsp.mkdir(join(dir, dead('names')));
    await fsp.writeFile(join(dir, dead('names'), '12:00.json'), '');
    await fsp.writeFile(join(dir, 'data.txt'), 'mine\n');
    const names = await fsp.readdir(dir);
    const r = await removeProbeLeftovers(dir, names);
    expect(r.removed.sort()).toEqual([dead('a'), dead('link'), dead('names')].sort());
    expect(r.live).toEqual([]);
    expect(await fsp.readdir(dir)).toEqual(['data.txt']);
  });

  it('leaves the probe of this very process, as of a restore still running (live)', async () => {
    const dir = await tempDir('snap-probe-left-');
    const mine = probeName('link');
    await fsp.symlink('nowhere', join(dir, mine));
    expect(await removeProbeLeftovers(dir, [mine])).toEqual({ removed: [], live: [mine] });
  });

  it('leaves one made on another host, or named without its process (older versions), until it is an hour untouched', async () => {
    const dir = await tempDir('snap-probe-left-');
    const otherHost = hostTag() === 'ffffffff' ? 'fffffffe' : 'ffffffff';
    const names = [`.snap-probe.${otherHost}-42-0123456789ab.a`, '.snap-probe.0123456789ab.\u00e9'];
    for (const n of names) await fsp.writeFile(join(dir, n), '');
    expect(await removeProbeLeftovers(dir, names)).toEqual({ removed: [], live: names });
    for (const n of names) await fsp.utimes(join(dir, n), HOUR_AND_A_MINUTE_AGO, HOUR_AND_A_MINUTE_AGO);
    expect((await removeProbeLeftovers(dir, names)).removed).toEqual(names);
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('removes nothing of another shape under a probe name: a file with bytes, a folder holding a folder or a file with bytes, a file where the link would be', async () => {
    const dir = await tempDir('snap-probe-left-');
    const pid = endedPid();
    const dead = (suffix: string, n: number) => `.snap-probe.${hostTag()}-${pid}-${String(n).repeat(12)}.${suffix}`;
    await fsp.writeFile(join(dir, dead('a', 1)), 'x');
    await fsp.mkdir(join(dir, dead('names', 2), 'sub'), { recursive: true });
    await fsp.mkdir(join(dir, dead('names', 3)));
    await fsp.writeFile(join(dir, dead('names', 3), 'f'), 'x');
    await fsp.writeFile(join(dir, dead('link', 4)), '');
    const names = (await fsp.readdir(dir)).sort();
    expect(await removeProbeLeftovers(dir, names)).toEqual({ removed: [], live: [] });
    expect((await fsp.readdir(dir)).sort()).toEqual(names);
  });

  it('with onlyIfAll, removes nothing unless every entry is a leftover to remove (the folder then empty), and everything when each is', async () => {
    const dir = await tempDir('snap-probe-left-');
    const pid = endedPid();
    const dead = (suffix: string) => `.snap-probe.${hostTag()}-${pid}-0123456789ab.${suffix}`;
    await fsp.writeFile(join(dir, dead('a')), '');
    await fsp.symlink('nowhere', join(dir, dead('link')));
    await fsp.writeFile(join(dir, 'data.txt'), 'mine\n');
    const names = (await fsp.readdir(dir)).sort();
    expect(await removeProbeLeftovers(dir, names, Date.now(), { onlyIfAll: true })).toEqual({ removed: [], live: [] });
    expect((await fsp.readdir(dir)).sort()).toEqual(names);
    await fsp.rm(join(dir, 'data.txt'));
    const left = [dead('a'), dead('link')].sort();
    expect((await removeProbeLeftovers(dir, left, Date.now(), { onlyIfAll: true })).removed.sort()).toEqual(left);
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});
