/** WebGPU kernels of `bfnDiscreteLoss` (forward and dL/d logits). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {DiscreteAttrs} from '../cpu';
import {DiscreteLossGradProgram, DiscreteLossProgram} from './discrete_loss_program';

const uniforms = (a: DiscreteAttrs) => [{type: 'float32' as const, data: [a.beta1]}];

export const discreteLossWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {x, logits, t} = inputs as Record<string, tf.TensorInfo>;
  return runProgram(backend, new DiscreteLossProgram(x.shape[0]), [x, logits, t],
                    {uniforms: uniforms(attrs as unknown as DiscreteAttrs)});
};

export const discreteLossGradWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const {dy, x, logits, t} = inputs as Record<string, tf.TensorInfo>;
  return runProgram(backend, new DiscreteLossGradProgram(logits.shape), [dy, x, logits, t],
                    {uniforms: uniforms(attrs as unknown as DiscreteAttrs)});
};
