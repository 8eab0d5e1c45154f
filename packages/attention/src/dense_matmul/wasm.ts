/** The wasm kernel of `denseMatMul`: the backend's own BatchMatMul on the same inputs (the gain is the gradient). */
import * as tf from '@tensorflow/tfjs';
import type {KernelFunc} from '@tfjs-ext/core';

/** Looked up per call: backends load lazily. */
export const denseMatMulWasm: KernelFunc = ({inputs, backend}) => {
  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  if (batchMatMul === undefined) throw new Error('denseMatMul: no BatchMatMul kernel on \'wasm\'');
  return batchMatMul.kernelFunc({inputs: {a: inputs.a, b: inputs.b}, backend,
                                 attrs: {transposeA: false, transposeB: false}});
};
