/**
 * `snap policy <action> <file>`: make, change, sign and inspect a trust policy (docs/FORMAT.md §16).
 *
 * - `init FILE --name NAME --root-key ROOT.pub… [--root-threshold N] [--expires 365d]`
 * - `add-key FILE --pub KEY.pub --key-name NAME --role ROLE… [--valid-from T] [--valid-until T]`
 * - `revoke-key FILE (--pub KEY.pub | --keyid HEX) --reason TEXT`, `remove-key FILE (--pub | --keyid)`
 * - `rule FILE --datasets PATTERN… --require ROLE=N… [--max-age 90d]`
 * - `set FILE [--root-threshold N] [--expires T]`
 * - `sign FILE --key KEY…`: add signatures (root keys; for a rotation, the previous root keys too)
 * - `show FILE [--root ROOT.pub…]`: what it says, who signed, and whether it verifies
 *
 * Changing a policy that carries signatures makes the next version: `version` goes up by one and
 * the signatures are dropped (they were over the old payload); it must then be signed again.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SnapError, isSnapError } from '../../core/errors.js';
import { addSignatures, serializeEnvelope, verifyEnvelope, type Envelope } from '../../core/envelope.js';
import { toBase64 } from '../../core/encoding.js';
import { encodePublicKeyDer } from '../../core/keys.js';
import { parseDuration, parseExpiry } from '../../core/durations.js';
import { formatTime, isValidTime } from '../../core/statement.js';
import { POLICY_PAYLOAD_TYPE, keyUnusable, policyKeys, serializePolicy, usableRootKeys, type Policy } from '../../core/policy.js';
import { addKey, newPolicy, removeKey, revokeKey, setFields, setRule, type NewKey } from '../../core/policy-edit.js';
import { acquireLockFile } from '../../io/store.js';
import { writeOutputFile } from '../../io/output-temp.js';
import { readPublicKey } from '../../io/keyfile.js';
import { establishPolicy, readPolicyFile, type PolicyDoc } from '../../trust/policy-trust.js';
import { checkReason } from '../../core/revocation.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { plural, shortKeyid } from '../format.js';
import { jsonOut, signingKeys, trustedKeys, wholeNumberOption, MAX_THRESHOLD, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';

const ACTIONS = ['init', 'add-key', 'revoke-key', 'remove-key', 'rule', 'set', 'sign', 'show'] as const;
type Action = (typeof ACTIONS)[number];

/** A policy key from a public key file, named `name`. */
async function keyFrom(io: CliIo, pubPath: string, name: string, validity: { validFrom?: string; validUntil?: string } = {}): Promise<NewKey> {
  const k = await readPublicKey(resolve(io.cwd, pubPath));
  return { keyid: k.keyid, publicKey: toBase64(encodePublicKeyDer(k.publicKey)), name, ...validity };
}

/** A time given as a duration from now (`90d`), a date, or RFC 3339 UTC; past times allowed. */
function parseTimeArg(text: string, now: Date, what: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && isValidTime(`${text}T00:00:00Z`)) return `${text}T00:00:00Z`;
  if (isValidTime(text)) return text;
  return parseExpiry(text, now, what);
}

/** The keyid named by `--keyid HEX` or `--pub KEY.pub`. */
async function keyidArg(a: Args, io: CliIo): Promise<string> {
  if (typeof a.keyid === 'string' && /^[0-9a-f]{64}$/.test(a.keyid)) return a.keyid;
  if (a.keyid !== undefined) throw new SnapError('USAGE', '--keyid must be a full keyid (64 lowercase hex)');
  if (typeof a.pub === 'string') return (await readPublicKey(resolve(io.cwd, a.pub))).keyid;
  throw new SnapError('USAGE', 'name the key with --pub KEY.pub or --keyid HEX');
}

