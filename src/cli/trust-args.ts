/**
 * The trust flags that `verify`, `restore` and `import` share beyond `--pubkey`/`--threshold`:
 * `--revocations FILE…` (and the store's own revocations), turned into the {@link TrustRules} that
 * `checkTrust` applies.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { TrustedKey } from '../core/envelope.js';
import type { TrustRules } from '../trust/rules.js';
import { readRevocationFile, revocationSource } from '../trust/revocations.js';
import type { Args, CliIo } from './common.js';

/** Declare the shared trust flags on a command. */
export function trustOptions(y: Argv): Argv {
  return y.option('revocations', {
    type: 'string',
    array: true,
    describe: 'revocation file (from snap revoke --out); repeatable. The store\'s own revocations are always read',
  });
}

/** True when `storeRoot` is a store (has store.json): its revocations apply. */
function isStore(storeRoot: string): boolean {
  return existsSync(join(storeRoot, 'store.json'));
}

/**
 * The rules for a trust check: revocations from the store (when there is one) and from
 * `--revocations` files, counted when signed by one of `trusted`.
 * @throws SnapError `NOT_FOUND` | `IO_ERROR` | `REVOCATION_MALFORMED` (a file too large) | `USAGE`
 */
export async function trustRules(a: Args, io: CliIo, storeRoot: string, trusted: readonly TrustedKey[]): Promise<TrustRules> {
  const files = [];
  for (const f of (a.revocations as string[] | undefined) ?? []) files.push(await readRevocationFile(resolve(io.cwd, f)));
  return { revocations: revocationSource(isStore(storeRoot) ? storeRoot : undefined, files), revokers: trusted };
}
