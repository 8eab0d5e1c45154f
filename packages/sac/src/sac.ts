/**
 * Soft Actor-Critic as Stable-Baselines3 runs it (sac/sac.py): squashed Gaussian actor, two critics with Polyak
 * target copies, automatic temperature, uniform replay, one Adam per part. The networks are tfjs LayersModels;
 * the update runs over their variables in one `tf.tidy` with two `variableGrads` (critics, then actor).
 */
import * as tf from '@tensorflow/tfjs';
import {assertKnownKeys} from '@tfjs-ext/core';
import {checkSpaces, SACOptions, SAC_OPTION_KEYS, resolveOptions, ResolvedOptions} from './options';
import {Env} from './envs/env';
import {actorForward, buildActor, buildCritic, DenseVars, denseVars} from './networks';
import {LOG_STD_MAX, LOG_STD_MIN} from './policy';
import {Adam, HostMirror, onHost} from './adam';
import {Random} from './random';
import {ReplayBatch, ReplayBuffer} from './replay_buffer';
import {readAgentArtifacts, restoreAgent, saveAgent} from './serialization';
import type {RunState, SavableAgent, UpdateParts} from './agent_parts';
import {updateOnHost} from './host_update';
import {updateWithTape} from './tape_update';

export type {SACOptions} from './options';
export type {RunState} from './agent_parts';
export {softQTarget} from './soft_q_target';

let nextAgentId = 0;

/** What `learn` passes to callbacks after each environment step. */
export interface StepInfo {
  /** Environment steps taken so far (all `learn` calls). */
  step: number;
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

/** What `learn` passes to callbacks at the end of each episode. */
export interface EpisodeInfo {
  step: number;
  episode: number;
  episodeReturn: number;
  episodeLength: number;
}

/** Hooks into `learn`; `onStep` returning `false` stops training. */
export interface SACCallback {
  onStep?(info: StepInfo): boolean | void | Promise<boolean | void>;
  onEpisodeEnd?(info: EpisodeInfo): void | Promise<void>;
}

/** Losses of the latest gradient step. */
export interface SACLosses {
  criticLoss: number;
  actorLoss: number;
  /** `null` when the temperature is fixed. */
  entCoefLoss: number | null;
  entCoef: number;
}

/**
 * An SB3-equivalent SAC agent for an {@link Env} with a bounded 1-D action box.
 *
 * @example
 * ```ts
 * const agent = new SAC(new Pendulum(), {learningRate: 1e-3, seed: 0});
 * await agent.learn({totalSteps: 20000, callbacks: {onEpisodeEnd: ({episodeReturn}) => console.log(episodeReturn)}});
 * const action = agent.predict(observation, {deterministic: true});  // in the env's action space
 * await agent.save('runs/pendulum');
 * const again = await SAC.load('runs/pendulum', new Pendulum());
 * ```
 */
export class SAC implements SavableAgent {
  readonly options: ResolvedOptions;
  readonly actor: tf.LayersModel;
  readonly critic1: tf.LayersModel;
  readonly critic2: tf.LayersModel;
  readonly criticTarget1: tf.LayersModel;
  readonly criticTarget2: tf.LayersModel;
  /** log of the temperature alpha (trained when `entCoef` is 'auto'). */
  readonly logEntCoef: tf.Variable;
  readonly replayBuffer: ReplayBuffer;
  readonly actorOptimizer: Adam;
  readonly criticOptimizer: Adam;
  readonly entCoefOptimizer: Adam | null;
  /** Noise, replay sampling and warm-up actions. */
  readonly rng: Random;
  numTimesteps = 0;
  episodes = 0;
  gradientSteps = 0;
  readonly obsDim: number;
  readonly actionDim: number;
  private readonly actorLayers: DenseVars[];
  private readonly criticLayers: [DenseVars[], DenseVars[]];
  private readonly targetLayers: [DenseVars[], DenseVars[]];
  private readonly targetMirror = new HostMirror();
  private lastLosses: tf.Tensor1D | null = null;
  private observation: Float32Array | null = null;
  private episodeReturn = 0;
  private episodeLength = 0;

