/**
 * A seeded generator whose whole state is one 32-bit integer (mulberry32), so an agent, a replay buffer or an
 * environment can save it in a checkpoint and resume the exact same stream.
 *
 * @example
 * ```ts
 * const rng = new Random(42);
 * const u = rng.uniform(-1, 1), z = rng.normal();
 * const saved = rng.getState();   // later: rng.setState(saved)
 * ```
 */
export class Random {
  private s: number;
  /** Second Box-Muller value, kept so normals come in pairs; part of the state. */
  private spare: number | null = null;

  constructor(seed = 0) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    const u1 = 1 - this.next();  // (0, 1]: log is finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** The generator's state (JSON-serialisable), for checkpoints. */
  getState(): {s: number; spare: number | null} {
    return {s: this.s, spare: this.spare};
  }

  setState(state: {s: number; spare: number | null}): void {
    this.s = state.s >>> 0;
    this.spare = state.spare;
  }
}
