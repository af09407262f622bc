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

/**
 * `n` values N(0, std²) by Box–Muller over `rand` (uniform [0, 1)): each pair of uniforms gives two samples
 * (√(−2 ln u)·cos 2πv and ·sin 2πv, u = 1 − rand()), so the same generator gives the same values everywhere.
 * @example const w = normalSamples(6, 0.02, makeRng(1).next);
 */
export function normalSamples(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())) * std;
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
