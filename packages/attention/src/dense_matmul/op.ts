/**
 * `denseMatMul(a, b)`: `a @ b` for 2-D operands whose gradient multiplies explicitly transposed operands.
 *
 * tfjs's BatchMatMul gradient calls `matMul(dy, b, false, true)` and `matMul(a, dy, true, false)`; on the wasm
 * backend (tfjs 4.22) those transposed products run 5-10x slower than a transpose followed by a plain matMul,
 * which made a training step of the LM 2.5x slower. `tf.customGrad` cannot fix it: on wasm the tensors it saves
 * are copies made inside the forward, which `IS_TEST` reports as a kernel leak. So this is a tiny op: on wasm a
 * kernel that forwards to the backend's own BatchMatMul (wasm.ts), with this op's gradient (grad.ts); elsewhere
 * `tf.matMul` and its usual gradient (composite.ts).
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertRank, defineOp, shapeString} from '@tfjs-ext/core';
import {denseMatMulComposite} from './composite';
import {denseMatMulGradient} from './grad';
import {denseMatMulWasm} from './wasm';

export const DENSE_MATMUL = 'TfjsExtDenseMatMul';
const OP = 'denseMatMul';

const denseMatMulOp = defineOp<{a: tf.Tensor2D; b: tf.Tensor2D}, Record<string, never>>({
  kernelName: DENSE_MATMUL,
  kernels: {wasm: denseMatMulWasm},  // cpu: measured no faster than tf.matMul's gradient
  gradient: denseMatMulGradient,
  composite: ({a, b}) => denseMatMulComposite(a, b),
});

/**
 * `a [m, k] @ b [k, n]` to `[m, n]`, differentiable in both (float32).
 *
 * @example
 * ```ts
 * const y = denseMatMul(tf.ones([2, 3]), tf.ones([3, 4]));  // [2, 4], every entry 3
 * ```
 */
export function denseMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  assertRank(a, 2, OP, 'a', '[m, k]');
  assertRank(b, 2, OP, 'b', '[k, n]');
  assertDtype(a, ['float32'], OP, 'a');
  assertDtype(b, ['float32'], OP, 'b');
  assertArg(a.shape[1] === b.shape[0], OP, () =>
      `b must have shape [${a.shape[1]}, n] (its first dim must equal a's last), got a ${shapeString(a.shape)} and ` +
      `b ${shapeString(b.shape)}`);
  return denseMatMulOp.run({a, b}, {}) as tf.Tensor2D;
}
