/** @tfjs-ext/sac: Soft Actor-Critic for TensorFlow.js (SB3-equivalent), replay buffer, environments. */
export type {BoxSpace, Env, StepResult} from './envs/env';
export {angleNormalize, Pendulum} from './envs/pendulum';
export {MountainCarContinuous} from './envs/mountain_car';
export {Random} from './random';
export {SAC, episodeSeed, softQTarget} from './sac';
export type {EpisodeInfo, RunState, SACCallback, SACLosses, StepInfo} from './sac';
export type {SACOptions} from './options';
export {squashedGaussian, LOG_STD_MAX, LOG_STD_MIN, TANH_EPSILON} from './policy';
export {buildActor, buildCritic} from './networks';
export {ReplayBuffer} from './replay_buffer';
export type {ReplayBatch} from './replay_buffer';
