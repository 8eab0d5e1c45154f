/**
 * `bfnDiscretisedLoss(x, mu, muEps, lnSigmaEps, t, {sigma1, numBins, tMin, minStd, maxStd})`: the
 * continuous-time BFN loss of discretised data, per example in nats, `[batch]`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, defineOp} from '@tfjs-ext/core';
import {assertKnownKeys, assertOpenInterval, assertSameShape, assertTensor, assertTimes,
        assertValuesInRange} from '../shared/checks';
import {stopGradient} from '../shared/composite_math';
import {discretisedLossComposite} from './composite';
import {DiscretisedAttrs, discretisedLossHostKernels} from './cpu';
import {discretisedLossGradFunc} from './grad';
import {discretisedLossWebGPU} from './webgpu';

export const BFN_DISCRETISED_LOSS = 'TfjsExtBfnDiscretisedLoss';

type Inputs = {x: tf.Tensor2D; mu: tf.Tensor2D; muEps: tf.Tensor2D; lnSigmaEps: tf.Tensor2D; t: tf.Tensor1D};

export const discretisedLossOp = defineOp<Inputs, DiscretisedAttrs>({
  kernelName: BFN_DISCRETISED_LOSS,
  kernels: {...discretisedLossHostKernels, webgpu: discretisedLossWebGPU},
  gradient: {gradFunc: discretisedLossGradFunc, inputsToSave: ['x', 'mu', 'muEps', 'lnSigmaEps', 't']},
  composite: ({x, mu, muEps, lnSigmaEps, t}, attrs) =>
      discretisedLossComposite(stopGradient(x), stopGradient(mu), muEps, lnSigmaEps, stopGradient(t), attrs),
});

/** Options of {@link bfnDiscretisedLoss}. */
export interface DiscretisedLossOptions {
  /** Standard deviation of the flow at t = 1, in (0, 1). */
  sigma1: number;
  /** Number of bins K >= 2 on [-1, 1]. */
  numBins: number;
  /** Below this time the output distribution is N(0, 1) (default 1e-6). */
  tMin?: number;
  /** Clamp of sigmaX from below (default 1e-3). */
  minStd?: number;
  /** Clamp of sigmaX from above (default 10). */
  maxStd?: number;
}

/**
 * Continuous-time loss of a BFN on discretised data (K bins on [-1, 1]), per example in nats summed over all
 * non-batch dims: `-ln(sigma1) sigma1^(-2t) sum (x - kHat)^2`, `kHat` the mean of N(muX, sigmaX) discretised on
 * the bins (first bin takes the left tail, last the right), `muX = mu/gamma - sqrt((1-gamma)/gamma) muEps`,
 * `sigmaX = clamp(sqrt((1-gamma)/gamma) exp(clamp(lnSigmaEps, -10, 10)), minStd, maxStd)`; `muX = 0,
 * sigmaX = 1` where `t < tMin`. Differentiable in `muEps` and `lnSigmaEps`.
 *
 * Values of `x` (in [-1, 1]) and `t` (in [0, 1]) are checked on host backends (cpu, wasm) only.
 *
 * @param x data `[batch, ...]` in [-1, 1] (bin centres).
 * @param mu flow sample `[batch, ...]`.
 * @param muEps network output: predicted noise mean `[batch, ...]`.
 * @param lnSigmaEps network output: log of the predicted noise deviation `[batch, ...]`.
 * @param t `[batch]` in [0, 1].
 * @returns `[batch]` nats.
 *
 * @example
 * ```ts
 * const loss = bfnDiscretisedLoss(x, mu, muEps, lnSigmaEps, t, {sigma1: Math.sqrt(1e-3), numBins: 16});
 * ```
 */
export function bfnDiscretisedLoss(x: tf.Tensor, mu: tf.Tensor, muEps: tf.Tensor, lnSigmaEps: tf.Tensor,
                                   t: tf.Tensor, options: DiscretisedLossOptions): tf.Tensor1D {
  const op = 'bfnDiscretisedLoss';
  assertKnownKeys(op, options, ['sigma1', 'numBins', 'tMin', 'minStd', 'maxStd']);
  assertArg(options !== undefined && options !== null, op, () => 'options {sigma1, numBins} are required');
  const {sigma1, numBins, tMin = 1e-6, minStd = 1e-3, maxStd = 10} = options;
  assertOpenInterval(sigma1, 0, 1, op, 'sigma1');
  assertArg(Number.isInteger(numBins) && numBins >= 2, op, () => `numBins must be an integer >= 2, got ${numBins}`);
  assertArg(typeof tMin === 'number' && tMin >= 0 && tMin < 1, op, () => `tMin must be a number in [0, 1), got ${tMin}`);
  assertArg(typeof minStd === 'number' && minStd > 0, op, () => `minStd must be a positive number, got ${minStd}`);
  assertArg(typeof maxStd === 'number' && maxStd > minStd, op, () => `maxStd must be a number > minStd, got ${maxStd}`);
  assertTensor(x, op, 'x', 2, '[batch, ...]');
  assertDtype(x, ['float32'], op, 'x');
  const named: Array<[tf.Tensor, string]> = [[mu, 'mu'], [muEps, 'muEps'], [lnSigmaEps, 'lnSigmaEps']];
  for (const [v, name] of named) {
    assertTensor(v, op, name, 2, '[batch, ...]');
    assertSameShape(v, x.shape, op, name, 'x');
    assertDtype(v, ['float32'], op, name);
  }
  const batch = x.shape[0];
  assertTimes(t, batch, op);
  assertValuesInRange(t, 0, 1, op, 't');
  assertValuesInRange(x, -1, 1, op, 'x');
  return tf.tidy(() => {
    const flat: [number, number] = [batch, -1];  // [batch, dim]
    const r = (v: tf.Tensor) => tf.reshape(v, flat) as tf.Tensor2D;
    return discretisedLossOp.run({x: r(x), mu: r(mu), muEps: r(muEps), lnSigmaEps: r(lnSigmaEps), t: t as tf.Tensor1D},
                                 {sigma1, numBins, tMin, minStd, maxStd}) as tf.Tensor1D;
  });
}
