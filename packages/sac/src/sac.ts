/**
 * Soft Actor-Critic as Stable-Baselines3 runs it (sac/sac.py): squashed Gaussian actor, two critics with Polyak
 * target copies, automatic temperature, uniform replay, one Adam per part. The networks are tfjs LayersModels;
 * the update runs over their variables in one `tf.tidy` with two `variableGrads` (critics, then actor).
 */
import * as tf from '@tensorflow/tfjs';
import {assertKnownKeys} from '@tfjs-ext/core';
import {checkSpaces, SACOptions, SAC_OPTION_KEYS, resolveOptions, ResolvedOptions} from './options';
import {Env} from './envs/env';
import {actorForward, buildActor, buildCritic, DenseVars, denseVars, flatVars, mlp, Tape} from './networks';
import {squashedGaussian} from './policy';
import {Adam, onHost} from './adam';
import {Random} from './random';
import {ReplayBuffer} from './replay_buffer';
import {readAgentArtifacts, restoreAgent, saveAgent} from './serialization';

export type {SACOptions} from './options';

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
export class SAC {
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

  /** The policy's action tensor `[1, A]` in [-1, 1] for one observation (stochastic unless `deterministic`). */
  private policyTensor(observation: ArrayLike<number>, deterministic: boolean): tf.Tensor2D {
    if (observation.length !== this.obsDim) {
      throw new Error(`SAC.predict: observation must have ${this.obsDim} values, got ${observation.length}`);
    }
    const eps = deterministic ? null : Float32Array.from({length: this.actionDim}, () => this.rng.normal());
    return tf.tidy(() => {
      const obs = tf.tensor2d(Float32Array.from(observation), [1, this.obsDim]);
      const {mu, logStd} = actorForward(obs, this.actorLayers);
      return eps === null ? tf.tanh(mu) as tf.Tensor2D :
          squashedGaussian(mu, logStd, tf.tensor2d(eps, [1, this.actionDim])).action;
    });
  }

  /** The policy action in [-1, 1], read back synchronously where the backend allows it (not webgpu in Node). */
  private async policyAction(observation: ArrayLike<number>, deterministic: boolean): Promise<Float32Array> {
    const out = this.policyTensor(observation, deterministic);
    const a = (onHost() ? out.dataSync() : await out.data()) as Float32Array;
    out.dispose();
    return a;
  }

