/** `groupPoints(features, idx)`: gathers each group's point features, differentiable in the features. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertRank, defineOp, shapeString} from '@tfjs-ext/core';
import {assertIndices, assertSameBatch} from '../checks';
import {groupPointsComposite} from './composite';
import {groupPointsHostKernels} from './cpu';
import {groupPointsGradFunc} from './grad';
import {groupPointsWebGPU} from './webgpu';

export const GROUP_POINTS = 'TfjsExtGroupPoints';

export const groupPointsOp = defineOp<{features: tf.Tensor3D; idx: tf.Tensor3D}, object>({
  kernelName: GROUP_POINTS,
  kernels: {...groupPointsHostKernels, webgpu: groupPointsWebGPU},
  gradient: {gradFunc: groupPointsGradFunc, inputsToSave: ['features', 'idx']},
  composite: ({features, idx}) => groupPointsComposite(features, idx),
});

/**
 * Grouping: `out[b, s, k, :] = features[b, idx[b, s, k], :]`. Differentiable in `features` (the gradient adds
 * each group slot's gradient back to its point). Indices must lie in `[0, N)` (not checked: that would read the
 * indices back from the device).
 *
 * @param features `[B, N, C]` float32 per-point features (or coordinates, C = 3).
 * @param idx int32 `[B, S, K]` indices into N, e.g. from {@link ballQuery}.
 * @returns `[B, S, K, C]`.
 *
 * @example
 * ```ts
 * const idx = ballQuery(xyz, centres, 0.2, 32);  // int32 [B, S, 32]
 * const grouped = groupPoints(features, idx);     // [B, S, 32, C]
 * ```
 */
export function groupPoints(features: tf.Tensor3D, idx: tf.Tensor3D): tf.Tensor4D {
  const op = 'groupPoints';
  assertRank(features, 3, op, 'features', '[batch, numPoints, channels]');
  assertDtype(features, ['float32'], op, 'features');
  assertIndices(idx, 3, op, 'idx', '[batch, numGroups, groupSize]');
  assertSameBatch(features, idx, op, 'features', 'idx');
  assertArg(features.shape[1] > 0, op, () => `features must have at least one point, got ${shapeString(features.shape)}`);
  return groupPointsOp.run({features, idx}, {}) as tf.Tensor4D;
}
