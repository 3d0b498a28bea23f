/** `snap bom REF -o FILE` / `snap bom --model MODEL@VERSION -o FILE`: a CycloneDX 1.6 ML-BOM of a snapshot or of a model attestation. */
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { SnapError, isSnapError } from '../../core/errors.js';
import { promises as fsp } from 'node:fs';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { parseNameVersion } from '../../core/refs.js';
import type { TrustedKey } from '../../core/envelope.js';
import type { AttestationStatement } from '../../core/attestation.js';
import { openStore, storePath, type SnapshotLocation, type Store } from '../../io/store.js';
import { writeOutputFile } from '../../io/output-temp.js';
import { checkTrust, readSnapshotUnverified } from '../../snapshot.js';
import type { TrustRules } from '../../trust/rules.js';
import { attestationsDir, checkStoredAttestation, readAttestationUnverified } from '../../provenance/attestation-store.js';
import { modelBom, snapshotBom, type BomSnapshot, type BomTrainingData } from '../../provenance/bom.js';
import { locateTrainingSnapshot } from '../../provenance/verify-model.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { jsonOut, trustedKeys, type Args, type CliIo, type CommandSpec, commonFlags, withExamples } from '../common.js';
import { jsonDocument } from '../json-stdout.js';
import { openSnapshotRef } from '../snapshot-ref.js';
import { STATE_DIR_OPTION, pubkeyTrustRules, stateDirNeedsPubkey } from '../trust-args.js';

/**
 * The signers a verified BOM names (`snap:signer`): the keys whose signatures verified, each once.
 * A signature that verifies under no trusted key is not a signer, whatever keyid it claims (SPEC
 * §5: the keyid is a hint): listed beside `snap:signaturesVerified: true`, a keyid planted in the
 * store's envelope would read as a key that signed.
 */
function verifiedSigners(signers: readonly { keyid: string; trusted?: boolean }[]): { keyid: string; trusted: boolean }[] {
  return [...new Set(signers.filter((s) => s.trusted === true).map((s) => s.keyid))].map((keyid) => ({ keyid, trusted: true }));
}

/** A failed trust check: the BOM is not written. */
class Untrusted {
  constructor(readonly failure: { code: string; message: string }) {}
}

/** @param label how a failure names the snapshot (default: the ref it was found by) */
async function describeSnapshot(loc: SnapshotLocation, keys: TrustedKey[] | undefined, rules: TrustRules, label = loc.ref): Promise<BomSnapshot | Untrusted> {
  if (keys) {
    const t = await checkTrust(loc, keys, 1, rules);
    if (!t.ok || !t.statement) return new Untrusted({ code: t.failure?.code ?? 'SIGNATURE_INVALID', message: `${label}: ${t.failure?.message ?? 'not trusted'}` });
    return { snapshot: t.snapshot, statement: t.statement, signers: verifiedSigners(t.signers), verified: true };
  }
  const r = await readSnapshotUnverified(loc);
  if (!r.statement) throw new SnapError('SNAPSHOT_MALFORMED', `${loc.ref} has no valid statement`);
  return { snapshot: r.snapshot, statement: r.statement, signers: r.keyids.map((keyid) => ({ keyid })), verified: false };
}

/** How a user finds the name of a model's attestation from its files, said where `--model` names none. */
const VERIFY_MODEL_NAMES_THEM = "snap verify-model FILE… names the attestations of a model's files";
/** At most this many versions of a model are named when the one asked for is not in the store. */
const MAX_VERSIONS_NAMED = 10;

