/**
 * `linearAttention`: causal linear attention as the SSD scan with `A = 0` (no decay) and `dt = 1`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, assertKnownKeys, assertPositiveInt, assertRank, shapeString} from '@tfjs-ext/core';
import {ssd} from '../ssd/op';

const OP = 'linearAttention';

/** Options of {@link linearAttention}. */
export interface LinearAttentionOptions {
  /** Chunk length of the underlying SSD scan (default 64). */
  chunkSize?: number;
}

/**
 * Causal linear attention (no softmax, no normalisation): `y_i = sum_{j <= i} (q_i . k_j) v_j`, i.e. the SSD
 * scan with no decay (`A = 0`, `dt = 1`, `B = k`, `C = q`, `x = v`), so it runs the SSD kernels (O(L) time and
 * memory) and is differentiable in `q`, `k` and `v`. Feature maps (elu + 1, random features, DiJiang's DCT) and
 * scaling are the caller's: apply them to `q` and `k` first.
 *
 * @param q `[batch, L, Hqk, Dk]` float32 queries.
 * @param k `[batch, L, Hqk, Dk]` float32 keys.
 * @param v `[batch, L, H, Dv]` float32 values, `H % Hqk == 0` (value head `h` reads q/k head `floor(h / (H / Hqk))`).
 * @returns `[batch, L, H, Dv]`.
 *
 * @example
 * ```ts
 * const phi = (t: tf.Tensor) => tf.add(tf.elu(t), 1);           // a positive feature map
 * const q = phi(tf.randomNormal([1, 512, 4, 32]));             // [batch, L, heads, dk]
 * const k = phi(tf.randomNormal([1, 512, 4, 32]));
 * const v = tf.randomNormal([1, 512, 4, 64]);                  // [batch, L, heads, dv]
 * const y = linearAttention(q as tf.Tensor4D, k as tf.Tensor4D, v);  // [1, 512, 4, 64]
 * ```
 */
export function linearAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D,
                                options: LinearAttentionOptions = {}): tf.Tensor4D {
  assertRank(q, 4, OP, 'q', '[batch, L, heads, dk]');
  assertRank(k, 4, OP, 'k', '[batch, L, heads, dk]');
  assertRank(v, 4, OP, 'v', '[batch, L, heads, dv]');
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) assertDtype(t, ['float32'], OP, name);
  assertArg(k.shape.every((s, i) => s === q.shape[i]), OP, () =>
      `k must have the shape of q ${shapeString(q.shape)}, got ${shapeString(k.shape)}`);
  const [batch, L, H] = v.shape;
  assertArg(q.shape[0] === batch && q.shape[1] === L, OP, () =>
      `v ${shapeString(v.shape)} must have q's batch and length [${q.shape[0]}, ${q.shape[1]}, heads, dv]`);
  assertArg(q.shape[2] > 0 && H % q.shape[2] === 0, OP, () =>
      `v heads (${H}) must be a multiple of q/k heads (${q.shape[2]}); q ${shapeString(q.shape)}, ` +
      `v ${shapeString(v.shape)}`);
  assertKnownKeys(OP, options, ['chunkSize']);
  if (options.chunkSize !== undefined) assertPositiveInt(options.chunkSize, OP, 'options.chunkSize');
  return tf.tidy(() => {
    const dt = tf.ones([batch, L, H]) as tf.Tensor3D;
    const A = tf.zeros([H]) as tf.Tensor1D;
    return ssd(v, dt, A, k, q, {chunkSize: options.chunkSize ?? 64}).y;
  });
}