  /**
   * The action for `observation` in the env's action space: `low + (tanh(mu) + 1)(high - low)/2` when
   * `deterministic`, else a sample of the squashed Gaussian (SB3's default: stochastic). Synchronous: reads
   * the action back with `dataSync` (every backend but webgpu in Node, where {@link predictAsync} works).
   */
  predict(observation: ArrayLike<number>, {deterministic = false}: {deterministic?: boolean} = {}): Float32Array {
    const out = this.policyTensor(observation, deterministic);
    const a = out.dataSync() as Float32Array;
    out.dispose();
    return this.scaleAction(a);
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
   * actor step, temperature step, Polyak update of the target critics. Public for tests.
   */
  update(batch: {observations: Float32Array; actions: Float32Array; rewards: Float32Array;
                 nextObservations: Float32Array; terminated: Float32Array},
         eps: Float32Array, epsNext: Float32Array): void {
    const B = batch.rewards.length, O = this.obsDim, A = this.actionDim, o = this.options;
    const [c1, c2] = this.criticLayers, [t1, t2] = this.targetLayers;
    const tape: Tape = [];  // forward tensors kept for a backward pass, freed right after it
    let losses: tf.Tensor1D;
    try {
    losses = tf.tidy(() => {
      const obs = tf.tensor2d(batch.observations, [B, O]);
      const nextObs = tf.tensor2d(batch.nextObservations, [B, O]);
      const actions = tf.tensor2d(batch.actions, [B, A]);
      const rewards = tf.tensor2d(batch.rewards, [B, 1]);
      const notDone = tf.tensor2d(batch.terminated.map((d) => 1 - d), [B, 1]);
      const alpha = tf.exp(this.logEntCoef);  // the value before this step's temperature update, as SB3
      // target y = r + gamma (1 - terminated) (min_i Qtarg_i(s', a') - alpha logp'), no gradient
      const next = actorForward(nextObs, this.actorLayers);
      const {action: aNext, logProb: logpNext} = squashedGaussian(next.mu, next.logStd, tf.tensor2d(epsNext, [B, A]));
      const saNext = tf.concat([nextObs, aNext], 1);                                      // [B, O + A]
      const y = softQTarget(rewards, notDone, tf.minimum(mlp(saNext, t1), mlp(saNext, t2)), logpNext, alpha, o.gamma);
      const sa = tf.concat([obs, actions], 1);
      const criticVars = [...flatVars(c1), ...flatVars(c2)];
      const critic = tf.variableGrads(() => tf.mul(0.5, tf.add(tf.mean(tf.squaredDifference(mlp(sa, c1, tape), y)),
                                                                 tf.mean(tf.squaredDifference(mlp(sa, c2, tape), y)))) as tf.Scalar,
                                      criticVars);
      const newCritic = this.criticOptimizer.apply(criticVars, criticVars.map((v) => critic.grads[v.name]));
      tf.dispose(tape.splice(0));
      const epsT = tf.tensor2d(eps, [B, A]);
      let meanLogp: tf.Scalar | null = null;
      const actor = tf.variableGrads(() => {
        const {mu, logStd} = actorForward(obs, this.actorLayers, tape);
        const {action, logProb} = squashedGaussian(mu, logStd, epsT);
        meanLogp = tf.keep(tf.mean(logProb));
        const saPi = tf.concat([obs, action], 1);
        const qPi = tf.minimum(mlp(saPi, c1, tape, true), mlp(saPi, c2, tape, true));                  // [B, 1], updated critics
        return tf.mean(tf.sub(tf.mul(alpha, logProb), qPi)) as tf.Scalar;
      }, flatVars(this.actorLayers));
      this.actorOptimizer.apply(flatVars(this.actorLayers), flatVars(this.actorLayers).map((v) => actor.grads[v.name]));
      tf.dispose(tape.splice(0));
      const logp = meanLogp as unknown as tf.Scalar;
      // L_alpha = -mean(logAlpha (logp + targetEntropy)): gradient -mean(logp) - targetEntropy
      const entTerm = tf.add(logp, o.targetEntropy);
      const entLoss = tf.neg(tf.mul(this.logEntCoef, entTerm));
      if (this.entCoefOptimizer !== null) {
        this.entCoefOptimizer.apply([this.logEntCoef], [tf.neg(entTerm)]);
      }
      logp.dispose();
      // Polyak: target <- (1 - tau) target + tau critic (host: over the stepped critic values Adam returned)
      const targetVars = [...flatVars(t1), ...flatVars(t2)];
      targetVars.forEach((t, i) => {
        if (newCritic !== null) {
          const tv = t.dataSync() as Float32Array, cv = newCritic[i], out = new Float32Array(tv.length);
          for (let k = 0; k < tv.length; k++) out[k] = (1 - o.tau) * tv[k] + o.tau * cv[k];
          t.assign(tf.tensor(out, t.shape));
        } else {
          t.assign(tf.add(tf.mul(1 - o.tau, t), tf.mul(o.tau, criticVars[i])));
        }
      });
      return tf.stack([critic.value, actor.value, entLoss, alpha]) as tf.Tensor1D;
    });
    } finally {
      tf.dispose(tape);
    }
    this.lastLosses?.dispose();
    this.lastLosses = losses;
    this.gradientSteps++;
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

export interface RunState {
  numTimesteps: number;
  episodes: number;
  gradientSteps: number;
  rng: {s: number; spare: number | null};
}

/**
 * The critics' regression target `y = r + gamma (1 - terminated) (minQTarget(s', a') - alpha logp')`, every
 * operand `[B, 1]` (checked: a `[B]` reward against `[B, 1]` values would broadcast to `[B, B]`).
 *
 * @example
 * ```ts
 * const y = softQTarget(rewards, notDone, tf.minimum(q1Next, q2Next), logpNext, alpha, 0.99);  // [B, 1]
 * ```
 */
export function softQTarget(rewards: tf.Tensor, notDone: tf.Tensor, minQNext: tf.Tensor, logpNext: tf.Tensor,
                            alpha: tf.Tensor | number, gamma: number): tf.Tensor2D {
  const B = minQNext.shape[0];
  for (const [name, t] of [['rewards', rewards], ['notDone', notDone], ['minQNext', minQNext], ['logpNext', logpNext]] as const) {
    if (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== 1) {
      throw new Error(`softQTarget: ${name} must have shape [${B}, 1], got [${t.shape}]`);
    }
  }
  return tf.tidy(() => tf.add(rewards, tf.mul(tf.mul(gamma, notDone), tf.sub(minQNext, tf.mul(alpha, logpNext))))) as tf.Tensor2D;
}

/** The seed of episode `k`'s reset (a fixed function of the agent's seed and k, so resumed runs match). */
export function episodeSeed(seed: number, episode: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + episode) >>> 0;
}
