/** @tfjs-ext/sac: Soft Actor-Critic for TensorFlow.js (SB3-equivalent), replay buffer, environments. */
export type {BoxSpace, Env, StepResult} from './envs/env';
export {angleNormalize, Pendulum} from './envs/pendulum';
export {MountainCarContinuous} from './envs/mountain_car';
export {Random} from './random';