/** `--require producer=1 --require reviewer=1` (or `producer=1,reviewer=1`) as role → count. */
function requireArg(values: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of ((values as string[] | undefined) ?? []).flatMap((x) => String(x).split(','))) {
    const m = /^([a-z][a-z0-9_-]{0,63})=([1-9][0-9]{0,1})$/.exec(v.trim());
    if (!m) throw new SnapError('USAGE', `--require ${JSON.stringify(v)}: give ROLE=N, e.g. producer=1`);
    out[m[1] as string] = Number(m[2]);
  }
  if (Object.keys(out).length === 0) throw new SnapError('USAGE', 'give at least one --require ROLE=N');
  return out;
}

/** The envelope of a policy with no signatures. */
function unsigned(p: Policy): Envelope {
  return { payload: toBase64(serializePolicy(p)), payloadType: POLICY_PAYLOAD_TYPE, signatures: [] };
}

/** How long a policy change waits for another `snap policy` holding the same file, in ms. */
export const POLICY_LOCK_WAIT_MS = 60_000;

/** The advisory lock file of a policy being changed: `.NAME.lock` beside it. */
export function policyLockPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.lock`);
}

/**
 * Run a read-change-write of the policy `file` under its lock file ({@link policyLockPath}): two
 * `snap policy` runs on one file (two root holders signing, an edit and a signing) would each read
 * the old file, and the later rename would drop the other's change. With the lock they take turns,
 * and each reads the file the other wrote. A lock left by a killed snap is taken over.
 * @throws SnapError `STORE_LOCKED` (another snap held it for 60 s) | `INTERRUPTED` / `TERMINATED` | `IO_ERROR`
 */
async function withPolicyLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const release = await acquireLockFile(policyLockPath(file), `the policy ${file}`, POLICY_LOCK_WAIT_MS, { interruptible: true }).catch((e: unknown) => {
    if (isSnapError(e, 'NOT_FOUND')) throw new SnapError('NOT_FOUND', `${file} does not exist (nor does its folder ${dirname(file)})`, { path: file });
    throw e;
  });
  try {
    return await work();
  } finally {
    await release();
  }
}

async function writePolicy(file: string, env: Envelope, exclusive = false): Promise<void> {
  await writeOutputFile(file, Buffer.concat([Buffer.from(serializeEnvelope(env)), Buffer.from('\n')]), { mode: 0o644, exclusive, what: 'cannot write the policy' });
}

/** Apply an edit: a signed policy becomes the next version, unsigned. */
async function edit(a: Args, io: CliIo, file: string, change: (p: Policy) => Policy): Promise<number> {
  return withPolicyLock(file, () => editLocked(a, io, file, change));
}

async function editLocked(a: Args, io: CliIo, file: string, change: (p: Policy) => Policy): Promise<number> {
  const doc = await readPolicyFile(file);
  let p = change(doc.policy);
  const bumped = doc.envelope.signatures.length > 0;
  if (bumped) p = { ...p, version: doc.policy.version + 1 };
  await writePolicy(file, unsigned(p));
  return report(a, io, file, p, 0, bumped ? `version ${p.version} (the signatures of version ${doc.policy.version} were dropped)` : `version ${p.version}`);
}

function report(a: Args, io: CliIo, file: string, p: Policy, signatures: number, what: string, invalid?: string[]): number {
  if (a.json) jsonOut(io, { ok: true, file, name: p.name, version: p.version, signatures, ...(invalid && invalid.length > 0 ? { invalidSignatures: invalid } : {}) });
  else {
    io.stdout.write(`${shown(file)}: policy ${shown(p.name)} ${what}\n`);
    if (signatures < p.root.threshold && !a.quiet) {
      // Signed by some root keys already: how many more, and that they must be other root keys.
      const needed = signatures === 0 ? `${p.root.threshold} root signature${p.root.threshold === 1 ? '' : 's'}` : p.root.threshold - signatures === 1 ? '1 more root signature, by another root key' : `${p.root.threshold - signatures} more root signatures, by other root keys`;
      io.stdout.write(`  it needs ${needed}: snap policy sign ${shown(file)} --key ROOT.key\n`);
    }
  }
  return EXIT_OK;
}

async function cmdInit(a: Args, io: CliIo, file: string): Promise<number> {
  if (existsSync(file)) throw new SnapError('FILE_EXISTS', `${file} already exists; change it with the other policy actions`, { path: file });
  const rootPubs = (a['root-key'] as string[] | undefined) ?? [];
  if (rootPubs.length === 0) throw new SnapError('USAGE', 'give the root public keys with --root-key ROOT.pub (repeatable)');
  const roots: NewKey[] = [];
  for (const r of rootPubs) roots.push(await keyFrom(io, r, String(r).replace(/^.*\//, '').replace(/\.pub$/, '')));
  const now = new Date();
  const p = newPolicy(String(a.name ?? ''), roots, (a['root-threshold'] as number | undefined) ?? roots.length, parseExpiry(String(a.expires ?? '365d'), now));
  await writePolicy(file, unsigned(p), true);
  return report(a, io, file, p, 0, 'version 1 made');
}

async function cmdSign(a: Args, io: CliIo, file: string): Promise<number> {
  const keys = await signingKeys(io, a); // before the lock: a passphrase prompt must not hold it
  return withPolicyLock(file, () => signLocked(a, io, file, keys));
}

async function signLocked(a: Args, io: CliIo, file: string, keys: Awaited<ReturnType<typeof signingKeys>>): Promise<number> {
  const doc = await readPolicyFile(file);
  const env = addSignatures(doc.envelope, keys);
  await writePolicy(file, env);
  const added = env.signatures.length - doc.envelope.signatures.length;
  for (const k of keys) {
    if (!doc.policy.root.keyids.includes(k.keyid) && !a.quiet) io.stderr.write(`note: keyid ${shortKeyid(k.keyid)} is not a root key of this version; its signature counts only as a previous root key's (a rotation)\n`);
  }
  // Only root keys that count now (not revoked, within their validity), as verify counts them
  // (trust/policy-trust.ts step 1): a revoked root key's signature makes no root signature.
  const rootSigned = verifyEnvelope(env, usableRootKeys(doc.policy, new Date()), 1, POLICY_PAYLOAD_TYPE).trustedKeyids.length;
  const invalid = invalidSignatures(doc);
  if (invalid.length > 0 && !a.quiet) {
    const who = invalid.map((k) => `${shortKeyid(k)}${doc.policy.keys[k] ? ` (${shown((doc.policy.keys[k] as { name: string }).name)})` : ''}`).join(', ');
    io.stderr.write(`note: ${invalid.length === 1 ? 'the signature' : 'the signatures'} by ${who}, a key of this policy, ${invalid.length === 1 ? 'does' : 'do'} not verify over what the file now says: it was changed after ${invalid.length === 1 ? 'that key' : 'those keys'} signed (read it with snap policy show ${shown(file)} before trusting your own signature), and ${invalid.length === 1 ? 'it counts' : 'they count'} for nothing\n`);
  }
  return report(a, io, file, doc.policy, rootSigned, `version ${doc.policy.version}: ${added === 0 ? 'already signed by these keys' : `${plural(added, 'signature')} added`}; ${rootSigned} of ${doc.policy.root.threshold} root signatures`, invalid);
}

