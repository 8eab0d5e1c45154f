/**
 * The 3 nearest neighbours from public tf ops: all squared distances `[B, n, m]` (explicit differences) and
 * topk of their negation. topk orders equal values by index on cpu and wasm; on other backends ties may come
 * out in another order.
 */
import * as tf from '@tensorflow/tfjs';

export function threeNNComposite(unknown: tf.Tensor3D, known: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const d2 = tf.sum(tf.square(tf.sub(tf.expandDims(unknown, 2), tf.expandDims(known, 1))), 3);  // [B, n, m]
    const {values, indices} = tf.topk(tf.neg(d2), 3, true);
    return [tf.neg(values) as tf.Tensor3D, indices as tf.Tensor3D];
  });
}
