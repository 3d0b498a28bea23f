/**
 * The test files that run each in a process of its own (vitest.config.ts, project "isolated"); all
 * others share a process with other files, a file after another (`isolate: false`), which saves
 * each file the start of a process and the import of snap's modules (about 0.7 CPU-s a file: 60
 * small files took 68.8 CPU-s isolated, 27.1 sharing; the whole suite 2,010 → 1,746–1,791 CPU-s,
 * docs/PERFORMANCE.md).
 *
 * A file must be listed here when it changes what a later file in its process would see:
 * - it interrupts the process (src/io/interrupt.ts `interrupt`): the interrupt is a one-way latch,
 *   and every later command in that process stops with TERMINATED or INTERRUPTED;
 * - it replaces a module of snap with `vi.mock` (the mock binds to the file's own module graph; a
 *   shared process has already imported the real module).
 * test/isolated-files.test.ts checks that every file doing either is listed.
 */
export const ISOLATED_FILES: readonly string[] = [
  'test/io/interrupt.test.ts',
  'test/cli/json-stream.test.ts',
  'test/cli/log-json-interrupt-at-end.test.ts',
  'test/ops/seal-failure-rollback.test.ts',
  'test/ops/restore-signal-during-flush.test.ts',
  'test/ops/repair-signal-during-check.test.ts',
  'test/ops/export-manifest-swap.test.ts',
  'test/ops/restore-manifest-swap.test.ts',
  'test/records/seal-config-race.test.ts',
  'test/report/labels-one-read.test.ts',
  'test/cli/exit-codes.test.ts',
  'test/trust/revocation-work.test.ts',
  'test/trust/policy-work.test.ts',
  'test/core/envelope-work.test.ts',
];
