/** WebGPU kernels of grouping and of the scatter-add gradients (grouping and 3-NN interpolation). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';
import {runProgram} from '@tfjs-ext/core/webgpu';
import {GroupPointsProgram} from './group_points_webgpu';
import {ScatterAddProgram, ScatterMode} from './scatter_add_webgpu';

export const groupPointsWebGPU: KernelFunc = ({inputs, backend}) => {
  const features = inputs.features as tf.TensorInfo, idx = inputs.idx as tf.TensorInfo;
  const outShape = [...idx.shape, features.shape[2]];  // [B, S, K, C]
  return runProgram(backend, new GroupPointsProgram(outShape), [features, idx]);
};

/** Kernel of a scatter-add gradient; attrs `{n}` (grouping) or `{m}` (interpolation) give the target points. */
export function scatterAddWebGPU(mode: ScatterMode): KernelFunc {
  return ({inputs, backend, attrs}) => {
    const dy = inputs.dy as tf.TensorInfo, idx = inputs.idx as tf.TensorInfo;
    const targets = (attrs as {n?: number; m?: number}).n ?? (attrs as {m: number}).m;
    const c = dy.shape[dy.shape.length - 1];
    const program = new ScatterAddProgram(mode, dy.shape[0], targets, c);
    const ins = mode === 'group' ? [dy, idx] : [dy, idx, inputs.weight as tf.TensorInfo];
    return runProgram(backend, program, ins);
  };
}
