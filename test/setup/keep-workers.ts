/**
 * Every test file (vitest.config.ts `setupFiles`): the hashing workers of one seal, verify or fsck
 * are kept for the next in this process (io/prestart.ts `keepIdleHashWorkers`), as in a service that
 * runs many. Most of the suite runs the CLI in its own process, a command after another: booting
 * fresh workers for each was about a third of such a file's CPU (100–190 worker threads a file, some
 * 65 ms of CPU each). The `snap` binary (the tests that run it as a subprocess) leaves this off, and
 * test/io/hash-pool.test.ts tests both ways.
 */
import { keepIdleHashWorkers } from '../../src/io/prestart.js';

keepIdleHashWorkers(true);
