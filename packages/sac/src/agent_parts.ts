/**
 * The parts of a SAC agent that its update and its checkpoints work on, as interfaces: the update and the
 * serialization modules depend on these, not on the agent class (which depends on them).
 */
import * as tf from '@tensorflow/tfjs';
import type {Adam, HostMirror} from './adam';
import type {DenseVars} from './networks';
import type {ResolvedOptions} from './options';
import type {ReplayBuffer, ReplayBatch} from './replay_buffer';

/** Counters and RNG state (what a checkpoint needs besides tensors). */
export interface RunState {
  numTimesteps: number;
  episodes: number;
  gradientSteps: number;
  rng: {s: number; spare: number | null};
}

/** What a checkpoint saves and restores (the SAC class has these). */
export interface SavableAgent {
  readonly options: ResolvedOptions;
  readonly actor: tf.LayersModel;
  readonly critic1: tf.LayersModel;
  readonly critic2: tf.LayersModel;
  readonly criticTarget1: tf.LayersModel;
  readonly criticTarget2: tf.LayersModel;
  readonly logEntCoef: tf.Variable;
  readonly actorOptimizer: Adam;
  readonly criticOptimizer: Adam;
  readonly entCoefOptimizer: Adam | null;
  readonly replayBuffer: ReplayBuffer;
  getRunState(): RunState;
  setRunState(s: RunState): void;
}

/** What one gradient step works on: the agent's variables, optimisers and settings. */
export interface UpdateParts {
  gamma: number;
  tau: number;
  targetEntropy: number;
  obsDim: number;
  actionDim: number;
  /** Actor trunk layers, then the `mu` and `logStd` heads. */
  actorLayers: DenseVars[];
  criticLayers: [DenseVars[], DenseVars[]];
  targetLayers: [DenseVars[], DenseVars[]];
  logEntCoef: tf.Variable;
  actorOptimizer: Adam;
  criticOptimizer: Adam;
  entCoefOptimizer: Adam | null;
  /** Host copies of the target critics' values (the Polyak update runs on them where the backend is on host). */
  targetMirror: HostMirror;
}

/** A batch and its noise: `eps` for the actor on `s`, `epsNext` on `s'` (each `[B, A]` row-major). */
export interface UpdateInputs {
  batch: ReplayBatch;
  eps: Float32Array;
  epsNext: Float32Array;
}
