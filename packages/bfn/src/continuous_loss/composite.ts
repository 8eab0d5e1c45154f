/** `bfnContinuousLoss` from public tf ops (differentiable by autograd, WebGL-safe), and its closed-form gradient. */
import * as tf from '@tensorflow/tfjs';
import {timeFactorOps} from '../shared/composite_math';

/** xHat `[batch, dim]` before clipping, and the time factors. */
function rawPrediction(mu: tf.Tensor, epsHat: tf.Tensor, t: tf.Tensor, sigma1: number, tMin: number) {
  const f = timeFactorOps(t, sigma1, tMin);
  const raw = tf.sub(tf.mul(mu, f.invGamma), tf.mul(f.b, epsHat));  // [batch, dim]
  return {raw, ...f};
}

/** Loss `[batch]` from `[batch, dim]` inputs. */
export function continuousLossComposite(x: tf.Tensor, mu: tf.Tensor, epsHat: tf.Tensor, t: tf.Tensor,
                                        sigma1: number, tMin: number): tf.Tensor {
  const {raw, weight, masked} = rawPrediction(mu, epsHat, t, sigma1, tMin);
  const xHat = tf.mul(tf.clipByValue(raw, -1, 1), tf.sub(1, masked));  // 0 where t < tMin
  return tf.mul(tf.reshape(weight, [-1]), tf.sum(tf.square(tf.sub(x, xHat)), 1));
}

/** dL/d epsHat `[batch, dim]` (closed form; runs where the backward kernel is missing). */
export function continuousLossGradComposite(dy: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, epsHat: tf.Tensor,
                                            t: tf.Tensor, sigma1: number, tMin: number): tf.Tensor {
  const {raw, b, weight, masked} = rawPrediction(mu, epsHat, t, sigma1, tMin);
  const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(raw, -1), tf.lessEqual(raw, 1)), 'float32');
  const factor = tf.mul(tf.mul(tf.mul(tf.reshape(dy, [-1, 1]), weight), tf.mul(b, -2)), tf.sub(1, masked));
  return tf.mul(tf.mul(factor, inside), tf.sub(raw, x));
}