async function modelInput(text: string, store: Store, keys: TrustedKey[] | undefined, rules: TrustRules) {
  let parsed: { name: string; version: string };
  try {
    parsed = parseNameVersion(text);
  } catch (e) {
    // `--model model.safetensors`: the attestation's name is wanted, not its files.
    if (isSnapError(e, 'REF_MALFORMED')) throw new SnapError('REF_MALFORMED', `--model takes the MODEL@VERSION of an attestation (as snap attest printed it; ${VERIFY_MODEL_NAMES_THEM}): ${e.message}`, e.details);
    throw e;
  }
  const { name: model, version } = parsed;
  const a = { model, version, dir: join(attestationsDir(store), model, version) };
  if (!existsSync(a.dir)) {
    const versions = (await fsp.readdir(join(attestationsDir(store), model)).catch(() => [] as string[])).sort();
    const there = versions.length === 0 ? `no attestation is named ${model}` : `${model} has ${versions.length} attestation${versions.length === 1 ? '' : 's'}: ${versions.slice(0, MAX_VERSIONS_NAMED).join(', ')}${versions.length > MAX_VERSIONS_NAMED ? ', …' : ''}`;
    throw new SnapError('REF_NOT_FOUND', `no attestation ${text} in ${store.root}; ${there} (${VERIFY_MODEL_NAMES_THEM})`, { ref: text });
  }
  let id: string;
  let statement: AttestationStatement;
  let signers: { keyid: string; trusted?: boolean }[];
  if (keys) {
    const c = await checkStoredAttestation(a, keys);
    if (!c.ok || !c.statement) return new Untrusted(c.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' });
    id = c.id;
    signers = verifiedSigners(c.signers);
    statement = c.statement;
  } else {
    const r = await readAttestationUnverified(a);
    if ('unreadable' in r) throw new SnapError('STATEMENT_INVALID', `the attestation ${text} cannot be read (malformed, or signed as another name): ${r.unreadable.message} [${r.unreadable.code}]`, { ref: text });
    ({ id, statement } = r);
    signers = r.keyids.map((keyid) => ({ keyid }));
  }
  const datasets: BomTrainingData[] = [];
  for (const d of statement.predicate.datasets) {
    // Found as verify-model finds it: by id, else (no folder, or a copy planted under another name
    // making the id ambiguous) by its signed name; either way it must be the snapshot attested.
    const loc = await locateTrainingSnapshot(d, store);
    if ('missing' in loc) {
      if (keys) return new Untrusted({ code: loc.missing.code, message: `training snapshot ${d.ref} (${d.snapshot}) is not in the store` });
      datasets.push(d);
      continue;
    }
    // Named as the attestation names it (found by id, its ref would be the bare id).
    const s = await describeSnapshot(loc, keys, rules, `training snapshot ${d.ref} (${d.snapshot})`);
    if (s instanceof Untrusted) return s;
    if (s.snapshot !== d.snapshot) {
      if (keys) return new Untrusted({ code: 'INTEGRITY_FAILURE', message: `${d.ref} in the store is now snapshot ${s.snapshot}, not the ${d.snapshot} the model was trained on` });
      datasets.push(d);
      continue;
    }
    datasets.push(s);
  }
  return modelBom({ id, statement, signers, verified: keys !== undefined, datasets });
}

async function cmdBom(a: Args, io: CliIo): Promise<number> {
  stateDirNeedsPubkey(a);
  const storeRoot = storePath(a.store, io.env, io.cwd);
  const model = a.model !== undefined ? String(a.model) : undefined;
  if ((a.ref === undefined) === (model === undefined)) throw new SnapError('USAGE', 'give either a snapshot REF or --model MODEL@VERSION');
  const pubs = a.pubkey === undefined ? [] : (Array.isArray(a.pubkey) ? a.pubkey : [a.pubkey]).map(String);
  const keys = pubs.length > 0 ? await trustedKeys(pubs, io.cwd) : undefined;
  // With keys, the trust check is verify's and verify-model's: an expired snapshot, or one a trusted
  // key revoked (the store's revocations, and those this machine's trusted state kept: a store that
  // deletes a revocation once seen here cannot get the snapshot described as verified), is not
  // described as verified. Without keys nothing is judged, and the state is not read.
  const judged = keys ? await pubkeyTrustRules(a, io, storeRoot, keys) : undefined;
  const rules: TrustRules = judged?.rules ?? {};
  let bom: Record<string, unknown> | Untrusted;
  if (model !== undefined) {
    bom = await modelInput(model, await openStore(storeRoot), keys, rules);
  } else {
    const opened = await openSnapshotRef(String(a.ref), io, storeRoot);
    try {
      const s = await describeSnapshot(opened.location, keys, rules);
      bom = s instanceof Untrusted ? s : snapshotBom(s);
    } finally {
      await opened.close();
    }
  }
  await judged?.keep();
  if (bom instanceof Untrusted) {
    if (a.json) jsonOut(io, { ok: false, failure: bom.failure });
    io.stderr.write(`${io.program ?? 'snap'} bom: not written: ${escapeMessage(bom.failure.message)} [${bom.failure.code}]\n`);
    return EXIT_INTEGRITY;
  }
  const text = JSON.stringify(bom, null, 2) + '\n';
  if (a.out === undefined) {
    // As every document on stdout: terminal controls in names and labels escaped (the same JSON value).
    io.stdout.write(jsonDocument(bom));
    // Said here too, not only after -o: a BOM piped on carries snap:signer keyids that are claims.
    if (!keys && !a.quiet) io.stderr.write('note: signatures not verified: snap:signer names the keyids the envelopes claim; add --pubkey to verify them first\n');
    return EXIT_OK;
  }
  const out = resolve(io.cwd, String(a.out));
  await writeOutputFile(out, text, { mode: 0o644, exclusive: true, what: 'cannot write the BOM' });
  if (a.json) jsonOut(io, { ok: true, out, specVersion: '1.6', verified: keys !== undefined });
  else io.stdout.write(`wrote CycloneDX 1.6 ML-BOM ${shown(out)}${keys ? '' : ' (signatures not verified: add --pubkey to verify them first)'}\n`);
  return EXIT_OK;
}

/** `snap bom [ref]`. */
export const bomCommand: CommandSpec = {
  command: 'bom [ref]',
  describe: 'Write a CycloneDX 1.6 ML-BOM of a snapshot or of a model attestation',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'no note on stderr (that the signatures were not verified)' })
        .positional('ref', { type: 'string', describe: 'the snapshot: NAME@VERSION, an id or prefix, a snapshot folder, or a .snap.tar archive' })
        .option('model', { type: 'string', requiresArg: true, describe: 'MODEL@VERSION of a model attestation in the store, instead of REF' })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'write the BOM to this new file (default: standard output)' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'verify the signatures against these trusted keys first (exit 1 and no BOM if they fail)' })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'with --pubkey: folder of the trusted state, whose kept revocations count (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' }),
      [
        ['$0 bom spam@v1 -o spam-v1.cdx.json', 'the BOM of a dataset snapshot'],
        ['$0 bom --model spam-clf@1.0 -o model.cdx.json --pubkey keys/ml.pub --pubkey keys/data.pub', 'the BOM of a model and its training data, verified (the keys of the attestation and of the data)'],
      ],
    ),
  run: cmdBom,
};
