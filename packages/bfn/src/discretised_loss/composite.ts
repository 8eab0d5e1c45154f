/**
 * `bfnDiscretisedLoss` from public tf ops (differentiable by autograd, WebGL-safe) and its closed-form
 * gradient. The discretised mean uses the same tail-sum form as the host kernels (see cpu.ts): it
 * materialises `[batch, dim, K - 1]` standardised boundaries.
 */
import * as tf from '@tensorflow/tfjs';
import {normalUpperTailOps, timeFactorOps} from '../shared/composite_math';
import type {DiscretisedAttrs} from './cpu';

/** Interior boundaries -1 + 2j/K, j = 1..K-1, by closed form: `[1, 1, K - 1]`. */
function boundaries(numBins: number): tf.Tensor {
  return tf.reshape(tf.tensor1d(Float32Array.from({length: numBins - 1}, (_, j) => -1 + 2 * (j + 1) / numBins)),
                    [1, 1, numBins - 1]);
}

function outputParamOps(mu: tf.Tensor, muEps: tf.Tensor, lnSigmaEps: tf.Tensor, t: tf.Tensor, a: DiscretisedAttrs) {
  const f = timeFactorOps(t, a.sigma1, a.tMin);
  const live = tf.sub(1, f.masked);  // [batch, 1]
  const muX = tf.mul(tf.sub(tf.mul(mu, f.invGamma), tf.mul(f.b, muEps)), live);  // [batch, dim], 0 where masked
  const raw = tf.mul(f.b, tf.exp(tf.clipByValue(lnSigmaEps, -10, 10)));
  const sigmaX = tf.add(tf.mul(tf.clipByValue(raw, a.minStd, a.maxStd), live), f.masked);  // 1 where masked
  return {muX, sigmaX, raw, ...f};
}

/** Standardised boundaries z_j `[batch, dim, K - 1]`. */
function standardised(muX: tf.Tensor, sigmaX: tf.Tensor, numBins: number): tf.Tensor {
  return tf.div(tf.sub(boundaries(numBins), tf.expandDims(muX, 2)), tf.expandDims(sigmaX, 2));
}

export function discretisedLossComposite(x: tf.Tensor, mu: tf.Tensor, muEps: tf.Tensor, lnSigmaEps: tf.Tensor,
                                         t: tf.Tensor, a: DiscretisedAttrs): tf.Tensor {
  const {muX, sigmaX, weight} = outputParamOps(mu, muEps, lnSigmaEps, t, a);
  const w = 2 / a.numBins;
  const tails = tf.sum(normalUpperTailOps(standardised(muX, sigmaX, a.numBins)), 2);  // [batch, dim]
  const kHat = tf.add(tf.mul(tails, w), -1 + w / 2);
  return tf.mul(tf.reshape(weight, [-1]), tf.sum(tf.square(tf.sub(x, kHat)), 1));
}

/** [dL/d muEps, dL/d lnSigmaEps] `[batch, dim]` (closed form; runs where the backward kernel is missing). */
export function discretisedLossGradComposite(dy: tf.Tensor, x: tf.Tensor, mu: tf.Tensor, muEps: tf.Tensor,
                                             lnSigmaEps: tf.Tensor, t: tf.Tensor, a: DiscretisedAttrs): tf.Tensor[] {
  const {muX, sigmaX, raw, b, weight, masked} = outputParamOps(mu, muEps, lnSigmaEps, t, a);
  const w = 2 / a.numBins;
  const z = standardised(muX, sigmaX, a.numBins);
  const tails = tf.sum(normalUpperTailOps(z), 2);
  const kHat = tf.add(tf.mul(tails, w), -1 + w / 2);
  const phi = tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  const dMuX = tf.div(tf.mul(tf.sum(phi, 2), w), sigmaX);
  const dSigma = tf.div(tf.mul(tf.sum(tf.mul(phi, z), 2), w), sigmaX);
  const live = tf.sub(1, masked);
  const dKHat = tf.mul(tf.mul(tf.mul(tf.reshape(dy, [-1, 1]), weight), tf.mul(tf.sub(kHat, x), 2)), live);
  const inRange = (v: tf.Tensor, lo: number, hi: number) =>
      tf.cast(tf.logicalAnd(tf.greaterEqual(v, lo), tf.lessEqual(v, hi)), 'float32');
  const sigmaLive = tf.mul(inRange(lnSigmaEps, -10, 10), inRange(raw, a.minStd, a.maxStd));
  return [tf.neg(tf.mul(tf.mul(dKHat, dMuX), b)), tf.mul(tf.mul(tf.mul(dKHat, dSigma), sigmaX), sigmaLive)];
}
