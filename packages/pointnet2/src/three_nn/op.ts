/** `threeNN(unknown, known)`: the neighbour search of a PointNet++ feature propagation. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, defineOp, shapeString} from '@tfjs-ext/core';
import {assertCloud, assertSameBatch} from '../checks';
import {threeNNComposite} from './composite';
import {threeNNHostKernels} from './cpu';
import {threeNNWebGPU} from './webgpu';

export const THREE_NN = 'TfjsExtThreeNN';

export const threeNNOp = defineOp<{unknown: tf.Tensor3D; known: tf.Tensor3D}, object>({
  kernelName: THREE_NN,
  kernels: {...threeNNHostKernels, webgpu: threeNNWebGPU},
  composite: ({unknown, known}) => threeNNComposite(unknown, known),
});

/**
 * The three nearest known points of every unknown point, nearest first, ties to the lower index. Not
 * differentiable (a search; PointNet++ uses the distances only through {@link interpolationWeights} of input
 * coordinates).
 *
 * @param unknown `[B, n, 3]` float32 points to interpolate at.
 * @param known `[B, m, 3]` float32 points carrying features, `m >= 3`.
 * @returns `dist2` float32 `[B, n, 3]` squared distances and `idx` int32 `[B, n, 3]` indices into m.
 *
 * @example
 * ```ts
 * const {dist2, idx} = threeNN(denseXyz, sparseXyz);
 * const up = threeInterpolate(sparseFeatures, idx, interpolationWeights(dist2));  // [B, n, C]
 * ```
 */
export function threeNN(unknown: tf.Tensor3D, known: tf.Tensor3D): {dist2: tf.Tensor3D; idx: tf.Tensor3D} {
  const op = 'threeNN';
  assertCloud(unknown, op, 'unknown', '[batch, n, 3]');
  assertCloud(known, op, 'known', '[batch, m, 3]');
  assertSameBatch(unknown, known, op, 'unknown', 'known');
  assertArg(known.shape[1] >= 3, op, () => `known must have at least m >= 3 points, got shape ${shapeString(known.shape)}`);
  const [dist2, idx] = threeNNOp.run({unknown, known}, {}) as tf.Tensor[];
  return {dist2: dist2 as tf.Tensor3D, idx: idx as tf.Tensor3D};
}
