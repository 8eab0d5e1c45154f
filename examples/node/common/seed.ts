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
  installSeededMathRandom(seed);
  try {
    return build();
  } finally {
    Math.random = original;
  }
}

/** A mulberry32 generator whose state can be saved and restored. */
export class SeededRandom {
  constructor(public state: number) {}
  next = (): number => {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Replaces `Math.random` for the rest of the process with a seeded generator (shuffles, augmentation and tfjs's
 * unseeded initialisers all draw from it) and returns it, so a checkpoint can save `state` and a resumed run put
 * it back: the resumed run then draws exactly what the uninterrupted one would have.
 */
export function installSeededMathRandom(seed: number): SeededRandom {
  const random = new SeededRandom((seed ^ 0x9e3779b9) >>> 0);
  Math.random = random.next;
  return random;
}
