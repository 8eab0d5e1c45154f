/**
 * Float64 oracle of `bfnDiscreteLoss`, read against the spec's discrete column:
 * L = K beta1 t sum_d sum_k (onehot(x_d) - softmax(logits_d))_k^2.
 */
export function discreteLossReference(x: ArrayLike<number>, logits: Float64Array, t: Float64Array, numClasses: number,
                                      beta1: number): Float64Array {
  const batch = t.length, dim = x.length / batch, K = numClasses;
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) {
      const row = (b * dim + d) * K;
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, logits[row + k]);
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(logits[row + k] - max);
      for (let k = 0; k < K; k++) {
        const p = Math.exp(logits[row + k] - max) / z;
        const e = k === x[b * dim + d] ? 1 : 0;
        sum += (e - p) ** 2;
      }
    }
    out[b] = K * beta1 * t[b] * sum;
  }
  return out;
}
