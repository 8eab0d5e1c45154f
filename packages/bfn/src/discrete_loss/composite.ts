/** `bfnDiscreteLoss` from public tf ops (differentiable by autograd in the logits) and its closed-form gradient. */
import * as tf from '@tensorflow/tfjs';

/** One-hot `[batch, dim, K]` float32 by comparison (tf.oneHot's float32 output is wrong on wasm). */
function oneHot(x: tf.Tensor, K: number): tf.Tensor {
  return tf.cast(tf.equal(tf.expandDims(x, 2), tf.range(0, K, 1, 'int32')), 'float32');
}

export function discreteLossComposite(x: tf.Tensor, logits: tf.Tensor, t: tf.Tensor, beta1: number): tf.Tensor {
  const K = logits.shape[2] as number;
  const diff = tf.sub(oneHot(x, K), tf.softmax(logits));  // [batch, dim, K]
  return tf.mul(tf.mul(t, K * beta1), tf.sum(tf.square(diff), [1, 2]));
}

/** dL/d logits `[batch, dim, K]`. */
export function discreteLossGradComposite(dy: tf.Tensor, x: tf.Tensor, logits: tf.Tensor, t: tf.Tensor,
                                          beta1: number): tf.Tensor {
  const K = logits.shape[2] as number;
  const p = tf.softmax(logits);
  const pe = tf.sub(p, oneHot(x, K));
  const s = tf.sum(tf.mul(p, pe), 2, true);
  const scale = tf.reshape(tf.mul(tf.mul(dy, t), 2 * K * beta1), [-1, 1, 1]);
  return tf.mul(scale, tf.mul(p, tf.sub(pe, s)));
}
