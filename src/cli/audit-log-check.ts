/**
 * The audit log against its checkpoints, for the commands that believe what the log records of the
 * attestations made (`impact`, `verify-model`: docs/FORMAT.md §13, §18).
 */
import { isSnapError } from '../core/errors.js';
import { verifyCheckpoints, type CheckpointProblem } from '../trust/log-checkpoints.js';
import type { Args, CliIo } from './common.js';
import { keptCheckpoints, keptOrigin, storeIdentity } from './commands/log.js';

/** What impact and verify-model find of the audit log against its checkpoints (their `--json` `auditLog`). */
export interface LogCheckpointCheck {
  /** Complete lines of the log (the leaves of its RFC 9162 tree). */
  lines: number;
  checkpoints: {
    /** Checkpoints in the store. */
    count: number;
    /** The newest (largest) checkpoint of the store. */
    newest?: { size: number; origin: string };
    /** Lines signed by a checkpoint the log extends: the store's newest or the one this machine kept, the larger (0 when there are problems). */
    covered: number;
    /** As `snap log --verify` reports them (FORMAT.md §18), signatures aside. */
    problems: CheckpointProblem[];
  };
}

/**
 * The log against its checkpoints, as `log --verify` checks it without keys (trust/log-checkpoints
 * `verifyCheckpoints`: each store checkpoint's root is that of the log's first N lines, successive
 * ones joined, and the checkpoint this machine kept — in the trusted state of `--state-dir` — still
 * extended, with the log origin kept for this store pinned). The signatures are not checked here
 * (the audit key is not the data's): `log --verify --pubkey` does. A log rewritten after a
 * checkpoint to drop an attestation's line is a problem; the log is streamed (memory O(log lines)).
 * A checkpoints folder that cannot be read is one too (`malformed`), never an exit 3.
 * @throws SnapError `STATE_MALFORMED` (the trusted state does not parse, as for log --verify)
 */
export async function logAgainstCheckpoints(a: Args, io: CliIo, root: string): Promise<LogCheckpointCheck> {
  const state = await keptCheckpoints(a, io);
  const pinned = state ? keptOrigin(state.origins, await storeIdentity(root, io)) : undefined;
  try {
    const c = await verifyCheckpoints(root, { pubkeys: [], external: [], ...(state ? { remembered: state.remembered } : {}), ...(pinned !== undefined ? { origin: pinned, originFrom: `the origin this machine kept for this store in ${state?.remembered.source}` } : {}) });
    const origin = pinned ?? c.newest?.origin;
    const kept = origin !== undefined ? (state?.remembered.byOrigin[origin]?.size ?? 0) : 0;
    const covered = c.problems.length > 0 ? 0 : Math.max(c.newest?.size ?? 0, kept);
    return { lines: c.lines, checkpoints: { count: c.checkpoints, ...(c.newest ? { newest: { size: c.newest.size, origin: c.newest.origin } } : {}), covered, problems: c.problems } };
  } catch (e) {
    if (!isSnapError(e) || (e.code !== 'IO_ERROR' && e.code !== 'CHECKPOINT_MALFORMED')) throw e;
    return { lines: 0, checkpoints: { count: 0, covered: 0, problems: [{ kind: 'malformed', source: root, message: e.message }] } };
  }
}
