/** The critics' regression target of SAC, shape-checked. */
import * as tf from '@tensorflow/tfjs';

/**
 * The critics' regression target `y = r + gamma (1 - terminated) (minQTarget(s', a') - alpha logp')`, every
 * operand `[B, 1]` (checked: a `[B]` reward against `[B, 1]` values would broadcast to `[B, B]`).
 *
 * @example
 * ```ts
 * const y = softQTarget(rewards, notDone, tf.minimum(q1Next, q2Next), logpNext, alpha, 0.99);  // [B, 1]
 * ```
 */
export function softQTarget(rewards: tf.Tensor, notDone: tf.Tensor, minQNext: tf.Tensor, logpNext: tf.Tensor,
                            alpha: tf.Tensor | number, gamma: number): tf.Tensor2D {
  const B = minQNext.shape[0];
  for (const [name, t] of [['rewards', rewards], ['notDone', notDone], ['minQNext', minQNext], ['logpNext', logpNext]] as const) {
    if (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== 1) {
      throw new Error(`softQTarget: ${name} must have shape [${B}, 1], got [${t.shape}]`);
    }
  }
  return tf.tidy(() => tf.add(rewards, tf.mul(tf.mul(gamma, notDone), tf.sub(minQNext, tf.mul(alpha, logpNext))))) as tf.Tensor2D;
}
