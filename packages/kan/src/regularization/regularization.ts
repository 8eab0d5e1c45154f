/**
 * The paper's sample-based sparsity regulariser. Per edge, `v_ji = mean_batch |phi_ji(x_i)| / range_i`
 * (pykan's normalisation: the input feature's grid range); per layer `L1 = sum v` plus the entropies of the
 * row and column distributions `p = v / (sum v + 1)` (as pykan), summed over layers.
 */
import * as tf from '@tensorflow/tfjs';
import {assertKnownKeys} from '@tfjs-ext/core';
import {kanLayers} from '../layers/kan';

/** Per-layer edge scores `v` `[nIn, nOut]` on the samples `x` (differentiable). */
export function edgeScores(model: tf.LayersModel, x: tf.Tensor2D): tf.Tensor2D[] {
  const layers = kanLayers(model);
  const scores: tf.Tensor2D[] = [];
  let h: tf.Tensor2D = x;
  for (const layer of layers) {
    const [v, next] = tf.tidy(() => {
      const acts = layer.edgeActivations(h);  // [batch, nIn, nOut]
      const grid = layer.grid.read();  // [nIn, nKnots]
      const nKnots = grid.shape[1] as number;
      const range = tf.add(tf.sub(tf.slice(grid, [0, nKnots - 1], [-1, 1]), tf.slice(grid, [0, 0], [-1, 1])), 1e-4);
      return [tf.div(tf.mean(tf.abs(acts), 0), range) as tf.Tensor2D, tf.sum(acts, 1) as tf.Tensor2D];
    });
    scores.push(v);
    if (h !== x) h.dispose();
    h = next;
  }
  if (h !== x) h.dispose();
  return scores;
}

export interface RegularizationOptions {
  /** Weight of the L1 term (default 1, pykan's lamb_l1). */
  lambdaL1?: number;
  /** Weight of the entropy terms (default 2, pykan's lamb_entropy). */
  lambdaEntropy?: number;
}

/**
 * `sum_layers lambdaL1 * L1 + lambdaEntropy * (H_row + H_col)`; add `lambda *` this to the data loss.
 *
 * @example
 * ```ts
 * const loss = tf.add(mse, tf.mul(1e-2, kanRegularization(model, x)));
 * ```
 */
export function kanRegularization(model: tf.LayersModel, x: tf.Tensor2D,
                                  options: RegularizationOptions = {}): tf.Scalar {
  assertKnownKeys('kanRegularization', options, ['lambdaL1', 'lambdaEntropy']);
  const {lambdaL1 = 1, lambdaEntropy = 2} = options;
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const v of edgeScores(model, x)) {  // v [nIn, nOut]
      const l1 = tf.sum(v);
      // for each output node, the distribution over its inputs; for each input node, over its outputs
      const pIn = tf.div(v, tf.add(tf.sum(v, 0, true), 1));
      const pOut = tf.div(v, tf.add(tf.sum(v, 1, true), 1));
      const entropy = (p: tf.Tensor, axis: number) =>
          tf.neg(tf.mean(tf.sum(tf.mul(p, tf.div(tf.log(tf.add(p, 1e-4)), Math.LN2)), axis)));
      const entropies = tf.add(entropy(pIn, 0), entropy(pOut, 1));
      total = tf.add(total, tf.add(tf.mul(lambdaL1, l1), tf.mul(lambdaEntropy, entropies)));
    }
    return total as tf.Scalar;
  });
}
