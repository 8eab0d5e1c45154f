/**
 * Host kernel (cpu, wasm) of farthest point sampling, O(B * npoint * N): the SIMD wasm module (float32, 4 points
 * per instruction) where supported, else plain JS (float64 running minima).
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';
import {asInt32, pointImpls, pointsSimd} from '../simd/module';

export interface FpsAttrs {
  npoint: number;
}

function fpsKernel({xyz}: Record<string, HostTensor>, {npoint}: FpsAttrs) {
  const [batch, n] = xyz.shape;
  if (pointImpls.active().name === 'simd') {
    const [out] = pointsSimd.call([{data: xyz.values as Float32Array}], [{vectors: batch * npoint, width: 1, padded: 1}],
                                  (x) => x.fps_scratch(n), (x, [p], [o], s) => x.fps(p, o, batch, n, npoint, s));
    return [{shape: [batch, npoint], dtype: 'int32' as const, values: asInt32(out)}];
  }
  const p = xyz.values as Float32Array;
  const out = new Int32Array(batch * npoint);  // [B, npoint]
  const minDist = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    const base = b * n * 3;
    minDist.fill(Infinity);
    let far = 0;
    out[b * npoint] = 0;
    for (let i = 1; i < npoint; i++) {
      const cx = p[base + far * 3], cy = p[base + far * 3 + 1], cz = p[base + far * 3 + 2];
      let best = 0, bestDist = -1;
      for (let j = 0, o = base; j < n; j++, o += 3) {
        const dx = p[o] - cx, dy = p[o + 1] - cy, dz = p[o + 2] - cz;
        const d = dx * dx + dy * dy + dz * dz;
        const m = d < minDist[j] ? d : minDist[j];
        minDist[j] = m;
        if (m > bestDist) {  // strict: lowest index on ties
          bestDist = m;
          best = j;
        }
      }
      far = best;
      out[b * npoint + i] = far;
    }
  }
  return [{shape: [batch, npoint], dtype: 'int32' as const, values: out}];
}

/** `{cpu, wasm}` kernels of `TfjsExtFarthestPointSample`. */
export const fpsHostKernels = hostKernels<FpsAttrs>(fpsKernel);
