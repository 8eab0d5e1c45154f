/** The example's environments and their settings (RL Zoo's where it has them). */
import {Env, MountainCarContinuous, Pendulum, SACOptions} from '@tfjs-ext/sac';

export interface Task {
  make: () => Env;
  options: SACOptions;
  defaultSteps: number;
}

export async function task(name: string): Promise<Task> {
  switch (name) {
    case 'pendulum':
      // RL Zoo hyperparams/sac.yml Pendulum-v1: SB3 defaults with learning_rate 1e-3, 20k steps
      return {make: () => new Pendulum(), options: {learningRate: 1e-3}, defaultSteps: 20000};
    case 'mountaincar':
      // RL Zoo MountainCarContinuous-v0 without gSDE (not implemented here): lr 3e-4, buffer 50k, batch 512,
      // ent_coef 0.1, train_freq 32, gradient_steps 32, gamma 0.9999, tau 0.01, learning_starts 0, net [64, 64]
      return {make: () => new MountainCarContinuous(), defaultSteps: 50000,
              options: {learningRate: 3e-4, bufferSize: 50000, batchSize: 512, entCoef: 0.1, trainFreq: 32,
                        gradientSteps: 32, gamma: 0.9999, tau: 0.01, learningStarts: 0, netArch: [64, 64]}};
    case 'invertedpendulum': {
      // MuJoCo (mujoco-js); SB3 defaults, learning starts after 1000 random steps
      const {InvertedPendulum} = await import('@tfjs-ext/sac/mujoco');
      const make = await InvertedPendulum.factory();
      return {make, options: {learningStarts: 1000}, defaultSteps: 30000};
    }
    default:
      throw new Error(`unknown --env=${name} (pendulum, mountaincar, invertedpendulum)`);
  }
}
