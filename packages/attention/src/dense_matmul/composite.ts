/** `denseMatMul` from public tf ops: `tf.matMul` and its usual gradient (every backend without the kernel). */
import * as tf from '@tensorflow/tfjs';

export function denseMatMulComposite(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);  // [m, n]
}
