/**
 * `denseMatMul(a, b)`: `a @ b` for 2-D operands whose gradient multiplies explicitly transposed operands.
 *
 * tfjs's BatchMatMul gradient calls `matMul(dy, b, false, true)` and `matMul(a, dy, true, false)`; on the wasm
 * backend (tfjs 4.22) those transposed products run 5-10x slower than a transpose followed by a plain matMul,
 * which made a training step of the LM 2.5x slower. `tf.customGrad` cannot fix it: on wasm the tensors it saves
 * are copies made inside the forward, which `IS_TEST` reports as a kernel leak. So this is a tiny op: on wasm a
 * kernel that forwards to the backend's own BatchMatMul, with this gradient; elsewhere `tf.matMul` and its usual
 * gradient.
 */
import * as tf from '@tensorflow/tfjs';
import {defineOp, type KernelFunc} from '@tfjs-ext/core';

export const DENSE_MATMUL = 'TfjsExtDenseMatMul';

/** Runs `backendName`'s BatchMatMul kernel on the same inputs (looked up per call: backends load lazily). */
function forwardToBatchMatMul(backendName: string): KernelFunc {
  return ({inputs, backend}) => {
    const batchMatMul = tf.getKernel('BatchMatMul', backendName);
    if (batchMatMul === undefined) throw new Error(`denseMatMul: no BatchMatMul kernel on '${backendName}'`);
    return batchMatMul.kernelFunc({inputs: {a: inputs.a, b: inputs.b}, backend,
                                   attrs: {transposeA: false, transposeB: false}});
  };
}

const denseMatMulOp = defineOp<{a: tf.Tensor2D; b: tf.Tensor2D}, Record<string, never>>({
  kernelName: DENSE_MATMUL,
  kernels: {wasm: forwardToBatchMatMul('wasm')},  // cpu: measured no faster than tf.matMul's gradient
  gradient: {
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => tf.matMul(dy as tf.Tensor2D, tf.transpose(b as tf.Tensor2D)),  // [m, k]
      b: () => tf.matMul(tf.transpose(a as tf.Tensor2D), dy as tf.Tensor2D),  // [k, n]
    }),
  },
  composite: ({a, b}) => tf.matMul(a, b),
});

/** `a [m, k] @ b [k, n]` to `[m, n]`, differentiable in both. */
export function denseMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return denseMatMulOp.run({a, b}, {}) as tf.Tensor2D;
}
