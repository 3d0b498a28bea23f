// Injected into the CommonJS CLI bundle (scripts/bundle-cli.mjs): what `import.meta.url` becomes
// there, the bundle's own file URL (src/records/index-pool.ts finds the worker beside the code).
export const __snapImportMetaUrl = require('node:url').pathToFileURL(__filename).href;