/**
 * The keyids of the signatures a policy file carries under the keyid of one of its own keys that do
 * not verify over its payload (DSSE PAE): made over other content, so the file was changed after
 * they were made. A signature by a key the policy does not name (a previous root key's, for a
 * rotation) cannot be checked here and is not listed.
 */
function invalidSignatures(doc: PolicyDoc): string[] {
  const keys = policyKeys(doc.policy);
  const named = new Set(keys.map((k) => k.keyid));
  const checks = verifyEnvelope(doc.envelope, keys, 1, POLICY_PAYLOAD_TYPE).signatures;
  return [...new Set(checks.filter((c) => !c.trusted && named.has(c.keyid)).map((c) => c.keyid))];
}

async function cmdShow(a: Args, io: CliIo, file: string): Promise<number> {
  const doc: PolicyDoc = await readPolicyFile(file);
  const p = doc.policy;
  const now = new Date();
  const all = policyKeys(p);
  const sigs = doc.envelope.signatures.map((s) => {
    let by: string | undefined;
    try {
      by = verifyEnvelope({ ...doc.envelope, signatures: [s] }, all, 1, POLICY_PAYLOAD_TYPE).trustedKeyids[0];
    } catch {
      by = undefined;
    }
    return { keyid: by ?? s.keyid, valid: by !== undefined, root: by !== undefined && p.root.keyids.includes(by), ...(by && p.keys[by] ? { name: (p.keys[by] as { name: string }).name } : {}) };
  });
  let verified: { ok: boolean; code?: string; message?: string } | undefined;
  if (a.root !== undefined) {
    try {
      establishPolicy([doc], await trustedKeys(a.root as string[], io.cwd), { format: 'snap-trusted-state/1', policies: {}, latest: {} }, now);
      verified = { ok: true };
    } catch (e) {
      if (!isSnapError(e) || !e.code.startsWith('POLICY_')) throw e;
      verified = { ok: false, code: e.code, message: e.message };
    }
  }
  if (a.json) {
    const ok = !verified || verified.ok;
    jsonOut(io, { ok, file, sha256: doc.sha256, policy: p, signatures: sigs, ...(verified ? { verified } : {}) });
    return ok ? EXIT_OK : EXIT_INTEGRITY;
  }
  const roleOf = (k: string) => [...(p.root.keyids.includes(k) ? ['root'] : []), ...Object.entries(p.roles).filter(([, r]) => r.keyids.includes(k)).map(([n]) => n)];
  const lines = [
    `policy ${shown(p.name)} version ${p.version}, expires ${shown(p.expires)}${new Date(p.expires) <= now ? ' (EXPIRED)' : ''}`,
    `  payload sha256  ${doc.sha256}`,
    `  root            ${p.root.threshold} of ${p.root.keyids.length} root keys must sign it`,
    `  keys (${Object.keys(p.keys).length}):`,
    ...Object.entries(p.keys).map(([k, v]) => {
      const why = keyUnusable(p, k, now);
      const validity = [v.validFrom ? `from ${shown(v.validFrom)}` : '', v.validUntil ? `until ${shown(v.validUntil)}` : ''].filter(Boolean).join(' ');
      return `    ${shortKeyid(k)}  ${shown(v.name)}  [${roleOf(k).map(shown).join(', ') || 'no role'}]${validity ? `  valid ${validity}` : ''}${why ? `  — does not count: ${escapeMessage(why)}` : ''}`;
    }),
    `  rules (${p.rules.length}; the first that matches a dataset decides):`,
    ...p.rules.map((r, i) => `    ${i + 1}. ${r.datasets.map(shown).join(', ')}: ${Object.entries(r.require).map(([role, n]) => `${n} ${shown(role)}`).join(' + ')} (distinct keys)${r.maxAgeDays ? `, snapshots at most ${r.maxAgeDays} days old` : ''}`),
    `  signatures (${sigs.length}):`,
    ...sigs.map((s) => `    ${shortKeyid(s.keyid) || '(none)'}${s.name ? `  ${shown(s.name)}` : ''}: ${s.valid ? (s.root ? 'valid, root key' : 'valid, not a root key') : 'not by a key of this policy'}`),
    ...(verified ? [verified.ok ? '  verified against --root: OK' : `  verified against --root: FAIL ${escapeMessage(verified.message ?? '')} [${verified.code}]`] : []),
  ];
  io.stdout.write(lines.join('\n') + '\n');
  return verified && !verified.ok ? EXIT_INTEGRITY : EXIT_OK;
}

