/**
 * The SAC page's MuJoCo cart-pole check, shared by the page and export-models.ts (in Node): deterministic episodes
 * of Gymnasium's InvertedPendulum task (@tfjs-ext/sac/mujoco on mujoco-js) under a trained actor, all stepped
 * together with one batched actor call per step. No DOM here, so Node can import it.
 */
import * as tf from '@tensorflow/tfjs';
import type {InvertedPendulum} from '@tfjs-ext/sac/mujoco';

/** The check's episodes: reset seeds neither training (its own episode seeds) nor its evaluations (1e6 + i) use. */
export const CARTPOLE_SEEDS = [3_000_000, 3_000_001, 3_000_002];
/** Gymnasium's episode length for InvertedPendulum (truncation): the longest the task asks the pole to stay up. */
export const CARTPOLE_STEPS = 1000;

/** What export-models.ts writes to public/models/sac/invertedpendulum.json. */
export interface CartPoleMeta {
  source: string;
  steps: number;
  options: {learningRate: number; netArch: number[]; batchSize: number; seed: number};
  seeds: number[];
  /** Node's result on `seeds` (wasm backend): steps the pole stayed within 0.2 rad, and the largest |angle|. */
  held: number[];
  maxAngle: number[];
}

/** Per episode: steps before |angle| first exceeded 0.2 rad (the task's termination), and the largest |angle|. */
export interface CartPoleRun {
  held: number[];
  maxAngle: number[];
}

/**
 * Runs `envs.length` episodes for up to `steps` steps (each env reset with `seeds[e]`; one stops when its pole
 * passes 0.2 rad) under the deterministic policy `tanh(mu)` of `actor` scaled by `scale` (`SAC.scaleAction`).
 * `onStep` sees each step (e.g. to draw the first episode) and may yield to the browser.
 */
export async function runCartPoles(actor: tf.LayersModel, scale: (a: ArrayLike<number>) => Float32Array,
                                   envs: InvertedPendulum[], seeds: number[], steps: number,
                                   onStep?: (step: number, force: number) => Promise<void> | void): Promise<CartPoleRun> {
  if (envs.length !== seeds.length) throw new Error(`runCartPoles: ${envs.length} envs but ${seeds.length} seeds`);
  const obs = envs.map((env, e) => env.reset(seeds[e]));
  const held = envs.map(() => 0), maxAngle = envs.map(() => 0), done = envs.map(() => false);
  for (let step = 0; step < steps && done.some((d) => !d); step++) {
    const squashed = tf.tidy(() => {
      const [mu] = actor.predict(tf.tensor2d(obs.flatMap((o) => Array.from(o)), [envs.length, 4])) as tf.Tensor[];
      return tf.tanh(mu);  // [envs, 1]
    });
    const a = await squashed.data();
    squashed.dispose();
    const forces = envs.map((_, e) => scale([a[e]])[0]);
    envs.forEach((env, e) => {
      if (done[e]) return;
      const r = env.step([forces[e]]);
      obs[e] = r.observation;
      maxAngle[e] = Math.max(maxAngle[e], Math.abs(env.state.angle));
      if (r.terminated) done[e] = true;
      else held[e]++;
    });
    await onStep?.(step, forces[0]);
  }
  return {held, maxAngle};
}
