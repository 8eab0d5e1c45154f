/**
 * Keras padding masks (`[batch, seq]` bool, true at real tokens, e.g. from `tf.layers.embedding({maskZero: true})`)
 * for the attention layers, turned into what flashAttention takes: `kvLengths` over compacted keys.
 *
 * Keys: the real keys of each batch row are moved to the front (stable), so a key padding mask of any pattern
 * (right, left, holes) becomes `kvLengths[b]` = the row's number of real keys. Without `causal` the order of the
 * keys does not matter, so that is all. With `causal`, positions matter: the real queries of each row are also
 * moved to the end (stable); flashAttention's bottom-right alignment at `kvLengths[b]` then lets the c-th real
 * query see exactly the first c + 1 + (Lk - Lq) real keys, i.e. the real keys at or before its position, as
 * Keras's causal mask combined with the padding mask does. Padded queries (moved to the front) see no key and
 * output zeros; the outputs are moved back to their positions.
 *
 * Moves are one-hot permutation matMuls (`[B, T, T]`), not gathers: their gradient works on every backend
 * (wasm has no gradient for gather). They cost O(T^2 * H * D), the order of attention itself, and only run when
 * a mask is given. They multiply padded positions by 0, so padded inputs must be finite (embeddings are).
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, shapeString} from '@tfjs-ext/core';
import {flashAttention} from '../flash_attention/op';
import type {AttendFn} from './math';

/**
 * One-hot permutation `[B, T(slot), T(source)]` that moves each row's real positions (mask true) to the front
 * (`realFirst`) or to the end, keeping their order: `(P x)[b, s] = x[b, source(s)]`.
 */
function compaction(mask: tf.Tensor, realFirst: boolean): tf.Tensor3D {
  const length = mask.shape[1] as number;
  const position = tf.range(0, length, 1, 'float32');                  // [T]
  const real = tf.cast(mask, 'float32');                                // [B, T]
  const group = realFirst ? tf.sub(1, real) : real;                    // 0: goes first
  const sortKey = tf.add(tf.mul(group, length), position);             // distinct, ascending = wanted order
  const {indices} = tf.topk(tf.neg(sortKey), length);                  // [B, T] source of each slot
  return tf.cast(tf.oneHot(indices, length), 'float32') as tf.Tensor3D;
}

/** `P x` for heads `x: [B, T, H, D]` (`transpose`: `P^T x`, the inverse move). */
function move(p: tf.Tensor3D, x: tf.Tensor4D, transpose = false): tf.Tensor4D {
  const [batch, length, heads, d] = x.shape;
  const moved = tf.matMul(p, tf.reshape(x, [batch, length, heads * d]), transpose, false);  // [B, T, H * D]
  return tf.reshape(moved, [batch, length, heads, d]);
}

/** Checks a Keras mask: `[batch, seq]` matching its input. */
function checkMask(layer: string, name: string, mask: tf.Tensor, input: tf.Tensor): void {
  assertArg(mask.rank === 2 && mask.shape[0] === input.shape[0] && mask.shape[1] === input.shape[1], layer, () =>
      `the ${name} mask must have shape [batch, seq] = ${shapeString(input.shape.slice(0, 2))} (its input's), ` +
      `got ${shapeString(mask.shape)}`);
}

/**
 * The attention of the layers under Keras padding masks: `queryMask` `[B, Tq]` and `keyMask` `[B, Tk]` (either may
 * be null), causal or not, on flashAttention. Returns the plain flashAttention when both masks are null.
 */
export function maskedAttend(layer: string, causal: boolean, queryMask: tf.Tensor | null,
                             keyMask: tf.Tensor | null): AttendFn {
  return (q, k, v) => {
    if (queryMask !== null) checkMask(layer, 'query', queryMask, q);
    if (keyMask !== null) checkMask(layer, 'key', keyMask, k);
    if (keyMask === null && (queryMask === null || !causal)) return flashAttention(q, k, v, {causal});
    let kvLengths: tf.Tensor1D | undefined;
    if (keyMask !== null) {
      const toFront = compaction(keyMask, true);
      [k, v] = [move(toFront, k), move(toFront, v)];                           // [B, Tk, Hkv, D], real keys first
      kvLengths = tf.sum(tf.cast(keyMask, 'int32'), 1) as tf.Tensor1D;        // [B]
    }
    if (!causal || queryMask === null) return flashAttention(q, k, v, {causal, kvLengths});
    const toEnd = compaction(queryMask, false);
    const out = flashAttention(move(toEnd, q), k, v, {causal, kvLengths});   // [B, Tq, Hq, D], real rows last
    return move(toEnd, out, true);
  };
}