/** The flags each action uses (`--quiet`, `--json` and `--debug` all take); another action's flag is a usage error, not ignored. */
const ACTION_FLAGS: Record<Action, readonly string[]> = {
  init: ['name', 'root-key', 'root-threshold', 'expires'],
  'add-key': ['pub', 'key-name', 'role', 'valid-from', 'valid-until'],
  'revoke-key': ['pub', 'keyid', 'reason'],
  'remove-key': ['pub', 'keyid'],
  rule: ['datasets', 'require', 'max-age'],
  set: ['root-threshold', 'expires'],
  sign: ['key', 'passphrase-env'],
  show: ['root'],
};

/**
 * Refuse a flag that only other actions use: `policy rule … --role reviewer` made a new version
 * with the role nowhere, `policy show --require producer=2` showed the policy unchanged.
 * @throws SnapError `USAGE`
 */
function refuseOtherActionsFlags(a: Args, action: Action): void {
  if (!(action in ACTION_FLAGS)) return; // an unknown action is refused by cmdPolicy
  const uses = ACTION_FLAGS[action];
  for (const flag of new Set(Object.values(ACTION_FLAGS).flat())) {
    if (uses.includes(flag) || a[flag] === undefined) continue;
    const users = ACTIONS.filter((x) => ACTION_FLAGS[x].includes(flag));
    throw new SnapError('USAGE', `policy ${action} takes no --${flag} (it is for ${users.join(', ')})`);
  }
}

