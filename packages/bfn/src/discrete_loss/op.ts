/**
 * `bfnDiscreteLoss(x, logits, t, {beta1})`: the continuous-time BFN loss of discrete data, per example in
 * nats, `[batch]`.
 */
import * as tf from '@tensorflow/tfjs';
import {assertArg, assertDtype, defineOp, shapeString} from '@tfjs-ext/core';
import {assertKnownKeys, assertTensor, assertTimes, assertValuesInRange} from '../shared/checks';
import {stopGradient} from '../shared/composite_math';
import {discreteLossComposite} from './composite';
import {DiscreteAttrs, discreteLossHostKernels} from './cpu';
import {discreteLossGradFunc} from './grad';
import {discreteLossWebGPU} from './webgpu';

export const BFN_DISCRETE_LOSS = 'TfjsExtBfnDiscreteLoss';

type Inputs = {x: tf.Tensor2D; logits: tf.Tensor3D; t: tf.Tensor1D};

export const discreteLossOp = defineOp<Inputs, DiscreteAttrs>({
  kernelName: BFN_DISCRETE_LOSS,
  kernels: {...discreteLossHostKernels, webgpu: discreteLossWebGPU},
  gradient: {gradFunc: discreteLossGradFunc, inputsToSave: ['x', 'logits', 't']},
  composite: ({x, logits, t}, {beta1}) => discreteLossComposite(x, logits, stopGradient(t), beta1),
});

/** Options of {@link bfnDiscreteLoss}. */
export interface DiscreteLossOptions {
  /** Final accuracy beta(1) > 0 (already squared: `sqrtBeta1 ** 2`). */
  beta1: number;
}

/**
 * Continuous-time loss of a BFN on discrete data (K classes), per example in nats summed over all non-batch
 * dims: `K beta1 t sum_d sum_k (onehot(x_d) - softmax(logits_d))_k^2`. Differentiable in `logits`.
 *
 * Values of `x` (integers in [0, K)) and `t` (in [0, 1]) are checked on host backends (cpu, wasm) only.
 *
 * @param x class indices `[batch, ...]` int32.
 * @param logits network output `[batch, ..., K]` (for K = 2 from one logit l: `[0, l]`).
 * @param t `[batch]` in [0, 1].
 * @returns `[batch]` nats.
 *
 * @example
 * ```ts
 * const x = tf.tensor2d([[0, 1, 1]], [1, 3], 'int32');
 * const logits = tf.randomNormal([1, 3, 2]);
 * const loss = bfnDiscreteLoss(x, logits, tf.tensor1d([0.4]), {beta1: 9});  // [1]
 * ```
 */
export function bfnDiscreteLoss(x: tf.Tensor, logits: tf.Tensor, t: tf.Tensor, options: DiscreteLossOptions): tf.Tensor1D {
  const op = 'bfnDiscreteLoss';
  assertKnownKeys(op, options, ['beta1']);
  assertArg(options !== undefined && options !== null, op, () => 'options {beta1} are required');
  const {beta1} = options;
  assertArg(typeof beta1 === 'number' && beta1 > 0 && Number.isFinite(beta1), op,
            () => `beta1 must be a positive number, got ${beta1}`);
  assertTensor(x, op, 'x', 1, '[batch, ...]');
  assertDtype(x, ['int32'], op, 'x');
  assertTensor(logits, op, 'logits', 2, '[batch, ..., K]');
  assertDtype(logits, ['float32'], op, 'logits');
  const K = logits.shape[logits.rank - 1];
  assertArg(logits.rank === x.rank + 1 && x.shape.every((s, i) => s === logits.shape[i]), op, () =>
      `logits must have shape [...x.shape, K] = [${x.shape.join(', ')}, K], got ${shapeString(logits.shape)}`);
  assertArg(K >= 2, op, () => `logits must have K >= 2 classes in its last dim, got ${K}`);
  const batch = x.shape[0];
  assertTimes(t, batch, op);
  assertValuesInRange(t, 0, 1, op, 't');
  assertValuesInRange(x, 0, K - 1, op, 'x', true);
  return tf.tidy(() => discreteLossOp.run({x: tf.reshape(x, [batch, -1]) as tf.Tensor2D,
                                           logits: tf.reshape(logits, [batch, -1, K]) as tf.Tensor3D,
                                           t: t as tf.Tensor1D}, {beta1}) as tf.Tensor1D);
}
