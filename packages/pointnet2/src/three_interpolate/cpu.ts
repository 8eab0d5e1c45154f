/**
 * Host kernels (cpu, wasm) of 3-NN interpolation and of its gradient in the features (scatter-add), both writing
 * straight into the output tensor's storage (on wasm: the heap).
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface InterpolateGradAttrs {
  /** Known points m the gradient flows back to. */
  m: number;
}

function interpolateKernel({features, idx}: Record<string, HostTensor>) {
  const [batch, m, c] = features.shape;
  const n = idx.shape[1];
  return [{shape: [batch, n, c], write: (out: Float32Array | Int32Array, ins: Record<string, HostTensor>) => {
    const f = ins.features.values as Float32Array, id = ins.idx.values as Int32Array;
    const w = ins.weight.values as Float32Array, o = out as Float32Array;  // [B, n, C]
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        const r = (b * n + i) * 3, dst = (b * n + i) * c;
        const s0 = (b * m + id[r]) * c, s1 = (b * m + id[r + 1]) * c, s2 = (b * m + id[r + 2]) * c;
        const w0 = w[r], w1 = w[r + 1], w2 = w[r + 2];
        for (let ch = 0; ch < c; ch++) o[dst + ch] = w0 * f[s0 + ch] + w1 * f[s1 + ch] + w2 * f[s2 + ch];
      }
    }
  }}];
}

function interpolateGradKernel({dy}: Record<string, HostTensor>, {m}: InterpolateGradAttrs) {
  const [batch, n, c] = dy.shape;
  return [{shape: [batch, m, c], write: (out: Float32Array | Int32Array, ins: Record<string, HostTensor>) => {
    const g = ins.dy.values as Float32Array, id = ins.idx.values as Int32Array, w = ins.weight.values as Float32Array;
    const acc = out as Float32Array;  // [B, m, C]
    acc.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < n; i++) {
        const src = (b * n + i) * c;
        for (let j = 0; j < 3; j++) {
          const r = (b * n + i) * 3 + j;
          const dst = (b * m + id[r]) * c, wj = w[r];
          for (let ch = 0; ch < c; ch++) acc[dst + ch] += wj * g[src + ch];
        }
      }
    }
  }}];
}

/** `{cpu, wasm}` kernels of `TfjsExtThreeInterpolate`. */
export const threeInterpolateHostKernels = hostKernels<object>(interpolateKernel);
/** `{cpu, wasm}` kernels of `TfjsExtThreeInterpolateGrad`. */
export const threeInterpolateGradHostKernels = hostKernels<InterpolateGradAttrs>(interpolateGradKernel);
