/** Small shared helpers. */

/** Deterministic PRNG (mulberry32) returning uniforms in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Column `i` of a row-major `[n, cols]` array as float64. */
export function column(values: ArrayLike<number>, n: number, cols: number, i: number): Float64Array {
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) out[s] = values[s * cols + i];
  return out;
}
