/**
 * Gymnasium's MountainCarContinuous-v0 (gymnasium/envs/classic_control/continuous_mountain_car.py) with its
 * 999-step TimeLimit, bit for bit under NumPy 2's promotion rules: the original keeps its state as float32
 * after each step (float64 right after reset) and mixes float32 scalars with Python floats, which NumPy 2
 * rounds to float32 (NEP 50). Each value here carries that kind so every operation rounds where NumPy does.
 */
import {Random} from '../random';
import {BoxSpace, checkAction, Env, StepResult} from './env';

/** A NumPy scalar's kind: float32, float64, or a Python float (weak: takes the other operand's type). */
type Kind = 'f32' | 'f64' | 'py';
interface Num {v: number; k: Kind}

const f32 = Math.fround;

/** `a + sign * b` with NumPy 2 promotion (float64 wins; float32 with a Python float stays float32). */
function add(a: Num, b: Num, sign = 1): Num {
  if (a.k === 'f64' || b.k === 'f64') return {v: a.v + sign * b.v, k: 'f64'};
  if (a.k === 'f32' || b.k === 'f32') return {v: f32(f32(a.v) + sign * f32(b.v)), k: 'f32'};
  return {v: a.v + sign * b.v, k: 'py'};
}

/** `a * c` for a Python float constant `c`. */
function scale(a: Num, c: number): Num {
  return a.k === 'f32' ? {v: f32(a.v * f32(c)), k: 'f32'} : {v: a.v * c, k: a.k};
}

/** The Python float `c` as the comparison with `a` sees it. */
const against = (a: Num, c: number) => a.k === 'f32' ? f32(c) : c;

/**
 * A car in a valley must build momentum to reach the flag at x = 0.45. Observation `[position, velocity]`,
 * action `[force]` in [-1, 1] (taken as float32, as Gymnasium's float32 action space does); reward
 * `100 * reached - 0.1 force^2`; terminated at the goal, truncated after 999 steps. Reset: position
 * `~ U(-0.6, -0.4)`, velocity 0.
 *
 * @example
 * ```ts
 * const env = new MountainCarContinuous();
 * env.reset(0);
 * const {observation, reward, terminated} = env.step([1]);
 * ```
 */
export class MountainCarContinuous implements Env {
  readonly minAction = -1;
  readonly maxAction = 1;
  readonly minPosition = -1.2;
  readonly maxPosition = 0.6;
  readonly maxSpeed = 0.07;
  readonly goalPosition = 0.45;
  readonly power = 0.0015;
  readonly maxEpisodeSteps = 999;
  readonly observationSpace: BoxSpace = {shape: [2], low: [f32(-1.2), f32(-0.07)], high: [f32(0.6), f32(0.07)]};
  readonly actionSpace: BoxSpace = {shape: [1], low: [-1], high: [1]};
  elapsedSteps = 0;
  private position: Num = {v: -0.5, k: 'f64'};
  private velocity: Num = {v: 0, k: 'f64'};
  private rng = new Random(0);

  /** @param goalVelocity Gymnasium's `goal_velocity` (default 0) */
  constructor(readonly goalVelocity = 0) {}

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Random(seed);
    return this.setState(this.rng.uniform(-0.6, -0.4), 0);
  }

  /** Sets the state (float64, as after Gymnasium's reset); the step counter restarts. */
  setState(position: number, velocity: number): Float32Array {
    this.position = {v: position, k: 'f64'};
    this.velocity = {v: velocity, k: 'f64'};
    this.elapsedSteps = 0;
    return this.observation();
  }

  /** Position and velocity as stored (float64 after reset, float32 values after a step). */
  get state(): [number, number] {
    return [this.position.v, this.velocity.v];
  }

  step(action: ArrayLike<number>): StepResult {
    checkAction('MountainCarContinuous', action, 1);
    const a: Num = {v: f32(action[0]), k: 'f32'};
    // force = min(max(action[0], min_action), max_action): a clipped force is the Python float bound
    const force: Num = a.v < this.minAction ? {v: this.minAction, k: 'py'} :
        a.v > this.maxAction ? {v: this.maxAction, k: 'py'} : a;
    const cosArg = scale(this.position, 3);
    const gravity: Num = {v: 0.0025 * Math.cos(cosArg.v), k: 'py'};
    let velocity = add(this.velocity, add(scale(force, this.power), gravity, -1));
    if (velocity.v > against(velocity, this.maxSpeed)) velocity = {v: this.maxSpeed, k: 'py'};
    if (velocity.v < against(velocity, -this.maxSpeed)) velocity = {v: -this.maxSpeed, k: 'py'};
    let position = add(this.position, velocity);
    if (position.v > against(position, this.maxPosition)) position = {v: this.maxPosition, k: 'py'};
    if (position.v < against(position, this.minPosition)) position = {v: this.minPosition, k: 'py'};
    if (position.v === against(position, this.minPosition) && velocity.v < 0) velocity = {v: 0, k: 'py'};
    const terminated = position.v >= against(position, this.goalPosition) &&
        velocity.v >= against(velocity, this.goalVelocity);
    const reward = (terminated ? 100 : 0) - a.v * a.v * 0.1;
    this.position = {v: f32(position.v), k: 'f32'};
    this.velocity = {v: f32(velocity.v), k: 'f32'};
    this.elapsedSteps++;
    return {observation: this.observation(), reward, terminated,
            truncated: this.elapsedSteps >= this.maxEpisodeSteps};
  }

  getRandomState() {
    return this.rng.getState();
  }

  setRandomState(state: ReturnType<Random['getState']>): void {
    this.rng.setState(state);
  }

  private observation(): Float32Array {
    return Float32Array.of(this.position.v, this.velocity.v);
  }
}
