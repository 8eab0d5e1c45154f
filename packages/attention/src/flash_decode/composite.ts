/**
 * flashDecode from public tf ops, for backends without a native kernel (webgl, tensorflow, ...) and as the
 * benchmark baseline: softmax(scale * q K^T) V over the cache with the causal / length mask, the query heads
 * of one kv head batched together, over the cache positions up to the longest row (`maxValidLength`). Decode
 * has few query rows, so the full [rows, length] score matrix is small and no query blocking is needed.
 * Inference only.
 *
 * Lengths outside [0, maxLength] cannot be checked here without a synchronous read; they behave as clamped.
 */
import * as tf from '@tensorflow/tfjs';
import type {FlashDecodeAttrs} from './contract';

export interface FlashDecodeInputs extends tf.NamedTensorMap {
  q: tf.Tensor4D;
  kCache: tf.Tensor4D;
  vCache: tf.Tensor4D;
  cacheLengths: tf.Tensor1D;
}

export function flashDecodeComposite({q, kCache, vCache, cacheLengths}: FlashDecodeInputs,
                                     {scale, maxValidLength}: FlashDecodeAttrs): tf.Tensor4D {
  const [batch, nq, hq, d] = q.shape;
  const [, capacity, hkv] = kCache.shape;
  // Only the first maxValidLength positions can be visible (the op guarantees the bound): skip the rest.
  const maxLength = Math.max(1, Math.min(capacity, maxValidLength));
  if (maxLength < capacity) {
    kCache = tf.slice(kCache, [0, 0, 0, 0], [batch, maxLength, hkv, d]);
    vCache = tf.slice(vCache, [0, 0, 0, 0], [batch, maxLength, hkv, d]);
  }
  const group = hq / hkv;
  const rows = nq * group;  // row r = i * group + t: query i, head g * group + t of kv head g
  // [B, Nq, Hq, D] -> [B, Hkv, Nq * G, D]
  const qg = tf.reshape(tf.transpose(tf.reshape(q, [batch, nq, hkv, group, d]), [0, 2, 1, 3, 4]),
                        [batch, hkv, rows, d]);
  const k = tf.transpose(kCache, [0, 2, 1, 3]);  // [B, Hkv, L, D]
  const v = tf.transpose(vCache, [0, 2, 1, 3]);  // [B, Hkv, L, D]
  // The matMuls read keys and values with non-finite entries zeroed (see below).
  const finiteOnly = (x: tf.Tensor) => tf.where(tf.isFinite(x), x, tf.zerosLike(x));
  const s = tf.mul(tf.matMul(qg, finiteOnly(k), false, true), scale);  // [B, Hkv, rows, L]

  // Causal, bottom-right aligned at the row's length: query i sees keys j < len - nq + i + 1.
  const rowQuery = Int32Array.from({length: rows}, (_, r) => Math.floor(r / group) - nq + 1);
  const limit = tf.add(tf.reshape(cacheLengths, [batch, 1, 1, 1]), tf.tensor4d(rowQuery, [1, 1, rows, 1], 'int32'));
  const keyPos = tf.reshape(tf.range(0, maxLength, 1, 'int32'), [1, 1, 1, maxLength]);
  const visible = tf.broadcastTo(tf.less(keyPos, limit), s.shape);  // [B, Hkv, rows, L]

  // Masked positions (past a row's length, future keys of the first query rows) may hold anything, NaN and Inf
  // included: they are selected away (tf.where), never multiplied by 0, and the matMuls read keys and values with
  // their non-finite entries zeroed (P V sums over keys; tfjs-webgpu's matMul leaks a key's NaN into its
  // neighbour's score); rows that do see one get NaN back explicitly. No infinities or huge constants inside the
  // computation (WebGL): masked scores take the row's smallest visible score (or 0 if smaller).
  const zeros = tf.zerosLike(s);
  const floor = tf.minimum(tf.min(tf.where(visible, s, zeros), -1, true), 0);
  const masked = tf.where(visible, s, tf.broadcastTo(floor, s.shape));
  const rowMax = tf.max(masked, -1, true);  // the max over visible keys; 0 for rows that see nothing
  const p = tf.where(visible, tf.exp(tf.sub(masked, rowMax)), zeros);
  const l = tf.sum(p, -1, true);
  const weighted = tf.div(tf.matMul(p, finiteOnly(v)), tf.where(tf.greater(l, 0), l, tf.onesLike(l)));  // [B, Hkv, rows, D]
  const nonFinite = (x: tf.Tensor) => tf.any(tf.logicalNot(tf.isFinite(x)), -1, true);
  const bad = tf.cast(tf.logicalOr(nonFinite(k), nonFinite(v)), 'float32');                        // [B, Hkv, L, 1]
  const seesBad = tf.greater(tf.matMul(tf.cast(visible, 'float32'), bad), 0);                     // [B, Hkv, rows, 1]
  const o = tf.where(seesBad, tf.fill(weighted.shape, NaN), weighted);
  // [B, Hkv, Nq * G, D] -> [B, Nq, Hq, D]
  return tf.reshape(tf.transpose(tf.reshape(o, [batch, hkv, nq, group, d]), [0, 2, 1, 3, 4]), [batch, nq, hq, d]);
}
