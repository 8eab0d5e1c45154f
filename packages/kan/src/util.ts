/** Small shared helpers. */

/** Deterministic PRNG returning uniforms in [0, 1) (core's mulberry32). */
export {rng as seededRandom} from '@tfjs-ext/core';

/** Column `i` of a row-major `[n, cols]` array as float64. */
export function column(values: ArrayLike<number>, n: number, cols: number, i: number): Float64Array {
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) out[s] = values[s * cols + i];
  return out;
}
