/**
 * Grouping from public tf ops: a gather of rows of the flattened `[B * N, C]` features at flat offsets
 * `b * N + idx` (tf.gather with batchDims is wrong on wasm, TFJS-TRAPS.md). Its gradient is a segment sum.
 */
import * as tf from '@tensorflow/tfjs';
import {batchOffsets} from '../checks';

/** Flat row indices `b * N + idx`, `[B * S * K]`. */
function flatRows(idx: tf.Tensor, n: number): tf.Tensor1D {
  return tf.reshape(tf.add(idx, batchOffsets(idx.shape[0], n, idx.rank)), [-1]);
}

/** `[B, N, C]`, `[B, S, K]` -> `[B, S, K, C]`; autograd differentiates it in features (UnsortedSegmentSum). */
export function groupPointsComposite(features: tf.Tensor3D, idx: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, n, c] = features.shape;
    const [, s, k] = idx.shape;
    const rows = tf.gather(tf.reshape(features, [batch * n, c]), flatRows(idx, n));  // [B*S*K, C]
    return tf.reshape(rows, [batch, s, k, c]) as tf.Tensor4D;
  });
}

/** Scatter-add of `dy [B, S, K, C]` back to `[B, N, C]`. */
export function groupPointsGradComposite(dy: tf.Tensor4D, idx: tf.Tensor3D, n: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, s, k, c] = dy.shape;
    const summed = tf.unsortedSegmentSum(tf.reshape(dy, [batch * s * k, c]), flatRows(idx, n), batch * n);
    return tf.reshape(summed, [batch, n, c]) as tf.Tensor3D;
  });
}
