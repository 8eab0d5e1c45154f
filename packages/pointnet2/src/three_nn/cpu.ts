/**
 * Host kernel (cpu, wasm) of the 3 nearest neighbours: one scan of the known points per unknown point, in the SIMD
 * wasm module (float32, 4 known points per instruction) where supported, else plain JS.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';
import {asInt32, pointImpls, pointsSimd} from '../simd/module';

function threeNNKernel({unknown, known}: Record<string, HostTensor>) {
  const [batch, n] = unknown.shape;
  const m = known.shape[1];
  if (pointImpls.active().name === 'simd') {
    const rows = batch * n * 3;
    const [d, i] = pointsSimd.call([{data: unknown.values as Float32Array}, {data: known.values as Float32Array}],
                                   [{vectors: rows, width: 1, padded: 1}, {vectors: rows, width: 1, padded: 1}],
                                   (x) => x.three_nn_scratch(m),
                                   (x, [u, k], [dOut, iOut], s) => x.three_nn(u, k, dOut, iOut, batch, n, m, s));
    return [{shape: [batch, n, 3], values: d}, {shape: [batch, n, 3], dtype: 'int32' as const, values: asInt32(i)}];
  }
  const u = unknown.values as Float32Array, k = known.values as Float32Array;
  const dist2 = new Float32Array(batch * n * 3), idx = new Int32Array(batch * n * 3);  // [B, n, 3]
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const uo = (b * n + i) * 3;
      const ux = u[uo], uy = u[uo + 1], uz = u[uo + 2];
      let d0 = Infinity, d1 = Infinity, d2 = Infinity, i0 = 0, i1 = 0, i2 = 0;
      for (let j = 0, ko = b * m * 3; j < m; j++, ko += 3) {
        const dx = k[ko] - ux, dy = k[ko + 1] - uy, dz = k[ko + 2] - uz;
        const d = dx * dx + dy * dy + dz * dz;
        // strict comparisons: an equal distance never displaces the earlier (lower) index
        if (d < d0) {
          d2 = d1; i2 = i1; d1 = d0; i1 = i0; d0 = d; i0 = j;
        } else if (d < d1) {
          d2 = d1; i2 = i1; d1 = d; i1 = j;
        } else if (d < d2) {
          d2 = d; i2 = j;
        }
      }
      dist2[uo] = d0; dist2[uo + 1] = d1; dist2[uo + 2] = d2;
      idx[uo] = i0; idx[uo + 1] = i1; idx[uo + 2] = i2;
    }
  }
  return [{shape: [batch, n, 3], values: dist2}, {shape: [batch, n, 3], dtype: 'int32' as const, values: idx}];
}

/** `{cpu, wasm}` kernels of `TfjsExtThreeNN` (two outputs: dist2, idx). */
export const threeNNHostKernels = hostKernels<object>(threeNNKernel);
