/** WebGPU kernel of farthest point sampling. */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import type {FpsAttrs} from '../cpu';
import {FarthestPointSampleProgram} from './fps_webgpu';

export const fpsWebGPU: KernelFunc = ({inputs, backend, attrs}) => {
  const xyz = inputs.xyz as tf.TensorInfo;
  const {npoint} = attrs as unknown as FpsAttrs;
  const [batch, n] = xyz.shape;
  // A fresh program per call: runWebGPUProgram rewrites its shaderKey.
  return runProgram(backend, new FarthestPointSampleProgram(batch, n, npoint), [xyz], {dtype: 'int32'});
};
