/** Gradient of `bfnDiscreteLoss`: only the logits are on the path (x is int32 and gets none; t gets zeros). */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {discreteLossGradComposite} from './composite';
import {DiscreteAttrs, discreteLossGradHostKernels} from './cpu';
import {discreteLossGradWebGPU} from './webgpu';

type GradInputs = {dy: tf.Tensor; x: tf.Tensor; logits: tf.Tensor; t: tf.Tensor};

export const discreteLossGradOp = defineOp<GradInputs, DiscreteAttrs>({
  kernelName: 'TfjsExtBfnDiscreteLossGrad',
  kernels: {...discreteLossGradHostKernels, webgpu: discreteLossGradWebGPU},
  composite: ({dy, x, logits, t}, {beta1}) => discreteLossGradComposite(dy, x, logits, t, beta1),
});

export const discreteLossGradFunc: GradFunc = (dy, saved, attrs) => {
  const [x, logits, t] = saved as tf.Tensor[];
  const {beta1} = attrs as unknown as DiscreteAttrs;
  return {
    logits: () => discreteLossGradOp.run({dy: dy as tf.Tensor, x, logits, t}, {beta1}) as tf.Tensor,
    t: () => tf.zerosLike(t),
  };
};
