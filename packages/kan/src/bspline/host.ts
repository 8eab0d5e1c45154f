/**
 * Host kernels (cpu, wasm) of the B-spline basis and its x-derivative: per (sample, feature), all bases of
 * every order in one scratch row, updated in place from order 0 up (Cox-de Boor), in float64.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';

export interface BasisAttrs {
  order: number;
}

/**
 * Fills `scratch[0 .. nKnots - 2 - p]` with B_{m,p}(x) for p = `order` (float64), from order 0 up.
 * In place: B_{m,p} needs B_{m,p-1} and B_{m+1,p-1}, so an ascending sweep reads b[m + 1] before it changes.
 */
export function basisRow(x: number, knots: Float32Array | Float64Array, offset: number, nKnots: number, order: number,
                         scratch: Float64Array): void {
  for (let m = 0; m < nKnots - 1; m++) {
    scratch[m] = x >= knots[offset + m] && x < knots[offset + m + 1] ? 1 : 0;
  }
  for (let p = 1; p <= order; p++) {
    for (let m = 0; m < nKnots - 1 - p; m++) {
      const tm = knots[offset + m], tm1 = knots[offset + m + 1];
      const tmp = knots[offset + m + p], tmp1 = knots[offset + m + p + 1];
      scratch[m] = (x - tm) / (tmp - tm) * scratch[m] + (tmp1 - x) / (tmp1 - tm1) * scratch[m + 1];
    }
  }
}

/**
 * Fills `out[0 .. nBasis - 1]` with dB_{m,order}/dx at x (float64), using `scratch` (length >= nKnots) for the
 * order - 1 bases: dB_{m,k} = k (B_{m,k-1} / (t_{m+k} - t_m) - B_{m+1,k-1} / (t_{m+k+1} - t_{m+1})).
 */
export function basisDerivativeRow(x: number, knots: Float32Array | Float64Array, offset: number, nKnots: number,
                                   order: number, scratch: Float64Array, out: Float64Array | Float32Array,
                                   outOffset = 0): void {
  basisRow(x, knots, offset, nKnots, order - 1, scratch);
  for (let m = 0; m < nKnots - 1 - order; m++) {
    const t = offset + m;
    out[outOffset + m] = order * (scratch[m] / (knots[t + order] - knots[t]) -
                                  scratch[m + 1] / (knots[t + order + 1] - knots[t + 1]));
  }
}

function basisKernel(derivative: boolean) {
  return ({x, grid}: Record<string, HostTensor>, {order}: BasisAttrs) => {
    const [batch, nIn] = x.shape;
    const nKnots = grid.shape[1];
    const nBasis = nKnots - 1 - order;
    const xs = x.values as Float32Array, knots = grid.values as Float32Array;
    const out = new Float32Array(batch * nIn * nBasis);  // [batch, nIn, nBasis]
    const scratch = new Float64Array(nKnots);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < nIn; i++) {
        const xv = xs[b * nIn + i];
        const offset = i * nKnots;
        const o = (b * nIn + i) * nBasis;
        if (!derivative) {
          basisRow(xv, knots, offset, nKnots, order, scratch);
          for (let m = 0; m < nBasis; m++) out[o + m] = scratch[m];
        } else {
          basisDerivativeRow(xv, knots, offset, nKnots, order, scratch, out, o);
        }
      }
    }
    return [{shape: [batch, nIn, nBasis], values: out}];
  };
}

/** `{cpu, wasm}` kernels of `TfjsExtBSplineBasis`. */
export const bsplineBasisHostKernels = hostKernels<BasisAttrs>(basisKernel(false));
/** `{cpu, wasm}` kernels of `TfjsExtBSplineBasisDerivative`. */
export const bsplineBasisDerivativeHostKernels = hostKernels<BasisAttrs>(basisKernel(true));
