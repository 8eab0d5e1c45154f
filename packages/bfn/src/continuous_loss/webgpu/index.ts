/** WebGPU kernels of `bfnContinuousLoss` (forward and dL/d epsHat). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {ContinuousAttrs} from '../cpu';
import {ContinuousLossGradProgram, ContinuousLossProgram} from './continuous_loss_program';

function uniforms({sigma1, tMin}: ContinuousAttrs) {
  return [{type: 'float32' as const, data: [Math.log(sigma1)]}, {type: 'float32' as const, data: [tMin]}];
}

export const continuousLossWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {x, mu, epsHat, t} = inputs as Record<string, tf.TensorInfo>;
  // A fresh program per call: runWebGPUProgram rewrites its shaderKey.
  return runProgram(backend, new ContinuousLossProgram(x.shape[0]), [x, mu, epsHat, t],
                    {uniforms: uniforms(attrs as unknown as ContinuousAttrs)});
};

export const continuousLossGradWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {dy, x, mu, epsHat, t} = inputs as Record<string, tf.TensorInfo>;
  return runProgram(backend, new ContinuousLossGradProgram(x.shape), [dy, x, mu, epsHat, t],
                    {uniforms: uniforms(attrs as unknown as ContinuousAttrs)});
};