async function cmdPolicy(a: Args, io: CliIo): Promise<number> {
  const action = a.action as Action;
  refuseOtherActionsFlags(a, action);
  const file = resolve(io.cwd, String(a.file));
  const now = new Date();
  switch (action) {
    case 'init':
      return withPolicyLock(file, () => cmdInit(a, io, file));
    case 'sign':
      return cmdSign(a, io, file);
    case 'show':
      return cmdShow(a, io, file);
    case 'add-key': {
      if (typeof a.pub !== 'string') throw new SnapError('USAGE', 'add-key needs --pub KEY.pub');
      const roles = ((a.role as string[] | undefined) ?? []).map(String);
      if (roles.length === 0) throw new SnapError('USAGE', 'add-key needs at least one --role ROLE (root, or a snapshot role such as producer or reviewer)');
      const validity = {
        ...(a['valid-from'] !== undefined ? { validFrom: parseTimeArg(String(a['valid-from']), now, '--valid-from') } : {}),
        ...(a['valid-until'] !== undefined ? { validUntil: parseTimeArg(String(a['valid-until']), now, '--valid-until') } : {}),
      };
      const k = await keyFrom(io, a.pub, String(a['key-name'] ?? String(a.pub).replace(/^.*\//, '').replace(/\.pub$/, '')), validity);
      return edit(a, io, file, (p) => addKey(p, k, roles));
    }
    case 'revoke-key': {
      const keyid = await keyidArg(a, io);
      const reason = checkReason(String(a.reason ?? ''));
      return edit(a, io, file, (p) => revokeKey(p, keyid, formatTime(now), reason));
    }
    case 'remove-key': {
      const keyid = await keyidArg(a, io);
      return edit(a, io, file, (p) => removeKey(p, keyid));
    }
    case 'rule': {
      const datasets = ((a.datasets as string[] | undefined) ?? []).map(String);
      if (datasets.length === 0) throw new SnapError('USAGE', 'rule needs --datasets PATTERN (e.g. fraud-*)');
      let maxAgeDays: number | undefined;
      if (a['max-age'] !== undefined) {
        const seconds = parseDuration(String(a['max-age']), '--max-age');
        if (seconds % 86_400 !== 0) throw new SnapError('USAGE', '--max-age must be whole days (90d, 2w)');
        maxAgeDays = seconds / 86_400;
      }
      const require = requireArg(a.require);
      return edit(a, io, file, (p) => setRule(p, { datasets, require, ...(maxAgeDays !== undefined ? { maxAgeDays } : {}) }));
    }
    case 'set': {
      if (a['root-threshold'] === undefined && a.expires === undefined) throw new SnapError('USAGE', 'set needs --root-threshold N and/or --expires T');
      const expires = a.expires === undefined ? undefined : parseExpiry(String(a.expires), now);
      return edit(a, io, file, (p) => setFields(p, { ...(a['root-threshold'] !== undefined ? { rootThreshold: a['root-threshold'] as number } : {}), ...(expires ? { expires } : {}) }));
    }
    default:
      throw new SnapError('USAGE', `unknown policy action ${JSON.stringify(action)} (${ACTIONS.join(', ')})`);
  }
}

/** `snap policy <action> <file>`. */
export const policyCommand: CommandSpec = {
  command: 'policy <action> <file>',
  describe: 'Make, change, sign and show a trust policy (keys, roles, rules; signed by root keys)',
  builder: (y) =>
    withExamples(
    commonFlags(y, { quiet: 'no hints and notes' })
      .positional('action', { type: 'string', choices: ACTIONS as unknown as string[], describe: `what to do: ${ACTIONS.join(', ')}` })
      .positional('file', { type: 'string', describe: 'the policy file (a DSSE envelope, JSON)' })
      .option('name', { type: 'string', requiresArg: true, describe: 'init: the policy name (names it across versions)' })
      .option('root-key', { type: 'string', array: true, requiresArg: true, describe: 'init: a root public key (repeatable)' })
      .option('root-threshold', wholeNumberOption('root-threshold', 'init, set: how many root keys must sign the policy (init default: all of them)', 1, MAX_THRESHOLD))
      .option('expires', { type: 'string', requiresArg: true, describe: 'init, set: when the policy expires (365d, a date, RFC 3339; init default: 365d)' })
      .option('pub', { type: 'string', requiresArg: true, describe: 'add-key, revoke-key, remove-key: the public key file' })
      .option('keyid', { type: 'string', requiresArg: true, describe: 'revoke-key, remove-key: the keyid instead of --pub' })
      .option('key-name', { type: 'string', requiresArg: true, describe: "add-key: who holds the key (default: the file's name without .pub: alice for keys/alice.pub)" })
      .option('role', { type: 'string', array: true, requiresArg: true, describe: 'add-key: a role of the key (root, or producer, reviewer, …); repeatable' })
      .option('valid-from', { type: 'string', requiresArg: true, describe: 'add-key: the key counts from this time' })
      .option('valid-until', { type: 'string', requiresArg: true, describe: 'add-key: the key counts until this time (a date, or 365d)' })
      .option('reason', { type: 'string', requiresArg: true, describe: 'revoke-key: why' })
      .option('datasets', { type: 'string', array: true, requiresArg: true, describe: 'rule: dataset NAME patterns (* and ?)' })
      .option('require', { type: 'string', array: true, requiresArg: true, describe: 'rule: ROLE=N, signatures of distinct keys of that role; repeatable' })
      .option('max-age', { type: 'string', requiresArg: true, describe: 'rule: refuse snapshots older than this (90d, 2w)' })
      .option('key', { type: 'string', array: true, requiresArg: true, describe: 'sign: private key file(s) to sign with' })
      .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'sign: environment variable holding the key passphrase' })
      .option('root', { type: 'string', array: true, requiresArg: true, describe: 'show: root public keys to verify the policy against' }),
      [
        ['$0 policy init p.json --name acme --root-key r1.pub', 'version 1, unsigned'],
        ['$0 policy add-key p.json --pub alice.pub --role producer', 'alice may count as a producer'],
        ['$0 policy add-key p.json --pub bob.pub --role reviewer', 'bob may count as a reviewer (a rule can require only roles some key has)'],
        ["$0 policy rule p.json --datasets '*' --require producer=1 --require reviewer=1", "every dataset needs a producer's and a reviewer's signature, by two keys"],
        ['$0 policy sign p.json --key r1.key', 'a root key signs it'],
      ],
    ),
  run: cmdPolicy,
};
