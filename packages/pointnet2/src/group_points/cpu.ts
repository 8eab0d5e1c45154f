/** Host kernels (cpu, wasm) of grouping (row gather) and its gradient (row scatter-add, float64 accumulators). */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface GroupGradAttrs {
  /** Points N of the features the gradient flows back to. */
  n: number;
}

function groupKernel({features, idx}: Record<string, HostTensor>) {
  const [batch, n, c] = features.shape;
  const [, s, k] = idx.shape;
  const f = features.values as Float32Array, id = idx.values as Int32Array;
  const out = new Float32Array(batch * s * k * c);  // [B, S, K, C]
  for (let b = 0; b < batch; b++) {
    for (let r = b * s * k, end = (b + 1) * s * k; r < end; r++) {
      const src = (b * n + id[r]) * c;
      out.set(f.subarray(src, src + c), r * c);
    }
  }
  return [{shape: [batch, s, k, c], values: out}];
}

function groupGradKernel({dy, idx}: Record<string, HostTensor>, {n}: GroupGradAttrs) {
  const [batch, s, k, c] = dy.shape;
  const g = dy.values as Float32Array, id = idx.values as Int32Array;
  const acc = new Float64Array(batch * n * c);  // [B, N, C]
  for (let b = 0; b < batch; b++) {
    for (let r = b * s * k, end = (b + 1) * s * k; r < end; r++) {
      const dst = (b * n + id[r]) * c, src = r * c;
      for (let ch = 0; ch < c; ch++) acc[dst + ch] += g[src + ch];
    }
  }
  return [{shape: [batch, n, c], values: Float32Array.from(acc)}];
}

/** `{cpu, wasm}` kernels of `TfjsExtGroupPoints`. */
export const groupPointsHostKernels = hostKernels<object>(groupKernel);
/** `{cpu, wasm}` kernels of `TfjsExtGroupPointsGrad`. */
export const groupPointsGradHostKernels = hostKernels<GroupGradAttrs>(groupGradKernel);
