/** WebGPU kernels of `bfnDiscretisedLoss` (forward; backward as one program per gradient). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {ProgramUniform, runProgram} from '@tfjs-ext/core/webgpu';
import type {DiscretisedAttrs} from '../cpu';
import {DiscretisedLossGradProgram, DiscretisedLossProgram} from './discretised_loss_program';

function uniforms(a: DiscretisedAttrs): ProgramUniform[] {
  return [{type: 'float32', data: [Math.log(a.sigma1)]}, {type: 'float32', data: [a.tMin]},
          {type: 'float32', data: [a.minStd]}, {type: 'float32', data: [a.maxStd]},
          {type: 'int32', data: [a.numBins]}];
}

export const discretisedLossWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {x, mu, muEps, lnSigmaEps, t} = inputs as Record<string, tf.TensorInfo>;
  return runProgram(backend, new DiscretisedLossProgram(x.shape[0]), [x, mu, muEps, lnSigmaEps, t],
                    {uniforms: uniforms(attrs as unknown as DiscretisedAttrs)});
};

export const discretisedLossGradWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {dy, x, mu, muEps, lnSigmaEps, t} = inputs as Record<string, tf.TensorInfo>;
  const args = [dy, x, mu, muEps, lnSigmaEps, t];
  const u = uniforms(attrs as unknown as DiscretisedAttrs);
  // One output per program: the two gradients run as two programs (fresh objects per call).
  return [runProgram(backend, new DiscretisedLossGradProgram(x.shape, false), args, {uniforms: u}),
          runProgram(backend, new DiscretisedLossGradProgram(x.shape, true), args, {uniforms: u})];
};
