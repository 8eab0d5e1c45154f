/**
 * Output distributions from raw network outputs (the spec's "output dist" row), as tensors: the continuous
 * prediction xHat, the discretised normal's bin probabilities, and the categorical of the discrete logits.
 * Used by the evaluation losses and the sampler (the training losses are the fused ops).
 */
import * as tf from '@tensorflow/tfjs';
import {normalUpperTailOps} from '../shared/composite_math';

/** Per-example (gamma, B) `[batch, 1]` at times t `[batch]` with gamma from max(t, tMin); mask t < tMin. */
function factors(t: tf.Tensor, sigma1: number, tMin: number) {
  const tb = tf.reshape(t, [-1, 1]);
  const postVar = tf.pow(sigma1, tf.mul(tf.maximum(tb, tMin), 2));
  const gamma = tf.sub(1, postVar);
  return {gamma, b: tf.sqrt(tf.div(postVar, gamma)), masked: tf.less(tb, tMin)};
}

/** xHat `[batch, dim]` = clip(mu/gamma - B epsHat, -1, 1), 0 where t < tMin. */
export function continuousPrediction(mu: tf.Tensor, epsHat: tf.Tensor, t: tf.Tensor, sigma1: number,
                                     tMin = 1e-6): tf.Tensor {
  return tf.tidy(() => {
    const {gamma, b, masked} = factors(t, sigma1, tMin);
    const xHat = tf.clipByValue(tf.sub(tf.div(mu, gamma), tf.mul(b, epsHat)), -1, 1);
    return tf.where(tf.broadcastTo(masked, xHat.shape), tf.zerosLike(xHat), xHat);
  });
}

/** (muX, sigmaX) `[batch, dim]` of the discretised output distribution. */
export function discretisedParams(mu: tf.Tensor, muEps: tf.Tensor, lnSigmaEps: tf.Tensor, t: tf.Tensor,
                                  sigma1: number, tMin = 1e-6, minStd = 1e-3, maxStd = 10) {
  return tf.tidy(() => {
    const {gamma, b, masked} = factors(t, sigma1, tMin);
    const m = tf.broadcastTo(masked, mu.shape);
    const muX = tf.where(m, tf.zerosLike(mu), tf.sub(tf.div(mu, gamma), tf.mul(b, muEps)));
    const s = tf.clipByValue(tf.mul(b, tf.exp(tf.clipByValue(lnSigmaEps, -10, 10))), minStd, maxStd);
    return {muX, sigmaX: tf.where(m, tf.onesLike(s), s)};
  });
}

/** Bin probabilities `[batch, dim, K]` of N(muX, sigmaX) discretised on K bins (tails into the outer bins). */
export function discretisedBinProbs(muX: tf.Tensor, sigmaX: tf.Tensor, numBins: number): tf.Tensor {
  return tf.tidy(() => {
    const bounds = tf.tensor1d(Float32Array.from({length: numBins - 1}, (_, j) => -1 + 2 * (j + 1) / numBins));
    const z = tf.div(tf.sub(bounds, tf.expandDims(muX, -1)), tf.expandDims(sigmaX, -1));  // [batch, dim, K - 1]
    const upper = normalUpperTailOps(z);  // P(value > boundary j)
    const ones = tf.onesLike(tf.slice(upper, [0, 0, 0], [-1, -1, 1]));
    const withEnds = tf.concat([ones, upper, tf.zerosLike(ones)], 2);  // [batch, dim, K + 1]
    const p = tf.sub(tf.slice(withEnds, [0, 0, 0], [-1, -1, numBins]), tf.slice(withEnds, [0, 0, 1], [-1, -1, numBins]));
    return tf.maximum(p, 0);
  });
}

/** Logits `[batch, dim, K]` from raw discrete outputs: K = 2 takes one logit l per dim as [0, l]. */
export function discreteLogits(raw: tf.Tensor, batch: number, numClasses: number): tf.Tensor {
  return tf.tidy(() => {
    if (numClasses === 2) {
      const l = tf.reshape(raw, [batch, -1, 1]);
      return tf.concat([tf.zerosLike(l), l], 2);
    }
    return tf.reshape(raw, [batch, -1, numClasses]);
  });
}