  constructor(readonly env: Env, options: SACOptions = {}) {
    assertKnownKeys('SAC', options, SAC_OPTION_KEYS);
    checkSpaces(env);
    this.obsDim = env.observationSpace.shape[0];
    this.actionDim = env.actionSpace.shape[0];
    const o = this.options = resolveOptions(options, this.actionDim);
    this.rng = new Random(o.seed);
    const s = o.seed * 7919;
    this.actor = buildActor(this.obsDim, this.actionDim, o.netArch, s + 1);
    this.critic1 = buildCritic(this.obsDim, this.actionDim, o.netArch, s + 3001, 'critic1');
    this.critic2 = buildCritic(this.obsDim, this.actionDim, o.netArch, s + 6001, 'critic2');
    this.criticTarget1 = buildCritic(this.obsDim, this.actionDim, o.netArch, s + 3001, 'critic_target1');
    this.criticTarget2 = buildCritic(this.obsDim, this.actionDim, o.netArch, s + 6001, 'critic_target2');
    this.criticTarget1.setWeights(this.critic1.getWeights());
    this.criticTarget2.setWeights(this.critic2.getWeights());
    for (const t of [this.criticTarget1, this.criticTarget2]) t.trainable = false;
    this.actorLayers = denseVars(this.actor);
    this.criticLayers = [denseVars(this.critic1), denseVars(this.critic2)];
    this.targetLayers = [denseVars(this.criticTarget1), denseVars(this.criticTarget2)];
    this.logEntCoef = tf.variable(tf.scalar(Math.log(o.entCoefInit)), o.entCoef === 'auto',
                                  `sac_log_ent_coef_${nextAgentId++}`);
    // torch.optim.Adam's defaults (eps 1e-8), as SB3
    this.actorOptimizer = new Adam(o.learningRate);
    this.criticOptimizer = new Adam(o.learningRate);
    this.entCoefOptimizer = o.entCoef === 'auto' ? new Adam(o.learningRate) : null;
    this.replayBuffer = new ReplayBuffer(o.bufferSize, this.obsDim, this.actionDim);
  }

  /** Maps a policy action in [-1, 1] to the env's box: `low + (a + 1)(high - low) / 2`. */
  scaleAction(action: ArrayLike<number>): Float32Array {
    const {low, high} = this.env.actionSpace;
    return Float32Array.from({length: this.actionDim}, (_, i) => low[i] + (action[i] + 1) * (high[i] - low[i]) / 2);
  }

  private checkObservation(observation: ArrayLike<number>): void {
    if (observation.length !== this.obsDim) {
      throw new Error(`SAC.predict: observation must have ${this.obsDim} values, got ${observation.length}`);
    }
  }

  /**
   * The actor's heads `[mu | logStd]` (`[1, 2A]`) for one observation, and the noise of a stochastic action (drawn
   * first, as before the forward pass; `null` when `deterministic`).
   */
  private policyHeads(observation: ArrayLike<number>, deterministic: boolean): {heads: tf.Tensor2D; eps: Float32Array | null} {
    this.checkObservation(observation);
    const eps = deterministic ? null : Float32Array.from({length: this.actionDim}, () => this.rng.normal());
    const heads = tf.tidy(() => {
      const {mu, logStd} = actorForward(tf.tensor2d(Float32Array.from(observation), [1, this.obsDim]), this.actorLayers);
      return tf.concat([mu, logStd], 1) as tf.Tensor2D;
    });
    return {heads, eps};
  }

  /**
   * The action in [-1, 1] from the heads' values, in JS (a handful of numbers; as `squashedGaussian`):
   * `tanh(mu + exp(clamp(logStd, -20, 2)) eps)`, or `tanh(mu)` without noise.
   */
  private squash(heads: ArrayLike<number>, eps: Float32Array | null): Float32Array {
    const A = this.actionDim;
    return Float32Array.from({length: A}, (_, j) => eps === null ? Math.tanh(heads[j]) :
        Math.tanh(heads[j] + Math.exp(Math.min(Math.max(heads[A + j], LOG_STD_MIN), LOG_STD_MAX)) * eps[j]));
  }

  /** The policy action in [-1, 1], read back synchronously where the backend allows it (not webgpu in Node). */
  private async policyAction(observation: ArrayLike<number>, deterministic: boolean): Promise<Float32Array> {
    const {heads, eps} = this.policyHeads(observation, deterministic);
    const v = onHost() ? heads.dataSync() : await heads.data();
    heads.dispose();
    return this.squash(v, eps);
  }

