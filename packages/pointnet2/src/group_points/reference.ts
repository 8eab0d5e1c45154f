/** Float64 oracles of grouping (a gather along the point axis) and of its gradient (a scatter-add back). */

/** features flat `[B, N, C]`, idx flat `[B, S, K]` -> flat `[B, S, K, C]`: `out[b,s,k,:] = features[b, idx[b,s,k], :]`. */
export function groupPointsReference(features: ArrayLike<number>, idx: ArrayLike<number>, batch: number, n: number,
                                     c: number, s: number, k: number): Float64Array {
  const out = new Float64Array(batch * s * k * c);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < s * k; i++) {
      const j = idx[b * s * k + i];
      for (let ch = 0; ch < c; ch++) out[(b * s * k + i) * c + ch] = features[(b * n + j) * c + ch];
    }
  }
  return out;
}

/** The gradient in features: `dFeatures[b, idx[b,s,k], :] += dy[b,s,k,:]`, flat `[B, N, C]`. */
export function groupPointsGradReference(dy: ArrayLike<number>, idx: ArrayLike<number>, batch: number, n: number,
                                         c: number, s: number, k: number): Float64Array {
  const out = new Float64Array(batch * n * c);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < s * k; i++) {
      const j = idx[b * s * k + i];
      for (let ch = 0; ch < c; ch++) out[(b * n + j) * c + ch] += dy[(b * s * k + i) * c + ch];
    }
  }
  return out;
}
