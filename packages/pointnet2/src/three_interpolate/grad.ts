/**
 * Gradients of 3-NN interpolation: in the features a scatter-add of `weight * dy` (its own op: host kernels,
 * a gather-style WGSL program, a segment sum elsewhere); in the weights `sum_c dy[b,i,c] * features[b, idx, c]`
 * through {@link groupPoints}. The indices get none (int32).
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, GradFunc} from '@tfjs-ext/core';
import {groupPoints} from '../group_points/op';
import {threeInterpolateGradComposite} from './composite';
import {InterpolateGradAttrs, threeInterpolateGradHostKernels} from './cpu';
import {threeInterpolateGradWebGPU} from './webgpu';

type GradInputs = {dy: tf.Tensor3D; idx: tf.Tensor3D; weight: tf.Tensor3D};

export const threeInterpolateGradOp = defineOp<GradInputs, InterpolateGradAttrs>({
  kernelName: 'TfjsExtThreeInterpolateGrad',
  kernels: {...threeInterpolateGradHostKernels, webgpu: threeInterpolateGradWebGPU},
  composite: ({dy, idx, weight}, {m}) => threeInterpolateGradComposite(dy, idx, weight, m),
});

export const threeInterpolateGradFunc: GradFunc = (dy, saved) => {
  const [features, idx, weight] = saved as tf.Tensor3D[];
  const g = dy as tf.Tensor3D;
  return {
    features: () => threeInterpolateGradOp.run({dy: g, idx, weight}, {m: features.shape[1]}) as tf.Tensor,
    weight: () => tf.sum(tf.mul(groupPoints(features, idx), tf.expandDims(g, 2)), 3),  // [B, n, 3]
  };
};
