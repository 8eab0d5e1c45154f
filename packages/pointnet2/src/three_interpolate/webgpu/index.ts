/** WebGPU kernels of 3-NN interpolation and of its gradient in the features. */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import {scatterAddWebGPU} from '../../group_points/webgpu';
import {ThreeInterpolateProgram} from './three_interpolate_webgpu';

export const threeInterpolateWebGPU: KernelFunc = ({inputs, backend}) => {
  const features = inputs.features as tf.TensorInfo, idx = inputs.idx as tf.TensorInfo;
  const weight = inputs.weight as tf.TensorInfo;
  const outShape = [idx.shape[0], idx.shape[1], features.shape[2]];  // [B, n, C]
  return runProgram(backend, new ThreeInterpolateProgram(outShape), [features, idx, weight]);
};

export const threeInterpolateGradWebGPU = scatterAddWebGPU('interpolate');
