/**
 * Host kernels (cpu, wasm) of `bfnDiscreteLoss` over `x [batch, dim]` int32, `logits [batch, dim, K]`.
 * Softmax with the row maximum subtracted. Backward:
 * dL/dl_j = 2 K beta1 t p_j ((p_j - e_j) - sum_k p_k (p_k - e_k)).
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface DiscreteAttrs {
  beta1: number;
}

/** Softmax of `logits[row .. row + K)` into `p` (float64). */
function softmaxRow(logits: ArrayLike<number>, row: number, K: number, p: Float64Array): void {
  if (K === 2) {
    // one exp: p_small = e / (1 + e), e = exp(-|l0 - l1|) <= 1 (no overflow, both probabilities to full precision)
    const d = logits[row] - logits[row + 1];
    const e = Math.exp(d > 0 ? -d : d), small = e / (1 + e), large = 1 / (1 + e);
    p[0] = d > 0 ? large : small;
    p[1] = d > 0 ? small : large;
    return;
  }
  let max = -Infinity;
  for (let k = 0; k < K; k++) max = Math.max(max, logits[row + k]);
  let z = 0;
  for (let k = 0; k < K; k++) {
    p[k] = Math.exp(logits[row + k] - max);
    z += p[k];
  }
  for (let k = 0; k < K; k++) p[k] /= z;
}

export const discreteLossHostKernels = hostKernels<DiscreteAttrs>(
    ({x, logits, t}: Record<string, HostTensor>, {beta1}) => {
      const [batch, dim, K] = logits.shape;
      const p = new Float64Array(K);
      const out = new Float32Array(batch);
      for (let b = 0; b < batch; b++) {
        let sum = 0;
        for (let d = 0; d < dim; d++) {
          softmaxRow(logits.values, (b * dim + d) * K, K, p);
          const cls = x.values[b * dim + d];
          for (let k = 0; k < K; k++) {
            const diff = (k === cls ? 1 : 0) - p[k];
            sum += diff * diff;
          }
        }
        out[b] = K * beta1 * t.values[b] * sum;
      }
      return [{shape: [batch], values: out}];
    });

export const discreteLossGradHostKernels = hostKernels<DiscreteAttrs>(
    ({dy, x, logits, t}: Record<string, HostTensor>, {beta1}) => {
      const [batch, dim, K] = logits.shape;
      const p = new Float64Array(K);
      const out = new Float32Array(batch * dim * K);
      for (let b = 0; b < batch; b++) {
        const scale = 2 * K * beta1 * t.values[b] * dy.values[b];
        if (scale === 0) continue;
        for (let d = 0; d < dim; d++) {
          const row = (b * dim + d) * K;
          softmaxRow(logits.values, row, K, p);
          const cls = x.values[b * dim + d];
          let s = 0;
          for (let k = 0; k < K; k++) s += p[k] * (p[k] - (k === cls ? 1 : 0));
          for (let k = 0; k < K; k++) out[row + k] = scale * p[k] * (p[k] - (k === cls ? 1 : 0) - s);
        }
      }
      return [{shape: [batch, dim, K], values: out}];
    });
