import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CORE = fileURLToPath(new URL('../../src/core/', import.meta.url));

/** Modules the pure core must never load: it does no I/O, and takes no process state. */
const FORBIDDEN = ['fs', 'fs/promises', 'fs-extra', 'process', 'yargs', 'tar-stream', 'worker_threads', 'child_process'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? tsFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Every module specifier in `import … from 'x'`, `import 'x'`, `export … from 'x'`, `import('x')`, `require('x')`. */
function specifiers(src: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"`])([^'"`]+)\1/g;
  return [...src.matchAll(re)].map((m) => m[2] as string);
}

/** Source without comments (block comments and whole-line `//` comments), so prose may say "process". */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

function forbidden(spec: string): boolean {
  const bare = spec.replace(/^node:/, '');
  return FORBIDDEN.some((f) => bare === f || bare.startsWith(`${f}/`));
}

describe('the pure core (src/core)', () => {
  const files = tsFiles(CORE);

  it('has source files to check', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  it('recognizes every way of loading a forbidden module (self-check of this test)', () => {
    const sample = [
      "import * as fs from 'node:fs';",
      'import { readFile } from "fs/promises";',
      "import fse from 'fs-extra'",
      "export { argv } from 'node:process';",
      "const y = await import('yargs');",
      "const t = require('tar-stream');",
      "import 'worker_threads';",
      "import { spawn } from 'node:child_process';",
    ].join('\n');
    expect(specifiers(sample).filter(forbidden)).toHaveLength(8);
    expect(specifiers("import { sha256 } from '@noble/hashes/sha2.js';").filter(forbidden)).toEqual([]);
    expect(code('/** runs in this process. */\n// see process.env\nconst x = 1;')).not.toMatch(/process/);
    expect(code('const e = process.env.X;')).toMatch(/process\./);
  });

  it.each(files.map((f) => [f.slice(CORE.length), f]))('%s loads no I/O or process module', (_name, file) => {
    expect(specifiers(code(readFileSync(file, 'utf8'))).filter(forbidden)).toEqual([]);
  });

  it.each(files.map((f) => [f.slice(CORE.length), f]))('%s does not use the global process', (_name, file) => {
    expect(code(readFileSync(file, 'utf8')).match(/\bprocess\s*\.|\bglobalThis\s*\.\s*process\b/g) ?? []).toEqual([]);
  });
});
