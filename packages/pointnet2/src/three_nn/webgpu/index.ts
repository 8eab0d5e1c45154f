/** WebGPU kernel of the 3 nearest neighbours (two programs, one per output). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import {ThreeNNProgram} from './three_nn_webgpu';

export const threeNNWebGPU: KernelFunc = ({inputs, backend}) => {
  const unknown = inputs.unknown as tf.TensorInfo, known = inputs.known as tf.TensorInfo;
  const [batch, n] = unknown.shape;
  const dist2 = runProgram(backend, new ThreeNNProgram(batch, n, false), [unknown, known]);
  const idx = runProgram(backend, new ThreeNNProgram(batch, n, true), [unknown, known], {dtype: 'int32'});
  return [dist2, idx];
};
