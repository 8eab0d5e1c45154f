/** The environment contract: Gymnasium's `reset` / `step` convention, in TypeScript. */

/** A box space: `shape` (1-D for SAC) with elementwise bounds (`Infinity` where unbounded). */
export interface BoxSpace {
  shape: number[];
  low: number[];
  high: number[];
}

/** What one `step` returns (Gymnasium's tuple without `info`). */
export interface StepResult {
  observation: Float32Array;
  reward: number;
  /** A real terminal state (no bootstrapping past it). */
  terminated: boolean;
  /** Cut by a time limit (the value of the next state still counts). */
  truncated: boolean;
}

/**
 * An environment SAC can train on: continuous observation and action boxes, `reset(seed?)` starting an episode
 * (a seed reseeds the environment's generator, as in Gymnasium), `step(action)` advancing it.
 *
 * @example
 * ```ts
 * const env: Env = new Pendulum();
 * let obs = env.reset(0);
 * const {observation, reward, terminated, truncated} = env.step([0.5]);
 * ```
 */
export interface Env {
  observationSpace: BoxSpace;
  actionSpace: BoxSpace;
  reset(seed?: number): Float32Array;
  step(action: ArrayLike<number>): StepResult;
}

/** Throws unless `action` is array-like with `n` numbers. */
export function checkAction(env: string, action: ArrayLike<number>, n: number): void {
  if (action === null || typeof action !== 'object' || typeof action.length !== 'number' || action.length !== n) {
    throw new Error(`${env}.step: action must be an array of ${n} number(s), got ${
        action === null || typeof action !== 'object' ? String(action) : `length ${action.length}`}`);
  }
}
