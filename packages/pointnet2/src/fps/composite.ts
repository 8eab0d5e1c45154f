/**
 * Farthest point sampling from public tf ops: `npoint - 1` steps of (gather the last choice, squared distances,
 * running minimum, argMax). argMax returns the first maximum, so ties go to the lowest index as in the kernel.
 * Distances are float32 here (the host kernel uses float64): near-ties may resolve differently.
 */
import * as tf from '@tensorflow/tfjs';
import {batchOffsets} from '../checks';

export function farthestPointSampleComposite(xyz: tf.Tensor3D, npoint: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, n] = xyz.shape;
    const flat = tf.reshape(xyz, [batch * n, 3]);
    const offsets = tf.reshape(batchOffsets(batch, n, 1), [batch]);  // [B]
    let far: tf.Tensor = tf.zeros([batch], 'int32');
    // A large finite start (no infinities: webgl clamps and mishandles them).
    let minDist: tf.Tensor = tf.fill([batch, n], 1e10);
    const chosen: tf.Tensor[] = [far];
    for (let i = 1; i < npoint; i++) {
      const centre = tf.expandDims(tf.gather(flat, tf.add(far, offsets)), 1);  // [B, 1, 3]
      const d = tf.sum(tf.square(tf.sub(xyz, centre)), 2);  // [B, N]
      minDist = tf.minimum(minDist, d);
      far = tf.cast(tf.argMax(minDist, 1), 'int32');
      chosen.push(far);
    }
    return tf.stack(chosen, 1) as tf.Tensor2D;  // [B, npoint]
  });
}
