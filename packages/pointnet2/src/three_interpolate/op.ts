/** `threeInterpolate(features, idx, weight)` and `interpolationWeights(dist2)`: feature propagation upsampling. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertRank, defineOp, shapeString} from '@tfjs-ext/core';
import {assertIndices, assertSameBatch} from '../checks';
import {threeInterpolateComposite} from './composite';
import {threeInterpolateHostKernels} from './cpu';
import {threeInterpolateGradFunc} from './grad';
import {threeInterpolateWebGPU} from './webgpu';

export const THREE_INTERPOLATE = 'TfjsExtThreeInterpolate';

type Inputs = {features: tf.Tensor3D; idx: tf.Tensor3D; weight: tf.Tensor3D};

export const threeInterpolateOp = defineOp<Inputs, object>({
  kernelName: THREE_INTERPOLATE,
  kernels: {...threeInterpolateHostKernels, webgpu: threeInterpolateWebGPU},
  gradient: {gradFunc: threeInterpolateGradFunc, inputsToSave: ['features', 'idx', 'weight']},
  composite: ({features, idx, weight}) => threeInterpolateComposite(features, idx, weight),
});

/**
 * 3-NN interpolation: `out[b, i, :] = sum_j weight[b, i, j] * features[b, idx[b, i, j], :]`. Differentiable in
 * `features` (scatter-add back to the m known points) and in `weight`. Indices must lie in `[0, m)`.
 *
 * @param features `[B, m, C]` float32 features of the known points.
 * @param idx int32 `[B, n, 3]` neighbour indices (from {@link threeNN}).
 * @param weight `[B, n, 3]` float32 weights (from {@link interpolationWeights}).
 * @returns `[B, n, C]`.
 *
 * @example
 * ```ts
 * const {dist2, idx} = threeNN(denseXyz, sparseXyz);
 * const up = threeInterpolate(sparseFeatures, idx, interpolationWeights(dist2));  // [B, n, C]
 * ```
 */
export function threeInterpolate(features: tf.Tensor3D, idx: tf.Tensor3D, weight: tf.Tensor3D): tf.Tensor3D {
  const op = 'threeInterpolate';
  assertRank(features, 3, op, 'features', '[batch, m, channels]');
  assertDtype(features, ['float32'], op, 'features');
  assertIndices(idx, 3, op, 'idx', '[batch, n, 3]');
  assertRank(weight, 3, op, 'weight', '[batch, n, 3]');
  assertDtype(weight, ['float32'], op, 'weight');
  assertArg(idx.shape[2] === 3, op, () => `idx must have shape [batch, n, 3], got ${shapeString(idx.shape)}`);
  assertSameBatch(features, idx, op, 'features', 'idx');
  assertArg(weight.shape[0] === idx.shape[0] && weight.shape[1] === idx.shape[1] && weight.shape[2] === 3, op,
            () => `weight must have the shape of idx ${shapeString(idx.shape)}, got ${shapeString(weight.shape)}`);
  return threeInterpolateOp.run({features, idx, weight}, {}) as tf.Tensor3D;
}

/**
 * Inverse squared-distance weights over the 3 nearest neighbours:
 * `w_i = (1 / max(dist2_i, 1e-10)) / sum_j (1 / max(dist2_j, 1e-10))`. Built from tf ops (differentiable).
 *
 * @param dist2 `[B, n, 3]` squared distances, as {@link threeNN} returns them.
 * @returns `[B, n, 3]` weights summing to 1 over the last axis.
 *
 * @example
 * ```ts
 * const w = interpolationWeights(threeNN(dense, sparse).dist2);
 * ```
 */
export function interpolationWeights(dist2: tf.Tensor3D): tf.Tensor3D {
  const op = 'interpolationWeights';
  assertRank(dist2, 3, op, 'dist2', '[batch, n, 3]');
  assertDtype(dist2, ['float32'], op, 'dist2');
  assertArg(dist2.shape[2] === 3, op, () => `dist2 must have shape [batch, n, 3], got ${shapeString(dist2.shape)}`);
  return tf.tidy(() => {
    const inv = tf.reciprocal(tf.maximum(dist2, 1e-10));
    return tf.div(inv, tf.sum(inv, 2, true)) as tf.Tensor3D;
  });
}
