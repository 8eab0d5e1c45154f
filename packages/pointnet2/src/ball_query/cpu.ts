/**
 * Host kernel (cpu, wasm) of the ball query: one index-order scan per centre, stopping at `nsample` hits. The SIMD
 * wasm module filters 4 points at a time in float32 (with a margin) and decides each candidate in float64, so both
 * implementations give the same indices.
 */
import {hostKernels, HostTensor} from '@tfjs-ext/core';
import {asInt32, pointImpls, pointsSimd} from '../simd/module';

export interface BallQueryAttrs {
  radius: number;
  nsample: number;
}

function ballQueryKernel({xyz, newXyz}: Record<string, HostTensor>, {radius, nsample}: BallQueryAttrs) {
  const [batch, n] = xyz.shape;
  const s = newXyz.shape[1];
  const p = xyz.values as Float32Array, q = newXyz.values as Float32Array;
  const r2 = radius * radius;
  if (pointImpls.active().name === 'simd') {
    const [idx] = pointsSimd.call([{data: p}, {data: q}], [{vectors: batch * s * nsample, width: 1, padded: 1}],
                                  (x) => x.ball_query_scratch(n),
                                  (x, [pp, qq], [o], sc) => x.ball_query(pp, qq, o, batch, n, s, nsample, r2, sc));
    return [{shape: [batch, s, nsample], dtype: 'int32' as const, values: asInt32(idx)}];
  }
  const out = new Int32Array(batch * s * nsample);  // [B, S, nsample]
  for (let b = 0; b < batch; b++) {
    const base = b * n * 3;
    for (let c = 0; c < s; c++) {
      const qo = (b * s + c) * 3;
      const cx = q[qo], cy = q[qo + 1], cz = q[qo + 2];
      const o = (b * s + c) * nsample;
      let count = 0;
      for (let j = 0, po = base; j < n; j++, po += 3) {
        const dx = p[po] - cx, dy = p[po + 1] - cy, dz = p[po + 2] - cz;
        if (dx * dx + dy * dy + dz * dz < r2) {
          if (count === 0) out.fill(j, o, o + nsample);  // pad with the first hit
          out[o + count++] = j;
          if (count === nsample) break;
        }
      }
      if (count === 0) {  // empty ball: the nearest point
        let nearest = 0, best = Infinity;
        for (let j = 0, po = base; j < n; j++, po += 3) {
          const dx = p[po] - cx, dy = p[po + 1] - cy, dz = p[po + 2] - cz;
          const d = dx * dx + dy * dy + dz * dz;
          if (d < best) {
            best = d;
            nearest = j;
          }
        }
        out.fill(nearest, o, o + nsample);
      }
    }
  }
  return [{shape: [batch, s, nsample], dtype: 'int32' as const, values: out}];
}

/** `{cpu, wasm}` kernels of `TfjsExtBallQuery`. */
export const ballQueryHostKernels = hostKernels<BallQueryAttrs>(ballQueryKernel);
