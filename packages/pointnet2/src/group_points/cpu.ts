/**
 * Host kernels (cpu, wasm) of grouping (row gather) and its gradient (row scatter-add). Both write straight into
 * the output tensor's storage (on wasm: the heap, so the gathered [B, S, K, C] block is neither copied nor placed
 * on fresh pages); rows of 16 or more channels move with `TypedArray.set`, narrow rows (xyz) with a plain loop.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface GroupGradAttrs {
  /** Points N of the features the gradient flows back to. */
  n: number;
}

/** Below this many channels a plain loop beats `set(subarray)` (which allocates a view per row). */
const ROW_COPY_MIN = 16;

function groupKernel({features, idx}: Record<string, HostTensor>) {
  const [batch, n, c] = features.shape;
  const [, s, k] = idx.shape;
  return [{shape: [batch, s, k, c], write: (out: Float32Array | Int32Array, ins: Record<string, HostTensor>) => {
    const f = ins.features.values as Float32Array, id = ins.idx.values as Int32Array, o = out as Float32Array;
    for (let b = 0; b < batch; b++) {
      const rowBase = b * n;
      if (c >= ROW_COPY_MIN) {
        for (let r = b * s * k, end = (b + 1) * s * k; r < end; r++) {
          const src = (rowBase + id[r]) * c;
          o.set(f.subarray(src, src + c), r * c);
        }
      } else {
        for (let r = b * s * k, end = (b + 1) * s * k; r < end; r++) {
          const src = (rowBase + id[r]) * c, dst = r * c;
          for (let ch = 0; ch < c; ch++) o[dst + ch] = f[src + ch];
        }
      }
    }
  }}];
}

function groupGradKernel({dy}: Record<string, HostTensor>, {n}: GroupGradAttrs) {
  const [batch, s, k, c] = dy.shape;
  return [{shape: [batch, n, c], write: (out: Float32Array | Int32Array, ins: Record<string, HostTensor>) => {
    const g = ins.dy.values as Float32Array, id = ins.idx.values as Int32Array, acc = out as Float32Array;  // [B, N, C]
    acc.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let r = b * s * k, end = (b + 1) * s * k; r < end; r++) {
        const dst = (b * n + id[r]) * c, src = r * c;
        for (let ch = 0; ch < c; ch++) acc[dst + ch] += g[src + ch];
      }
    }
  }}];
}

/** `{cpu, wasm}` kernels of `TfjsExtGroupPoints`. */
export const groupPointsHostKernels = hostKernels<object>(groupKernel);
/** `{cpu, wasm}` kernels of `TfjsExtGroupPointsGrad`. */
export const groupPointsGradHostKernels = hostKernels<GroupGradAttrs>(groupGradKernel);
