/**
 * Gradient of `bfnContinuousLoss`: only epsHat (the network output) is on the path; x, mu (the flow sample)
 * and t get zeros. The backward is its own op (host kernels, webgpu; closed-form composite elsewhere).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {continuousLossGradComposite} from './composite';
import {ContinuousAttrs, continuousLossGradHostKernels} from './cpu';
import {continuousLossGradWebGPU} from './webgpu';

type GradInputs = {dy: tf.Tensor; x: tf.Tensor; mu: tf.Tensor; epsHat: tf.Tensor; t: tf.Tensor};

/** dL/d epsHat `[batch, dim]`. */
export const continuousLossGradOp = defineOp<GradInputs, ContinuousAttrs>({
  kernelName: 'TfjsExtBfnContinuousLossGrad',
  kernels: {...continuousLossGradHostKernels, webgpu: continuousLossGradWebGPU},
  composite: ({dy, x, mu, epsHat, t}, {sigma1, tMin}) =>
      continuousLossGradComposite(dy, x, mu, epsHat, t, sigma1, tMin),
});

export const continuousLossGradFunc: GradFunc = (dy, saved, attrs) => {
  const [x, mu, epsHat, t] = saved as tf.Tensor[];
  const {sigma1, tMin} = attrs as unknown as ContinuousAttrs;
  return {
    epsHat: () => continuousLossGradOp.run({dy: dy as tf.Tensor, x, mu, epsHat, t}, {sigma1, tMin}) as tf.Tensor,
    x: () => tf.zerosLike(x),
    mu: () => tf.zerosLike(mu),
    t: () => tf.zerosLike(t),
  };
};
