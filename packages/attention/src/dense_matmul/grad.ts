/** The gradient of `TfjsExtDenseMatMul`: products of explicitly transposed operands (fast on wasm). */
import * as tf from '@tensorflow/tfjs';
import type {GradFunc} from '@tfjs-ext/core';

const gradFunc: GradFunc = (dy, [a, b]) => ({
  a: () => tf.matMul(dy as tf.Tensor2D, tf.transpose(b as tf.Tensor2D)),  // [m, k]
  b: () => tf.matMul(tf.transpose(a as tf.Tensor2D), dy as tf.Tensor2D),  // [k, n]
});

export const denseMatMulGradient = {inputsToSave: ['a', 'b'], gradFunc};
