/**
 * Gymnasium's Pendulum-v1 (gymnasium/envs/classic_control/pendulum.py) with its 200-step TimeLimit: state in
 * float64 like the original, observations float32, the action's terms in float32 as NumPy 2 computes them.
 */
import {Random} from '../random';
import {BoxSpace, checkAction, Env, StepResult} from './env';

const f32 = Math.fround;

/** `((x + pi) mod 2pi) - pi` with Python/NumPy's floored modulo (the result takes the divisor's sign). */
export function angleNormalize(x: number): number {
  let m = (x + Math.PI) % (2 * Math.PI);
  if (m !== 0 && m < 0) m += 2 * Math.PI;
  return m - Math.PI;
}

/**
 * Swing-up of a torque-limited pendulum. Observation `[cos th, sin th, thdot]`, action `[torque]` in [-2, 2],
 * reward `-(angleNormalize(th)^2 + 0.1 thdot^2 + 0.001 u^2)` on the state before the step; never terminates,
 * truncated after 200 steps. Reset: `th ~ U(-pi, pi)`, `thdot ~ U(-1, 1)`.
 *
 * @example
 * ```ts
 * const env = new Pendulum();
 * const obs = env.reset(42);                 // Float32Array [cos, sin, thdot]
 * const {reward, truncated} = env.step([1]);
 * ```
 */
export class Pendulum implements Env {
  readonly maxSpeed = 8;
  readonly maxTorque = 2;
  readonly dt = 0.05;
  readonly m = 1;
  readonly l = 1;
  readonly maxEpisodeSteps = 200;
  readonly observationSpace: BoxSpace = {shape: [3], low: [-1, -1, -8], high: [1, 1, 8]};
  readonly actionSpace: BoxSpace = {shape: [1], low: [-2], high: [2]};
  /** Angle (0 = upright) and angular velocity, float64. */
  th = 0;
  thdot = 0;
  elapsedSteps = 0;
  private rng = new Random(0);

  /** @param g gravity (Gymnasium's default 10) */
  constructor(readonly g = 10) {}

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Random(seed);
    this.th = this.rng.uniform(-Math.PI, Math.PI);
    this.thdot = this.rng.uniform(-1, 1);
    this.elapsedSteps = 0;
    return this.observation();
  }

  /** Sets the state directly (tests, oracles); the step counter restarts. */
  setState(th: number, thdot: number): Float32Array {
    this.th = th;
    this.thdot = thdot;
    this.elapsedSteps = 0;
    return this.observation();
  }

  step(action: ArrayLike<number>): StepResult {
    checkAction('Pendulum', action, 1);
    const {g, m, l, dt} = this;
    // The action is float32 (Gymnasium's action space); NumPy 2 keeps the u-terms in float32 (NEP 50).
    const u = f32(Math.min(Math.max(f32(action[0]), -this.maxTorque), this.maxTorque));
    const cost = angleNormalize(this.th) ** 2 + 0.1 * this.thdot ** 2 + f32(f32(0.001) * f32(u * u));  // pre-step
    let thdot = this.thdot + (3 * g / (2 * l) * Math.sin(this.th) + f32(3 / (m * l ** 2) * u)) * dt;
    thdot = Math.min(Math.max(thdot, -this.maxSpeed), this.maxSpeed);
    this.th = this.th + thdot * dt;
    this.thdot = thdot;
    this.elapsedSteps++;
    return {observation: this.observation(), reward: -cost, terminated: false,
            truncated: this.elapsedSteps >= this.maxEpisodeSteps};
  }

  /** Generator state, for checkpoints. */
  getRandomState() {
    return this.rng.getState();
  }

  setRandomState(state: ReturnType<Random['getState']>): void {
    this.rng.setState(state);
  }

  private observation(): Float32Array {
    return Float32Array.of(Math.cos(this.th), Math.sin(this.th), this.thdot);
  }
}
