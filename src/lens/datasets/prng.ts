/** A small seeded PRNG (mulberry32) so datasets, sampling and baselines are reproducible across runs and machines. */

/** A generator of uniform floats in [0, 1) from a 32-bit seed. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
}

/**
 * mulberry32: fast, 32-bit state, good enough for sampling tokens and names (not for cryptography).
 * @example
 * const rng = makeRng(0);
 * rng.int(0, 10); // same value on every run
 */
export function makeRng(seed: number): Rng {
  let a = Math.floor(seed) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo)) };
}
