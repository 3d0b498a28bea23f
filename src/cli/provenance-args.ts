/**
 * `seal`'s provenance flags: `-m/--message`, `--source URI[#sha256=HEX]`, `--license SPDX`,
 * `--derived-from REF`, `--pipeline` / `--no-pipeline`, turned into `predicate.provenance`.
 */
import type { Argv } from 'yargs';
import { SnapError } from '../core/errors.js';
import { MAX_DERIVED_FROM, MAX_SOURCES, parseSourceArg, type Provenance } from '../core/provenance.js';
import { buildProvenance } from '../provenance/build.js';
import { derivationOf } from '../provenance/build.js';
import { locate, type Args, type CliIo } from './common.js';

/** Declare the provenance flags on a command. */
export function provenanceOptions(y: Argv): Argv {
  return y
    .option('message', { alias: 'm', type: 'string', requiresArg: true, describe: 'what this dataset is (signed into the statement)' })
    .option('source', { type: 'string', array: true, requiresArg: true, describe: 'where the data came from: URI[#sha256=HEX] (repeatable; signed)' })
    .option('license', { type: 'string', requiresArg: true, describe: 'SPDX licence identifier or expression of the data (signed)' })
    .option('derived-from', { type: 'string', array: true, requiresArg: true, describe: 'ref of a snapshot this dataset was produced from (repeatable; must exist, signed as its name)' })
    .option('pipeline', { type: 'boolean', describe: 'record the git commit of the working tree and this command line (default: when any provenance flag is given)' })
    // A flag of its own: the CLI parses with yargs' boolean negation off (see run.ts).
    .option('no-pipeline', { type: 'boolean', describe: 'record no pipeline, even with other provenance flags' })
    .conflicts('pipeline', 'no-pipeline');
}

function strings(v: unknown, flag: string): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (typeof x !== 'string' || x === '') throw new SnapError('USAGE', `${flag} needs a value`);
  return list as string[];
}

function single(v: unknown, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) || typeof v !== 'string') throw new SnapError('USAGE', `${flag} may be given once`);
  if (v === '') throw new SnapError('USAGE', `${flag} needs a value`);
  return v;
}

/**
 * The provenance a seal was asked to record, or undefined when no provenance flag was given
 * (and `--pipeline` was not). Derivations are looked up in `store` (or as folders).
 * @throws SnapError `USAGE` (bad value, too many) | codes of {@link derivationOf} | `REF_*`
 */
export async function provenanceFromArgs(a: Args, io: CliIo, store: string): Promise<Provenance | undefined> {
  const description = single(a.message, '--message');
  const license = single(a.license, '--license');
  const sources = strings(a.source, '--source');
  const derived = strings(a['derived-from'], '--derived-from');
  if (sources.length > MAX_SOURCES) throw new SnapError('USAGE', `at most ${MAX_SOURCES} --source`);
  if (derived.length > MAX_DERIVED_FROM) throw new SnapError('USAGE', `at most ${MAX_DERIVED_FROM} --derived-from`);
  const any = description !== undefined || license !== undefined || sources.length > 0 || derived.length > 0;
  const pipeline = a['no-pipeline'] === true ? false : a.pipeline === undefined ? any : a.pipeline === true;
  if (!any && !pipeline) return undefined;
  const derivedFrom = [];
  for (const ref of derived) derivedFrom.push(await derivationOf(await locate(ref, io, store)));
  return buildProvenance({
    description,
    license,
    sources: sources.map(parseSourceArg),
    derivedFrom,
    ...(pipeline ? { pipeline: { cwd: io.cwd, command: ['snap', ...(io.argv ?? [])] } } : {}),
  });
}
