/**
 * The ball query from public tf ops: all squared distances `[B, S, N]` (explicit differences, so the radius
 * boundary is decided on the same float32 values a kernel sees), in-ball points keyed by their index and
 * out-of-ball ones by N, the `nsample` smallest keys by topk (ascending indices), misses replaced by the first hit
 * (or by the nearest point when the ball is empty). Memory O(B * S * N * 3).
 */
import * as tf from '@tensorflow/tfjs';

export function ballQueryComposite(xyz: tf.Tensor3D, newXyz: tf.Tensor3D, radius: number,
                                   nsample: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n] = xyz.shape;
    const s = newXyz.shape[1];
    const d2 = tf.sum(tf.square(tf.sub(tf.expandDims(xyz, 1), tf.expandDims(newXyz, 2))), 3);  // [B, S, N]
    const inBall = tf.less(d2, radius * radius);
    const index = tf.range(0, n, 1, 'float32');  // [N]
    const key = tf.where(inBall, tf.broadcastTo(index, [batch, s, n]), tf.fill([batch, s, n], n));
    const k = Math.min(nsample, n);
    const firstK = tf.neg(tf.topk(tf.neg(key), k, true).values);  // [B, S, k], ascending; n marks a miss
    const first = tf.slice(firstK, [0, 0, 0], [-1, -1, 1]);  // [B, S, 1]
    const nearest = tf.expandDims(tf.cast(tf.argMin(d2, 2), 'float32'), 2);  // [B, S, 1]
    const firstHit = tf.where(tf.greaterEqual(first, n), nearest, first);
    let out: tf.Tensor = tf.where(tf.greaterEqual(firstK, n), tf.broadcastTo(firstHit, [batch, s, k]), firstK);
    if (nsample > k) out = tf.concat([out, tf.tile(firstHit, [1, 1, nsample - k])], 2);
    return tf.cast(out, 'int32') as tf.Tensor3D;  // [B, S, nsample]
  });
}
