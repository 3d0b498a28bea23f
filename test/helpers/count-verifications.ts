/**
 * Counting Ed25519 verifications, for tests that bound the work a planted file can cause. Use in a
 * test file as
 *
 *     vi.mock('../../src/core/ed25519.js', async (orig) => (await import('../helpers/count-verifications.js')).countingEd25519(orig));
 *
 * (vi.mock is hoisted above imports, so the factory imports this module itself), and read or reset
 * `verifications.count`.
 */
import type * as Ed25519 from '../../src/core/ed25519.js';

/** Verifications made through the mocked module since the last reset. */
export const verifications = { count: 0 };

/** The real core/ed25519.js with `verify` counted in {@link verifications}. */
export async function countingEd25519(orig: () => Promise<unknown>): Promise<typeof Ed25519> {
  const real = (await orig()) as typeof Ed25519;
  return {
    ...real,
    verify: (...a: Parameters<typeof real.verify>) => {
      verifications.count++;
      return real.verify(...a);
    },
  };
}
