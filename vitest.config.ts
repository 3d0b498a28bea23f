import { defineConfig } from 'vitest/config';

// Timeouts are generous on purpose: the 1,024 Ed25519 vectors, property tests and CLI subprocess
// tests run on shared 2-core machines. Performance targets live in `npm run bench`, never here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
