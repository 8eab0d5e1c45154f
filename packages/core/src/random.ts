/** Seeded random numbers: the same seed gives the same data on every backend and machine. */

/** Deterministic PRNG (mulberry32) returning uniforms in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform float32 values in [lo, hi) (benchmark inputs, initialisers). */
export function randomFloat32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/**
 * Picks the next token of each batch row from `logits [batch * vocab]` (row-major): the argmax when
 * `temperature <= 0` (ties to the lower id), else a draw from `softmax(logits / temperature)` using `random`.
 * The generation loops of the LM packages share it, so their sampled text agrees for the same logits and seed.
 *
 * @example
 * ```ts
 * const [next] = pickTokens(await logits.data() as Float32Array, 1, vocab, 0.8, rng(1));
 * ```
 */
export function pickTokens(logits: Float32Array, batch: number, vocab: number, temperature: number,
                           random: () => number): number[] {
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const row = logits.subarray(b * vocab, (b + 1) * vocab);
    let best = 0;
    for (let t = 1; t < vocab; t++) if (row[t] > row[best]) best = t;
    if (temperature <= 0) {
      out.push(best);
      continue;
    }
    const weights = Array.from(row, (l) => Math.exp((l - row[best]) / temperature));
    let r = random() * weights.reduce((a, w) => a + w, 0);
    let t = 0;
    while (t < vocab - 1 && (r -= weights[t]) > 0) t++;
    out.push(t);
  }
  return out;
}
