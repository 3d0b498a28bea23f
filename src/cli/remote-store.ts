/**
 * `--store s3://BUCKET/PREFIX` (or `$SNAP_STORE=s3://…`) for the commands that use a store: the
 * command runs on a working copy of the S3 store (`store/remote-session.ts`, FORMAT.md §20.5),
 * pushed back when it returns. The S3 modules and `@aws-sdk` are loaded by dynamic `import()`
 * here only, so that local commands start as fast as before.
 *
 * What the user sees is as for a local store: the working copy's path never shows (it is replaced
 * by the store's URL in everything printed), and stdout is held back until the push succeeded, so
 * a seal that lost its commit prints no "sealed" line.
 */
import { SnapError } from '../core/errors.js';
import { parseExpiry } from '../core/durations.js';
import { isS3Store, type Retention } from '../store/backend.js';
import type { ObjectNeed } from '../store/remote-session.js';
import type { Args, CliIo } from './common.js';

/** Which objects each command reads from the store (the others need none). */
const OBJECT_NEEDS: Record<string, ObjectNeed> = {
  fsck: 'all',
  export: 'all',
  restore: 'all',
  prove: 'all',
  verify: 'record-indexes',
  diff: 'record-indexes',
  check: 'record-indexes',
  show: 'record-indexes',
};
/** Commands that make the store when there is none (as they do a local one). */
const CREATING = new Set(['init', 'seal', 'import']);
/**
 * Commands that take --store but have not been run against an S3 store yet: refused with a clear
 * USAGE error rather than half-working (see the issue 13 report).
 */
const NOT_YET = new Set(['policy']);

/** The store a command was given, if it is an S3 store. */
export function s3StoreOf(a: Args, io: CliIo): string | undefined {
  const text = a.store ?? io.env.SNAP_STORE;
  return isS3Store(text) ? text : undefined;
}

/**
 * The retention `seal --retain` asks for.
 * @throws SnapError `USAGE` for a bad duration or date, a bad mode, or a store that is not S3
 */
export function retentionOf(a: Args, io: CliIo, now = new Date()): Retention | undefined {
  if (a.retain === undefined) {
    if (a['retain-mode'] !== undefined) throw new SnapError('USAGE', '--retain-mode needs --retain');
    return undefined;
  }
  if (!s3StoreOf(a, io)) throw new SnapError('USAGE', '--retain needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
  const mode = String(a['retain-mode'] ?? 'compliance').toLowerCase();
  if (mode !== 'compliance' && mode !== 'governance') throw new SnapError('USAGE', `--retain-mode ${JSON.stringify(String(a['retain-mode']))}: give compliance or governance`);
  return { mode: mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE', until: new Date(parseExpiry(String(a.retain), now, '--retain')) };
}

/**
 * Run `handler` on a working copy of the S3 store `url`.
 * @returns the command's exit code; an error of the push is thrown (e.g. `SNAPSHOT_EXISTS` when
 *   another sealer committed the same NAME@VERSION first)
 */
export async function runOnS3Store(cmd: string, url: string, a: Args, io: CliIo, handler: (a: Args, io: CliIo) => Promise<number>): Promise<number> {
  if (NOT_YET.has(cmd)) throw new SnapError('USAGE', `${cmd} does not work on an S3 store yet; use a local store`);
  const retain = retentionOf(a, io);
  const [{ openS3Backend }, { openRemoteSession }] = await Promise.all([import('../store/open-s3.js'), import('../store/remote-session.js')]);
  const remote = await openS3Backend(url, io.env);
  if (retain) await remote.checkObjectLock();
  const session = await openRemoteSession(remote, {
    create: CREATING.has(cmd),
    objects: OBJECT_NEEDS[cmd] ?? 'none',
    ...(retain ? { retain } : {}),
    note: (t) => io.stderr.write(`${io.program ?? 'snap'} ${cmd}: ${t}\n`),
  });
  const shown = (s: string): string => s.split(session.root).join(remote.location.replace(/\/$/, ''));
  const held: string[] = [];
  const out: CliIo = {
    ...io,
    env: { ...io.env, SNAP_STORE: session.root },
    stdout: wrapWrite(io.stdout, (s) => void held.push(shown(s))),
    stderr: wrapWrite(io.stderr, (s) => void io.stderr.write(shown(s))),
  };
  let code: number;
  try {
    code = await handler({ ...a, store: session.root }, out);
  } catch (e) {
    await session.finish(true).catch(() => {});
    for (const s of held) io.stdout.write(s);
    if (e instanceof SnapError) throw new SnapError(e.code, shown(e.message), e.details);
    throw e;
  }
  await session.finish(true);
  for (const s of held) io.stdout.write(s);
  return code;
}

/** A stream whose writes go to `write` (as text), keeping `isTTY` and `columns` of `base`. */
function wrapWrite(base: CliIo['stdout'], write: (s: string) => void): CliIo['stdout'] {
  const w = Object.create(base) as CliIo['stdout'];
  (w as unknown as { write: (c: unknown, ...rest: unknown[]) => boolean }).write = (c: unknown, ...rest: unknown[]) => {
    write(typeof c === 'string' ? c : Buffer.from(c as Uint8Array).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  return w;
}
