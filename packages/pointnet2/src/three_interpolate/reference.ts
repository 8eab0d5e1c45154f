/** Float64 oracles of 3-NN interpolation, its gradients and the inverse-distance weights, from the spec. */

/** `out[b,i,:] = sum_j weight[b,i,j] * features[b, idx[b,i,j], :]`; features `[B, m, C]`, idx/weight `[B, n, 3]`. */
export function threeInterpolateReference(features: ArrayLike<number>, idx: ArrayLike<number>,
                                          weight: ArrayLike<number>, batch: number, m: number, c: number,
                                          n: number): Float64Array {
  const out = new Float64Array(batch * n * c);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) {
        const w = weight[(b * n + i) * 3 + j], src = idx[(b * n + i) * 3 + j];
        for (let ch = 0; ch < c; ch++) out[(b * n + i) * c + ch] += w * features[(b * m + src) * c + ch];
      }
    }
  }
  return out;
}

/** `w_i = (1 / max(d_i, 1e-10)) / sum_j (1 / max(d_j, 1e-10))` over each row of 3 squared distances. */
export function interpolationWeightsReference(dist2: ArrayLike<number>): Float64Array {
  const out = new Float64Array(dist2.length);
  for (let r = 0; r < dist2.length; r += 3) {
    const inv = [0, 1, 2].map((j) => 1 / Math.max(dist2[r + j], 1e-10));
    const total = inv[0] + inv[1] + inv[2];
    for (let j = 0; j < 3; j++) out[r + j] = inv[j] / total;
  }
  return out;
}