  /**
   * The action for `observation` in the env's action space: `low + (tanh(mu) + 1)(high - low)/2` when
   * `deterministic`, else a sample of the squashed Gaussian (SB3's default: stochastic). Synchronous: reads
   * the action back with `dataSync`, so it refuses the webgpu backend, whose synchronous read goes through a
   * canvas (in Node there is none; in Chromium over SwiftShader it returned zeros for the actor's heads and
   * broke the device's later reads): use
   * {@link predictAsync} there (it works on every backend).
   */
  predict(observation: ArrayLike<number>, {deterministic = false}: {deterministic?: boolean} = {}): Float32Array {
    this.checkObservation(observation);
    if (tf.getBackend() === 'webgpu') {
      throw new Error('SAC.predict reads the action synchronously, which the webgpu backend cannot do reliably; ' +
                      'use await agent.predictAsync(observation) there');
    }
    const {heads, eps} = this.policyHeads(observation, deterministic);
    const v = heads.dataSync();
    heads.dispose();
    return this.scaleAction(this.squash(v, eps));
  }

  /** {@link predict} reading the action back asynchronously (any backend). */
  async predictAsync(observation: ArrayLike<number>, {deterministic = false}: {deterministic?: boolean} = {}):
      Promise<Float32Array> {
    return this.scaleAction(await this.policyAction(observation, deterministic));
  }

  /** Current temperature alpha. */
  async entCoef(): Promise<number> {
    return Math.exp((await this.logEntCoef.data())[0]);
  }

  /** Losses of the latest gradient step (`null` before the first); reads them back once. */
  async losses(): Promise<SACLosses | null> {
    if (this.lastLosses === null) return null;
    const [criticLoss, actorLoss, entCoefLoss, entCoef] = Array.from(await this.lastLosses.data());
    return {criticLoss, actorLoss, entCoefLoss: this.entCoefOptimizer === null ? null : entCoefLoss, entCoef};
  }

  /**
   * Runs `totalSteps` environment steps (continuing the step count of earlier calls): uniform random actions
   * for the first `learningStarts` steps, then policy samples; every `trainFreq` steps past `learningStarts`,
   * `gradientSteps` updates. Episodes start with `env.reset(seed)` for a seed derived from the agent's seed and
   * the episode index, so a run resumed from a checkpoint sees the same episodes.
   */
  async learn({totalSteps, callbacks = []}: {totalSteps: number; callbacks?: SACCallback | SACCallback[]}):
      Promise<this> {
    if (!Number.isInteger(totalSteps) || totalSteps < 1) {
      throw new Error(`SAC.learn: totalSteps must be a positive integer, got ${totalSteps}`);
    }
    const cbs = Array.isArray(callbacks) ? callbacks : [callbacks];
    const o = this.options;
    const end = this.numTimesteps + totalSteps;
    while (this.numTimesteps < end) {
      if (this.observation === null) {
        this.observation = this.env.reset(episodeSeed(o.seed, this.episodes));
        this.episodeReturn = 0;
        this.episodeLength = 0;
      }
      const action = this.numTimesteps < o.learningStarts ?
          Float32Array.from({length: this.actionDim}, () => this.rng.uniform(-1, 1)) :
          await this.policyAction(this.observation, false);
      const r = this.env.step(this.scaleAction(action));
      this.replayBuffer.add(this.observation, action, r.reward, r.observation, r.terminated);
      this.numTimesteps++;
      this.episodeReturn += r.reward;
      this.episodeLength++;
      this.observation = r.observation;
      if (r.terminated || r.truncated) {
        const info = {step: this.numTimesteps, episode: this.episodes, episodeReturn: this.episodeReturn,
                      episodeLength: this.episodeLength};
        this.episodes++;
        this.observation = null;
        for (const cb of cbs) await cb.onEpisodeEnd?.(info);
      }
      if (this.numTimesteps % o.trainFreq === 0 && this.numTimesteps > o.learningStarts) {
        this.train(o.gradientSteps === -1 ? o.trainFreq : o.gradientSteps);
      }
      let stop = false;
      for (const cb of cbs) {
        if (cb.onStep !== undefined) {
          const res = await cb.onStep({step: this.numTimesteps, reward: r.reward, terminated: r.terminated,
                                       truncated: r.truncated});
          if (res === false) stop = true;
        }
      }
      if (stop) break;
    }
    return this;
  }

