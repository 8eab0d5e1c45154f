/** `farthestPointSample(xyz, npoint)`: the sampling step of a PointNet++ set abstraction. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertPositiveInt, defineOp} from '@tfjs-ext/core';
import {assertCloud} from '../checks';
import {farthestPointSampleComposite} from './composite';
import {FpsAttrs, fpsHostKernels} from './cpu';
import {fpsWebGPU} from './webgpu';

export const FARTHEST_POINT_SAMPLE = 'TfjsExtFarthestPointSample';

export const farthestPointSampleOp = defineOp<{xyz: tf.Tensor3D}, FpsAttrs>({
  kernelName: FARTHEST_POINT_SAMPLE,
  kernels: {...fpsHostKernels, webgpu: fpsWebGPU},
  composite: ({xyz}, {npoint}) => farthestPointSampleComposite(xyz, npoint),
});

/**
 * Farthest point sampling: starts at point 0, then repeatedly takes the point whose squared distance to the
 * nearest chosen point is largest (the lowest index on ties). Deterministic. Not differentiable (indices).
 *
 * @param xyz `[B, N, 3]` float32 points.
 * @param npoint number of points to choose, `1 <= npoint <= N`.
 * @returns int32 `[B, npoint]` indices into `N`.
 *
 * @example
 * ```ts
 * const xyz = tf.randomUniform([2, 1024, 3]) as tf.Tensor3D;
 * const idx = farthestPointSample(xyz, 512);  // int32 [2, 512]
 * ```
 */
export function farthestPointSample(xyz: tf.Tensor3D, npoint: number): tf.Tensor2D {
  const op = 'farthestPointSample';
  assertCloud(xyz, op, 'xyz');
  assertPositiveInt(npoint, op, 'npoint');
  assertArg(npoint <= xyz.shape[1], op, () =>
      `npoint must be at most the number of points N = xyz.shape[1] = ${xyz.shape[1]}, got ${npoint}`);
  return farthestPointSampleOp.run({xyz}, {npoint}) as tf.Tensor2D;
}
