/**
 * The drill's deterministic pseudo-random numbers: mulberry32 over a 32-bit seed. Not for secrets —
 * only so that one seed always plants the same changes. Pure.
 */

/** A seeded generator of numbers in [0, 1) and of choices. */
export class Rng {
  private s: number;
  /** @param seed a whole number; only its low 32 bits count */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** The next number in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)] as T;
  }
  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(list: readonly T[]): T[] {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