  /** `steps` gradient steps on batches sampled from the replay buffer. */
  train(steps = 1): void {
    for (let i = 0; i < steps; i++) {
      const b = this.replayBuffer.sample(this.options.batchSize, this.rng);
      const B = this.options.batchSize, A = this.actionDim;
      const eps = new Float32Array(B * A), epsNext = new Float32Array(B * A);
      for (let j = 0; j < B * A; j++) eps[j] = this.rng.normal();
      for (let j = 0; j < B * A; j++) epsNext[j] = this.rng.normal();
      this.update(b, eps, epsNext);
    }
  }

  /**
   * One gradient step on a given batch and noise (`eps` for the actor on `s`, `epsNext` on `s'`), as SB3's
   * `train`: temperature loss, critic loss against the target, critic step, actor loss on the updated critics,
   * actor step, temperature step, Polyak update of the target critics. Public for tests. `path`: 'auto' (the
   * hand-written step of {@link updateOnHost} on cpu, wasm and tensorflow, tfjs gradients elsewhere), or either
   * one forced ('host' needs a backend that reads back synchronously).
   */
  update(batch: ReplayBatch, eps: Float32Array, epsNext: Float32Array, path: 'auto' | 'host' | 'tape' = 'auto'): void {
    if (path !== 'auto' && path !== 'host' && path !== 'tape') {
      throw new Error(`SAC.update: path must be 'auto', 'host' or 'tape', got '${path}'`);
    }
    const host = path === 'host' || (path === 'auto' && onHost());
    const losses = (host ? updateOnHost : updateWithTape)(this.updateParts(), {batch, eps, epsNext});
    this.lastLosses?.dispose();
    this.lastLosses = losses;
    this.gradientSteps++;
  }

  private updateParts(): UpdateParts {
    const o = this.options;
    return {gamma: o.gamma, tau: o.tau, targetEntropy: o.targetEntropy, obsDim: this.obsDim, actionDim: this.actionDim,
            actorLayers: this.actorLayers, criticLayers: this.criticLayers, targetLayers: this.targetLayers,
            logEntCoef: this.logEntCoef, actorOptimizer: this.actorOptimizer, criticOptimizer: this.criticOptimizer,
            entCoefOptimizer: this.entCoefOptimizer, targetMirror: this.targetMirror};
  }

  /** Frees every tensor the agent holds. */
  dispose(): void {
    for (const m of [this.actor, this.critic1, this.critic2, this.criticTarget1, this.criticTarget2]) m.dispose();
    this.logEntCoef.dispose();
    this.actorOptimizer.dispose();
    this.criticOptimizer.dispose();
    this.entCoefOptimizer?.dispose();
    this.lastLosses?.dispose();
    this.lastLosses = null;
    this.targetMirror.clear();
  }

  /**
   * Saves actor, critics, target critics, temperature, the three Adam states, counters, the RNG state and
   * (with `includeReplayBuffer`) the replay buffer: to a folder (Node: `sac.json` + `weights.bin`, replaced
   * atomically), to a tfjs URL (`indexeddb://...`) or to any `tf.io.IOHandler`. Training resumes from it exactly,
   * starting a new episode.
   */
  async save(destination: string | tf.io.IOHandler, options: {includeReplayBuffer?: boolean} = {}): Promise<void> {
    await saveAgent(this, destination, options);
  }

  /** Restores an agent written by {@link SAC.save} for `env` (which must have the same spaces). */
  static async load(source: string | tf.io.IOHandler, env: Env): Promise<SAC> {
    const artifacts = await readAgentArtifacts(source);
    const agent = new SAC(env, artifacts.options);
    await restoreAgent(agent, artifacts);
    return agent;
  }

  /** Counters and RNG state (what a checkpoint needs besides tensors). */
  getRunState(): RunState {
    return {numTimesteps: this.numTimesteps, episodes: this.episodes, gradientSteps: this.gradientSteps,
            rng: this.rng.getState()};
  }

  /** Restores {@link getRunState}'s values; the next `learn` starts a new episode. */
  setRunState(s: RunState): void {
    this.numTimesteps = s.numTimesteps;
    this.episodes = s.episodes;
    this.gradientSteps = s.gradientSteps;
    this.rng.setState(s.rng);
    this.observation = null;
  }
}

/** The seed of episode `k`'s reset (a fixed function of the agent's seed and k, so resumed runs match). */
export function episodeSeed(seed: number, episode: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + episode) >>> 0;
}
