/**
 * Gradient of `bfnDiscretisedLoss`: muEps and lnSigmaEps (the network outputs) are on the path; x, mu (the
 * flow sample) and t get zeros. One backward op computes both gradients at once (shared per-element work).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {discretisedLossGradComposite} from './composite';
import {DiscretisedAttrs, discretisedLossGradHostKernels} from './cpu';
import {discretisedLossGradWebGPU} from './webgpu';

type GradInputs = {dy: tf.Tensor; x: tf.Tensor; mu: tf.Tensor; muEps: tf.Tensor; lnSigmaEps: tf.Tensor; t: tf.Tensor};

/** [dL/d muEps, dL/d lnSigmaEps] `[batch, dim]`. */
export const discretisedLossGradOp = defineOp<GradInputs, DiscretisedAttrs>({
  kernelName: 'TfjsExtBfnDiscretisedLossGrad',
  kernels: {...discretisedLossGradHostKernels, webgpu: discretisedLossGradWebGPU},
  composite: ({dy, x, mu, muEps, lnSigmaEps, t}, attrs) =>
      discretisedLossGradComposite(dy, x, mu, muEps, lnSigmaEps, t, attrs),
});

export const discretisedLossGradFunc: GradFunc = (dy, saved, attrs) => {
  const [x, mu, muEps, lnSigmaEps, t] = saved as tf.Tensor[];
  const [dMuEps, dLnSigmaEps] = discretisedLossGradOp.run(
      {dy: dy as tf.Tensor, x, mu, muEps, lnSigmaEps, t}, attrs as unknown as DiscretisedAttrs) as tf.Tensor[];
  return {
    muEps: () => dMuEps,
    lnSigmaEps: () => dLnSigmaEps,
    x: () => tf.zerosLike(x),
    mu: () => tf.zerosLike(mu),
    t: () => tf.zerosLike(t),
  };
};
