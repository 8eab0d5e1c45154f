/**
 * `bfnContinuousLoss(x, mu, epsHat, t, {sigma1, tMin})`: the continuous-time BFN loss of continuous data,
 * per example in nats, `[batch]`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, defineOp} from '@tfjs-ext/core';
import {assertKnownKeys, assertOpenInterval, assertSameShape, assertTensor, assertTimes,
        assertValuesInRange} from '../shared/checks';
import {stopGradient} from '../shared/composite_math';
import {continuousLossComposite} from './composite';
import {ContinuousAttrs, continuousLossHostKernels} from './cpu';
import {continuousLossGradFunc} from './grad';
import {continuousLossWebGPU} from './webgpu';

export const BFN_CONTINUOUS_LOSS = 'TfjsExtBfnContinuousLoss';

type Inputs = {x: tf.Tensor2D; mu: tf.Tensor2D; epsHat: tf.Tensor2D; t: tf.Tensor1D};

export const continuousLossOp = defineOp<Inputs, ContinuousAttrs>({
  kernelName: BFN_CONTINUOUS_LOSS,
  kernels: {...continuousLossHostKernels, webgpu: continuousLossWebGPU},
  gradient: {gradFunc: continuousLossGradFunc, inputsToSave: ['x', 'mu', 'epsHat', 't']},
  composite: ({x, mu, epsHat, t}, {sigma1, tMin}) =>
      continuousLossComposite(stopGradient(x), stopGradient(mu), epsHat, stopGradient(t), sigma1, tMin),
});

/** Options of {@link bfnContinuousLoss}. */
export interface ContinuousLossOptions {
  /** Standard deviation of the flow at t = 1, in (0, 1) (the reference's `sqrt(min_variance)`). */
  sigma1: number;
  /** Below this time the prediction is xHat = 0 (default 1e-6). */
  tMin?: number;
}

/**
 * Continuous-time loss of a BFN on continuous data, per example in nats summed over all non-batch dims:
 * `-ln(sigma1) sigma1^(-2t) sum (x - xHat)^2`, `gamma = 1 - sigma1^(2t)`,
 * `xHat = clip(mu/gamma - sqrt((1-gamma)/gamma) epsHat, -1, 1)`, `xHat = 0` where `t < tMin`.
 * Differentiable in `epsHat` only (the flow sample `mu`, the data and `t` get zero gradients).
 *
 * Values of `t` (in [0, 1]) are checked on host backends (cpu, wasm); on device backends that would cost a
 * synchronous read, so they are not.
 *
 * @param x data `[batch, ...]` float32 in [-1, 1].
 * @param mu flow sample (input mean) `[batch, ...]`.
 * @param epsHat network output (predicted noise) `[batch, ...]`.
 * @param t times `[batch]` in [0, 1].
 * @returns `[batch]` nats.
 *
 * @example
 * ```ts
 * const t = tf.tensor1d([0.3, 0.9]);
 * const x = tf.tensor2d([[0.5, -0.2], [0.1, 0.9]]);
 * const loss = bfnContinuousLoss(x, tf.mul(x, 0.9), epsHat, t, {sigma1: Math.sqrt(1e-3)});  // [2]
 * ```
 */
export function bfnContinuousLoss(x: tf.Tensor, mu: tf.Tensor, epsHat: tf.Tensor, t: tf.Tensor,
                                  options: ContinuousLossOptions): tf.Tensor1D {
  const op = 'bfnContinuousLoss';
  assertKnownKeys(op, options, ['sigma1', 'tMin']);
  assertArg(options !== undefined && options !== null, op, () => 'options {sigma1} are required');
  const {sigma1, tMin = 1e-6} = options;
  assertOpenInterval(sigma1, 0, 1, op, 'sigma1');
  assertArg(typeof tMin === 'number' && tMin >= 0 && tMin < 1, op, () => `tMin must be a number in [0, 1), got ${tMin}`);
  assertTensor(x, op, 'x', 2, '[batch, ...]');
  assertDtype(x, ['float32'], op, 'x');
  assertTensor(mu, op, 'mu', 2, '[batch, ...]');
  assertTensor(epsHat, op, 'epsHat', 2, '[batch, ...]');
  assertSameShape(mu, x.shape, op, 'mu', 'x');
  assertSameShape(epsHat, x.shape, op, 'epsHat', 'x');
  assertDtype(mu, ['float32'], op, 'mu');
  assertDtype(epsHat, ['float32'], op, 'epsHat');
  const batch = x.shape[0];
  assertTimes(t, batch, op);
  assertValuesInRange(t, 0, 1, op, 't');
  return tf.tidy(() => {
    const flat: [number, number] = [batch, -1];  // [batch, dim]
    return continuousLossOp.run({x: tf.reshape(x, flat) as tf.Tensor2D, mu: tf.reshape(mu, flat) as tf.Tensor2D,
                                 epsHat: tf.reshape(epsHat, flat) as tf.Tensor2D, t: t as tf.Tensor1D},
                                {sigma1, tMin}) as tf.Tensor1D;
  });
}
