/**
 * A set of SHA-256 digests held as their 32 bytes, not as strings: `prune` keeps every digest the
 * store's snapshots name (millions of files × many versions) and a `Set` of 64-character strings
 * costs over 100 bytes a digest in V8; this costs 33 bytes a slot, 44–88 bytes a digest (load
 * factor from {@link MAX_LOAD} / 2 to {@link MAX_LOAD}).
 *
 * Open addressing with linear probing, in {@link PARTS} tables chosen by the top bits of the hash,
 * each growing on its own (growing copies one part, never the whole set). The hash mixes all 32
 * bytes with seeded multipliers: digests named by a hand-made manifest cannot be chosen to pile up
 * in one run of slots without knowing the seed.
 */
import { SnapError } from './errors.js';

/** Bytes of a SHA-256 digest. */
export const DIGEST_BYTES = 32;

/** 32-bit words of a digest. */
const WORDS = DIGEST_BYTES / 4;

/** Tables the set is split into (by the top {@link PART_BITS} bits of the hash). */
const PART_BITS = 8;
const PARTS = 1 << PART_BITS;

/** Slots of a table when it is made (a power of two). */
const INITIAL_SLOTS = 16;

/** A table grows (doubles) before more than this fraction of its slots is used. */
const MAX_LOAD = 0.75;

/** Largest table: the hash has 32 − {@link PART_BITS} bits left to pick a slot with. */
const MAX_SLOT_BITS = 32 - PART_BITS;

/** Value of each character code of a lowercase hex digit, −1 for every other code below 128. */
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[97 + i] = 10 + i;
  return t;
})();

/** One table: `keys` holds {@link WORDS} words a slot, `used` 1 for a slot that holds a digest. */
interface Part {
  keys: Uint32Array;
  used: Uint8Array;
  bits: number;
  count: number;
}

/** Options of {@link DigestSet}. */
export interface DigestSetOptions {
  /** Seed of the hash (an unsigned 32-bit integer); default: a random one. Answers never depend on it. */
  seed?: number;
}

/** A set of SHA-256 digests, given and asked for as 64 lowercase hex characters. */
export class DigestSet {
  private readonly parts: Part[] = [];
  private readonly mult: Uint32Array = new Uint32Array(WORDS);
  /** The digest last decoded, as words. */
  private readonly w: Uint32Array = new Uint32Array(WORDS);
  private n = 0;

  constructor(opts: DigestSetOptions = {}) {
    let s = (opts.seed ?? Math.floor(Math.random() * 0x1_0000_0000)) >>> 0;
    // Odd multipliers from the seed (splitmix-like steps): each word of a digest moves the hash.
    for (let i = 0; i < WORDS; i++) {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.mult[i] = ((z ^ (z >>> 16)) | 1) >>> 0;
    }
    for (let p = 0; p < PARTS; p++) this.parts.push(newPart(Math.log2(INITIAL_SLOTS)));
  }

  /** Number of distinct digests added. */
  get size(): number {
    return this.n;
  }

  /** Bytes the tables take (keys and slot marks). */
  get bytes(): number {
    let b = 0;
    for (const p of this.parts) b += p.keys.byteLength + p.used.byteLength;
    return b;
  }

  /**
   * Add a digest.
   * @param hex 64 lowercase hex characters
   * @returns true when it was not in the set
   * @throws SnapError `INTERNAL` when `hex` is not 64 lowercase hex (callers pass digests already checked)
   */
  add(hex: string): boolean {
    const h = this.decode(hex);
    let part = this.parts[h >>> MAX_SLOT_BITS] as Part;
    if (this.find(part, h) >= 0) return false;
    if (part.count + 1 > (1 << part.bits) * MAX_LOAD) {
      part = this.grow(h >>> MAX_SLOT_BITS);
    }
    this.put(part, h);
    this.n++;
    return true;
  }

  /**
   * Whether a digest was added.
   * @throws SnapError `INTERNAL` when `hex` is not 64 lowercase hex
   */
  has(hex: string): boolean {
    const h = this.decode(hex);
    return this.find(this.parts[h >>> MAX_SLOT_BITS] as Part, h) >= 0;
  }

  /** Decode `hex` into `this.w` and return its hash. */
  private decode(hex: string): number {
    if (hex.length !== 2 * DIGEST_BYTES) throw notADigest(hex);
    for (let i = 0; i < WORDS; i++) {
      let v = 0;
      for (let j = 8 * i; j < 8 * i + 8; j++) {
        const c = hex.charCodeAt(j);
        const d = c < 128 ? (HEX_VALUE[c] as number) : -1;
        if (d < 0) throw notADigest(hex);
        v = (v << 4) | d;
      }
      this.w[i] = v;
    }
    return this.hash();
  }

  /** First slot to probe for hash `h` in a table of 2^bits slots. */
  private static start(h: number, bits: number): number {
    return bits === 0 ? 0 : ((h << PART_BITS) >>> (32 - bits)) & ((1 << bits) - 1);
  }

  /** The slot of `part` holding the digest in `this.w` (hash `h`), or −1. */
  private find(part: Part, h: number): number {
    const mask = (1 << part.bits) - 1;
    const w = this.w;
    for (let s = DigestSet.start(h, part.bits); ; s = (s + 1) & mask) {
      if (part.used[s] === 0) return -1;
      const k = s * WORDS;
      const keys = part.keys;
      if (keys[k] === w[0] && keys[k + 1] === w[1] && keys[k + 2] === w[2] && keys[k + 3] === w[3] && keys[k + 4] === w[4] && keys[k + 5] === w[5] && keys[k + 6] === w[6] && keys[k + 7] === w[7]) return s;
    }
  }

  /** Put the digest in `this.w` (hash `h`, not in `part`) into a free slot of `part`. */
  private put(part: Part, h: number): void {
    const mask = (1 << part.bits) - 1;
    let s = DigestSet.start(h, part.bits);
    while (part.used[s] !== 0) s = (s + 1) & mask;
    part.keys.set(this.w, s * WORDS);
    part.used[s] = 1;
    part.count++;
  }

  /** Double part `p`'s table, moving its digests; `this.w` is kept. */
  private grow(p: number): Part {
    const old = this.parts[p] as Part;
    if (old.bits >= MAX_SLOT_BITS) throw new SnapError('INTERNAL', `more than ${Math.floor((1 << MAX_SLOT_BITS) * MAX_LOAD) * PARTS} digests in one DigestSet`);
    const next = newPart(old.bits + 1);
    const saved = Uint32Array.from(this.w);
    for (let s = 0; s < old.used.length; s++) {
      if (old.used[s] === 0) continue;
      this.w.set(old.keys.subarray(s * WORDS, s * WORDS + WORDS));
      this.put(next, this.hash());
    }
    this.w.set(saved);
    this.parts[p] = next;
    return next;
  }

  /** The hash of the digest in `this.w`: seeded multiply-add of its words, then mixed so that every bit (the part's and the slot's) depends on every word. */
  private hash(): number {
    let h = 0;
    for (let i = 0; i < WORDS; i++) h = (h + Math.imul(this.w[i] as number, this.mult[i] as number)) | 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h >>> 0;
  }
}

function newPart(bits: number): Part {
  return { keys: new Uint32Array((1 << bits) * WORDS), used: new Uint8Array(1 << bits), bits, count: 0 };
}

function notADigest(hex: string): SnapError {
  return new SnapError('INTERNAL', `not a SHA-256 digest (64 lowercase hex): ${JSON.stringify(hex.slice(0, 80))}`);
}
