/** `ballQuery(xyz, newXyz, radius, nsample)`: the grouping step of a PointNet++ set abstraction. */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertPositiveInt, defineOp} from '@tfjs-ext/core';
import {assertCloud, assertSameBatch} from '../checks';
import {ballQueryComposite} from './composite';
import {BallQueryAttrs, ballQueryHostKernels} from './cpu';
import {ballQueryWebGPU} from './webgpu';

export const BALL_QUERY = 'TfjsExtBallQuery';

export const ballQueryOp = defineOp<{xyz: tf.Tensor3D; newXyz: tf.Tensor3D}, BallQueryAttrs>({
  kernelName: BALL_QUERY,
  kernels: {...ballQueryHostKernels, webgpu: ballQueryWebGPU},
  composite: ({xyz, newXyz}, {radius, nsample}) => ballQueryComposite(xyz, newXyz, radius, nsample),
});

/**
 * Ball query: for each centre, the indices of the first `nsample` points (in index order) whose squared
 * distance to it is strictly below `radius^2`; unused slots repeat the first hit. A ball with no point at all
 * (impossible when the centres are points of `xyz`, as after {@link farthestPointSample}) is filled with the
 * index of the centre's nearest point (lowest index on ties), so every slot is a valid index.
 *
 * @param xyz `[B, N, 3]` float32 points.
 * @param newXyz `[B, S, 3]` float32 centres.
 * @param radius ball radius, > 0.
 * @param nsample slots per ball, a positive integer.
 * @returns int32 `[B, S, nsample]` indices into `N`.
 *
 * @example
 * ```ts
 * const centres = groupPoints(xyz, tf.expandDims(farthestPointSample(xyz, 512), 2));  // [B, 512, 1, 3]
 * const idx = ballQuery(xyz, tf.squeeze(centres, [2]), 0.2, 32);  // int32 [B, 512, 32]
 * ```
 */
export function ballQuery(xyz: tf.Tensor3D, newXyz: tf.Tensor3D, radius: number, nsample: number): tf.Tensor3D {
  const op = 'ballQuery';
  assertCloud(xyz, op, 'xyz');
  assertCloud(newXyz, op, 'newXyz', '[batch, numCentres, 3]');
  assertSameBatch(xyz, newXyz, op, 'xyz', 'newXyz');
  assertArg(typeof radius === 'number' && Number.isFinite(radius) && radius > 0, op,
            () => `radius must be a positive finite number, got ${radius}`);
  assertPositiveInt(nsample, op, 'nsample');
  return ballQueryOp.run({xyz, newXyz}, {radius, nsample}) as tf.Tensor3D;
}
