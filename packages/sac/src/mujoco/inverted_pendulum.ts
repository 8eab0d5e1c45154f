/**
 * Gymnasium's InvertedPendulum task on the official MuJoCo WebAssembly build (`mujoco-js`): observation
 * `[cart x, pole angle, cart velocity, pole angular velocity]` (qpos, qvel), action `[force]` in [-3, 3] applied
 * for 2 physics steps (frame skip 2: 0.04 s), reward 1 per step, terminated once |pole angle| > 0.2 rad (or the
 * state is not finite), truncated after 1000 steps. Reset: qpos and qvel ~ U(-0.01, 0.01) each.
 * A separate entry point (`@tfjs-ext/sac/mujoco`) so the main one does not load MuJoCo.
 */
import {BoxSpace, checkAction, Env, StepResult} from '../envs/env';
import {Random} from '../random';
import {INVERTED_PENDULUM_XML} from './inverted_pendulum_xml';

type Mujoco = any;
let loading: Promise<Mujoco> | null = null;

/** Loads the MuJoCo module once (emscripten; its file system holds the MJCF). */
export async function loadMujoco(): Promise<Mujoco> {
  if (loading === null) {
    // mujoco-js is an ES module: a real dynamic import, also from CommonJS builds
    const esmImport = new Function('s', 'return import(s)') as (s: string) => Promise<any>;
    loading = esmImport('mujoco-js').then(async (m) => {
      const mujoco = await m.default();
      mujoco.FS.mkdir('/tfjs-ext-sac');
      mujoco.FS.mount(mujoco.MEMFS, {root: '.'}, '/tfjs-ext-sac');
      return mujoco;
    });
  }
  return loading;
}

/**
 * @example
 * ```ts
 * const env = await InvertedPendulum.create();
 * const obs = env.reset(0);
 * const {reward, terminated} = env.step([0.5]);
 * ```
 */
export class InvertedPendulum implements Env {
  readonly observationSpace: BoxSpace = {shape: [4], low: [-Infinity, -Infinity, -Infinity, -Infinity],
                                         high: [Infinity, Infinity, Infinity, Infinity]};
  readonly actionSpace: BoxSpace = {shape: [1], low: [-3], high: [3]};
  readonly frameSkip = 2;
  readonly maxEpisodeSteps = 1000;
  elapsedSteps = 0;
  private rng = new Random(0);

  private constructor(private readonly mujoco: Mujoco, private readonly model: any, private readonly data: any) {}

  /** Builds the env (loads MuJoCo and the model). */
  static async create(): Promise<InvertedPendulum> {
    const mujoco = await loadMujoco();
    const file = '/tfjs-ext-sac/inverted_pendulum.xml';
    mujoco.FS.writeFile(file, INVERTED_PENDULUM_XML);
    const model = mujoco.MjModel.loadFromXML(file);
    if (!model) throw new Error('InvertedPendulum: MuJoCo could not load the MJCF');
    return new InvertedPendulum(mujoco, model, new mujoco.MjData(model));
  }

  /** A synchronous factory of fresh envs sharing the loaded MuJoCo module (for training + evaluation). */
  static async factory(): Promise<() => InvertedPendulum> {
    const first = await InvertedPendulum.create();
    const {mujoco, model} = first;
    return () => new InvertedPendulum(mujoco, model, new mujoco.MjData(model));
  }

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Random(seed);
    this.mujoco.mj_resetData(this.model, this.data);
    const qpos = this.data.qpos as Float64Array, qvel = this.data.qvel as Float64Array;
    for (let i = 0; i < qpos.length; i++) qpos[i] += this.rng.uniform(-0.01, 0.01);
    for (let i = 0; i < qvel.length; i++) qvel[i] += this.rng.uniform(-0.01, 0.01);
    this.mujoco.mj_forward(this.model, this.data);
    this.elapsedSteps = 0;
    return this.observation();
  }

  step(action: ArrayLike<number>): StepResult {
    checkAction('InvertedPendulum', action, 1);
    const ctrl = this.data.ctrl as Float64Array;
    ctrl[0] = action[0];  // MuJoCo clamps to ctrlrange (ctrllimited)
    for (let i = 0; i < this.frameSkip; i++) this.mujoco.mj_step(this.model, this.data);
    const observation = this.observation();
    const terminated = !(observation.every(Number.isFinite) && Math.abs(observation[1]) <= 0.2);
    this.elapsedSteps++;
    return {observation, reward: terminated ? 0 : 1, terminated, truncated: this.elapsedSteps >= this.maxEpisodeSteps};
  }

  /** The pole angle (rad) and cart position, float64. */
  get state(): {x: number; angle: number} {
    return {x: this.data.qpos[0], angle: this.data.qpos[1]};
  }

  private observation(): Float32Array {
    const qpos = this.data.qpos as Float64Array, qvel = this.data.qvel as Float64Array;
    return Float32Array.of(qpos[0], qpos[1], qvel[0], qvel[1]);
  }

  /** Frees this env's MuJoCo data. */
  dispose(): void {
    this.data.delete();
  }
}
