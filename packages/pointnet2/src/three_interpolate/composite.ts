/**
 * 3-NN interpolation from public tf ops: a flat-offset gather of the 3 neighbours' features (no batchDims gather:
 * wrong on wasm), weighted and summed. The gradient in features is a segment sum of `weight * dy`.
 */
import * as tf from '@tensorflow/tfjs';
import {batchOffsets} from '../checks';

function flatRows(idx: tf.Tensor, m: number): tf.Tensor1D {
  return tf.reshape(tf.add(idx, batchOffsets(idx.shape[0], m, idx.rank)), [-1]);
}

/** features `[B, m, C]`, idx/weight `[B, n, 3]` -> `[B, n, C]`. */
export function threeInterpolateComposite(features: tf.Tensor3D, idx: tf.Tensor3D, weight: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, m, c] = features.shape;
    const n = idx.shape[1];
    const neighbours = tf.reshape(tf.gather(tf.reshape(features, [batch * m, c]), flatRows(idx, m)),
                                  [batch, n, 3, c]);
    return tf.sum(tf.mul(neighbours, tf.expandDims(weight, 3)), 2) as tf.Tensor3D;
  });
}

/** Scatter-add of `weight * dy` back to `[B, m, C]`. */
export function threeInterpolateGradComposite(dy: tf.Tensor3D, idx: tf.Tensor3D, weight: tf.Tensor3D,
                                              m: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n, c] = dy.shape;
    const rows = tf.reshape(tf.mul(tf.expandDims(dy, 2), tf.expandDims(weight, 3)), [batch * n * 3, c]);
    return tf.reshape(tf.unsortedSegmentSum(rows, flatRows(idx, m), batch * m), [batch, m, c]) as tf.Tensor3D;
  });
}
