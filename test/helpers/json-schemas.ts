/**
 * The published JSON Schemas of the `--json` outputs (docs/schemas/, docs/FORMAT.md "JSON output
 * schemas"), loaded once into ajv (draft 2020-12, strict), for tests that check an output against its
 * contract.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { REPO } from './tree.js';

export const SCHEMAS = join(REPO, 'docs', 'schemas');
const BASE = 'https://snap.invalid/schemas/';

/** The validator, every schema of docs/schemas/ added (they refer to each other by `$id`). */
export const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const f of readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);

/** The errors of `doc` under schema `name` (`docs/schemas/NAME.schema.json`), as text; '' when valid. */
export function schemaErrors(name: string, doc: unknown): string {
  const validate = ajv.getSchema(`${BASE}${name}.schema.json`);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate(doc) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}
