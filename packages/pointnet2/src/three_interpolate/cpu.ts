/** Host kernels (cpu, wasm) of 3-NN interpolation and of its gradient in the features (scatter-add). */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface InterpolateGradAttrs {
  /** Known points m the gradient flows back to. */
  m: number;
}

function interpolateKernel({features, idx, weight}: Record<string, HostTensor>) {
  const [batch, m, c] = features.shape;
  const n = idx.shape[1];
  const f = features.values as Float32Array, id = idx.values as Int32Array, w = weight.values as Float32Array;
  const out = new Float32Array(batch * n * c);  // [B, n, C]
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const r = (b * n + i) * 3, o = (b * n + i) * c;
      const s0 = (b * m + id[r]) * c, s1 = (b * m + id[r + 1]) * c, s2 = (b * m + id[r + 2]) * c;
      const w0 = w[r], w1 = w[r + 1], w2 = w[r + 2];
      for (let ch = 0; ch < c; ch++) out[o + ch] = w0 * f[s0 + ch] + w1 * f[s1 + ch] + w2 * f[s2 + ch];
    }
  }
  return [{shape: [batch, n, c], values: out}];
}

function interpolateGradKernel({dy, idx, weight}: Record<string, HostTensor>, {m}: InterpolateGradAttrs) {
  const [batch, n, c] = dy.shape;
  const g = dy.values as Float32Array, id = idx.values as Int32Array, w = weight.values as Float32Array;
  const acc = new Float64Array(batch * m * c);  // [B, m, C]
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const o = (b * n + i) * c;
      for (let j = 0; j < 3; j++) {
        const r = (b * n + i) * 3 + j;
        const dst = (b * m + id[r]) * c, wj = w[r];
        for (let ch = 0; ch < c; ch++) acc[dst + ch] += wj * g[o + ch];
      }
    }
  }
  return [{shape: [batch, m, c], values: Float32Array.from(acc)}];
}

/** `{cpu, wasm}` kernels of `TfjsExtThreeInterpolate`. */
export const threeInterpolateHostKernels = hostKernels<object>(interpolateKernel);
/** `{cpu, wasm}` kernels of `TfjsExtThreeInterpolateGrad`. */
export const threeInterpolateGradHostKernels = hostKernels<InterpolateGradAttrs>(interpolateGradKernel);
