/**
 * Reproducible weight initialisation: tfjs initialisers without a `seed` draw their seeds from `Math.random`,
 * so building a model with `Math.random` temporarily replaced by a seeded generator gives the same initial
 * weights on every run (what checkpoint-and-resume tests and seeded examples need).
 *
 * @example
 * ```ts
 * const model = withSeededMathRandom(flags.seed, () => causalLM(config));
 * ```
 */
export function withSeededMathRandom<T>(seed: number, build: () => T): T {
  const original = Math.random;
  let a = (seed ^ 0x9e3779b9) >>> 0;
  Math.random = () => {  // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  try {
    return build();
  } finally {
    Math.random = original;
  }
}
