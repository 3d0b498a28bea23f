#!/usr/bin/env node
// Build step (scripts/bundle-cli.mjs): `node scripts/warm-cli-cache.mjs MAIN ARGS…` runs the CLI's
// loader MAIN (dist/cli/main.js) with ARGS, as `node MAIN ARGS…` would, and when the process exits
// writes the V8 code cache of the bundle beside it (snap.cjs.cache): what the run compiled, on top of
// what the cache it started from held. Never used at run time.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [main, ...args] = process.argv.slice(2);
if (main === undefined) throw new Error('usage: warm-cli-cache.mjs MAIN ARGS…');
process.argv = [process.argv[0], main, ...args];
const loader = await import(pathToFileURL(main).href);
process.on('exit', () => writeFileSync(loader.cacheFile, loader.codeCacheBytes()));
