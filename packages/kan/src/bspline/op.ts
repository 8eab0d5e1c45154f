/**
 * `bsplineBasis(x, grid, order)`: the B-spline basis expansion of a KAN layer, `[batch, nIn] -> [batch, nIn, G+k]`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertRank, defineOp, registerBackendProbe, shapeString} from '@tfjs-ext/core';
import {bsplineBasisComposite} from './composite';
import {BasisAttrs, bsplineBasisHostKernels} from './host';
import {bsplineBasisDerivativeOp, bsplineBasisGradFunc} from './grad';
import {bsplineBasisWebGPU} from './webgpu';

export const BSPLINE_BASIS = 'TfjsExtBSplineBasis';

type BasisInputs = {x: tf.Tensor2D; grid: tf.Tensor2D};

export const bsplineBasisOp = defineOp<BasisInputs, BasisAttrs>({
  kernelName: BSPLINE_BASIS,
  kernels: {
    ...bsplineBasisHostKernels, webgpu: bsplineBasisWebGPU,
    // tensorflow: 1/13-1/40 of its composite's peak memory, 0.9-6x its speed (bench kan, two noisy runs)
    tensorflow: bsplineBasisHostKernels.cpu,
  },
  gradient: {gradFunc: bsplineBasisGradFunc, inputsToSave: ['x', 'grid']},
  composite: ({x, grid}, {order}) => bsplineBasisComposite(x, grid, order),
});

function checkArgs(op: string, x: unknown, grid: unknown, order: number): void {
  assertRank(x, 2, op, 'x', '[batch, nIn]');
  assertRank(grid, 2, op, 'grid', '[nIn, nKnots]');
  assertDtype(x, ['float32'], op, 'x');
  assertDtype(grid, ['float32'], op, 'grid');
  assertArg(Number.isInteger(order) && order >= 1 && order <= 16, op,
            () => `order must be an integer in [1, 16], got ${order}`);
  assertArg(grid.shape[0] === x.shape[1], op, () =>
      `grid must have shape [nIn, nKnots] with nIn = x.shape[1] = ${x.shape[1]}, got ${shapeString(grid.shape)}`);
  assertArg((grid.shape[1] ?? 0) >= order + 2, op, () =>
      `grid must have at least order + 2 = ${order + 2} knots per feature, got shape ${shapeString(grid.shape)}`);
}

/**
 * B-spline bases of order `order` for every sample and feature: `out[b, i, m] = B_m(x[b, i])` on the knots
 * `grid[i, :]` (Cox-de Boor; order 0 is the indicator of `[t_m, t_{m+1})`). Differentiable in `x`.
 *
 * @param x `[batch, nIn]` float32.
 * @param grid `[nIn, nKnots]` float32, strictly increasing per row (`nKnots = G + 2k + 1` for a KAN layer).
 * @param order spline order k (default 3).
 * @returns `[batch, nIn, nKnots - 1 - order]`.
 *
 * @example
 * ```ts
 * const grid = tf.tensor2d([[-2.2, -1.8, -1.4, -1, -0.6, -0.2, 0.2, 0.6, 1, 1.4, 1.8, 2.2]]);  // G=5, k=3
 * const basis = bsplineBasis(tf.tensor2d([[0.1], [0.5]]), grid, 3);  // [2, 1, 8]
 * ```
 */
export function bsplineBasis(x: tf.Tensor2D, grid: tf.Tensor2D, order = 3): tf.Tensor3D {
  checkArgs('bsplineBasis', x, grid, order);
  return bsplineBasisOp.run({x, grid}, {order}) as tf.Tensor3D;
}

/** dB/dx `[batch, nIn, nKnots - 1 - order]` (same arguments as {@link bsplineBasis}). */
export function bsplineBasisDerivative(x: tf.Tensor2D, grid: tf.Tensor2D, order = 3): tf.Tensor3D {
  checkArgs('bsplineBasisDerivative', x, grid, order);
  return bsplineBasisDerivativeOp.run({x, grid}, {order}) as tf.Tensor3D;
}

// useBestBackend's probe: the basis of a small KAN layer, forward and backward in x.
registerBackendProbe('bsplineBasis', () => tf.tidy(() => {
  const knots = Array.from({length: 12}, (_, i) => -1 + (i - 3) * 0.4);  // G=5, order 3, uniform on [-1, 1]
  const grid = tf.tensor2d(Array.from({length: 32}, () => knots).flat(), [32, knots.length]);
  const x = tf.randomUniform([64, 32], -1, 1, 'float32', 1) as tf.Tensor2D;
  return tf.grad((xt: tf.Tensor) => tf.sum(tf.square(bsplineBasis(xt as tf.Tensor2D, grid, 3))))(x);
}));
